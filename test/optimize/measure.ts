/**
 * Not a test: prints the figures quoted in docs/optimize.md.
 *
 *   node --import tsx test/optimize/measure.ts [seeds=3]
 *
 * The depthwise-separable test net (random weights, per-channel ranges spread over ±1.5 decades as
 * BatchNorm folding leaves them) on smooth synthetic 8×8 images: 256 calibration samples, 512
 * held-out evaluation samples. For each configuration: the logits' SQNR against the float model and
 * the top-1 agreement with it, on the held-out samples.
 */
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Model } from "../../src/graph/ir.js";
import { ErrorAccumulator, Top1Accumulator } from "../../src/analyze/metrics.js";
import { quantizeWithOptimizations, type OptimizedQuantizeOptions } from "../../src/api/optimized_quantize.js";
import { depthwiseNet, runOrt, smoothBatches, sourceOf } from "./nets.js";

const createExecutor = (m: Model) => createOrtNodeExecutor(m);
const seeds = Number(process.argv[2] ?? 3);

const configs: [string, Omit<OptimizedQuantizeOptions, "createExecutor">][] = [
  ["int8 per-channel, nearest", {}],
  ["int8 per-tensor, nearest", { perChannel: false }],
  ["int8 per-tensor + CLE", { perChannel: false, cle: true }],
  ["int8 per-tensor + CLE + bias correction", { perChannel: false, cle: true, biasCorrection: true }],
  ["W4A8 per-channel, nearest", { weightType: "int4" }],
  ["W4A8 per-channel + bias correction", { weightType: "int4", biasCorrection: true }],
  ["W4A8 per-channel + AdaRound (float inputs)", { weightType: "int4", adaround: { inputs: "float" } }],
  ["W4A8 per-channel + AdaRound (quantized inputs)", { weightType: "int4", adaround: true }],
  ["W4A8 per-channel + AdaRound + bias correction", { weightType: "int4", adaround: true, biasCorrection: true }],
];

for (let seed = 1; seed <= seeds; seed++) {
  const model = depthwiseNet({ seed, spread: 1.5 });
  const calib = sourceOf(smoothBatches(32, 8, 100 + seed));
  const held = smoothBatches(8, 64, 200 + seed);
  const reference = await Promise.all(held.map((f) => runOrt(model, f)));
  console.log(`seed ${seed}`);
  for (const [name, options] of configs) {
    const start = performance.now();
    const q = await quantizeWithOptimizations(model, calib, { ...options, createExecutor });
    const seconds = (performance.now() - start) / 1000;
    const err = new ErrorAccumulator();
    const top1 = new Top1Accumulator();
    for (const [i, f] of held.entries()) {
      const y = (await runOrt(q.model, f)).logits!;
      err.add(reference[i]!.logits!, y);
      top1.add(reference[i]!.logits!, y, 10);
    }
    console.log(`  ${name.padEnd(48)} SQNR ${err.sqnr.toFixed(2).padStart(6)} dB   top-1 agreement ${(100 * top1.agreement).toFixed(1).padStart(5)}%   (${seconds.toFixed(1)} s)`);
  }
}
