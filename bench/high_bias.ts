/**
 * High-bias absorption's effect on quantization accuracy (the figures in docs/optimize.md).
 *
 *   node --import tsx bench/high_bias.ts [seeds=3]
 *
 * The depthwise-separable test net of test/optimize/nets.ts (random weights, per-channel ranges
 * spread over ±1.5 decades), and a variant with "high-bias" channels (a few channels per conv with
 * weights ×0.1 and a positive bias, which CLE then amplifies: the case of Nagel et al. 2019 §4.1.2).
 * Smooth synthetic 8×8 images: 256 calibration samples, 512 held-out samples; int8 weights per
 * tensor, uint8 activations, for the percentile (default) and minmax calibrations. Printed: the
 * logits' SQNR against the float model on the held-out samples, how many channels moved, and
 * (after "float") the SQNR of the absorbed *float* model against the original on the held-out
 * samples: absorption is exact on the calibration data, and this shows how far it is from exact
 * on other data (a held-out input may drive a channel below its calibrated minimum) or, with
 * padded consumers, at the borders.
 */
import { createOrtNodeExecutor } from "../src/calibrate/ort_node.js";
import type { Model } from "../src/graph/ir.js";
import { ErrorAccumulator } from "../src/analyze/metrics.js";
import { quantizeWithOptimizations, type OptimizedQuantizeOptions } from "../src/api/optimized_quantize.js";
import { depthwiseNet, highBiasDepthwiseNet, runOrt, smoothBatches, sourceOf } from "../test/optimize/nets.js";

if (process.argv.includes("--help")) {
  console.log("node --import tsx bench/high_bias.ts [seeds=3]: per-tensor int8 logits SQNR with CLE vs CLE + high-bias absorption");
  process.exit(0);
}
const seeds = Number(process.argv[2] ?? 3);
const createExecutor = (m: Model) => createOrtNodeExecutor(m);

/** The high-bias variant of test/optimize/nets.ts on the ±1.5-decade net. */
function highBiasVariant(seed: number): Model {
  return highBiasDepthwiseNet({ spread: 1.5, seed });
}

const configs: [string, Omit<OptimizedQuantizeOptions, "createExecutor" | "method">][] = [
  ["per-tensor", { perChannel: false }],
  ["per-tensor + CLE", { perChannel: false, cle: true }],
  ["per-tensor + CLE + absorption", { perChannel: false, cle: { highBiasAbsorption: true } }],
  ["per-tensor + CLE + absorption (padded too)", { perChannel: false, cle: { highBiasAbsorption: { paddedConsumers: "approximate" } } }],
];

for (const [netName, build] of [["depthwise net", (s: number) => depthwiseNet({ seed: s, spread: 1.5 })], ["high-bias variant", highBiasVariant]] as const) {
  for (const method of ["percentile", "minmax"] as const) {
    console.log(`${netName}, ${method} calibration: logits SQNR (dB) on held-out data, seeds 1..${seeds}`);
    for (const [name, options] of configs) {
      const cells: string[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const model = build(seed);
        const calib = sourceOf(smoothBatches(32, 8, 100 + seed));
        const held = smoothBatches(8, 64, 200 + seed);
        const q = await quantizeWithOptimizations(model, calib, { ...options, method, createExecutor });
        const err = new ErrorAccumulator();
        const floatErr = new ErrorAccumulator();
        for (const f of held) {
          const ref = (await runOrt(model, f)).logits!;
          err.add(ref, (await runOrt(q.model, f)).logits!);
          floatErr.add(ref, (await runOrt(q.setup.model, f)).logits!);
        }
        const moved = q.optimizations.highBiasAbsorption?.channelsMoved;
        cells.push(`${err.sqnr.toFixed(2).padStart(6)}${moved !== undefined ? ` (${moved} ch, float ${floatErr.sqnr.toFixed(0)})` : ""}`);
      }
      console.log(`  ${name.padEnd(44)} ${cells.join("   ")}`);
    }
  }
}
