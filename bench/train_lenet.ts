/**
 * Benchmark of octet's training engine on the LeNet of the MNIST story (batch 64, SGD momentum):
 * seconds per batch and per MNIST epoch (938 batches, extrapolated from the timed batches — it
 * says so), the GFLOP/s reached inside the float kernels (GEMM-based convolutions and Gemm) and
 * over the whole step, against the WebAssembly SIMD peak measured in the same run by a tight
 * f32x4 mul+add loop. One and two kernel threads side by side, for the plain SIMD build and, when
 * the runtime can enable it, the relaxed-SIMD build (fused multiply-add; its peak loop uses FMA too).
 *
 *   node --import tsx bench/train_lenet.ts [--batches 60] [--warmup 10] [--no-relaxed-simd]
 *
 * The machine's cores may be shared with other work: compare the columns of one run, not runs.
 * "cpu s/batch" is the process's CPU time (all threads): with one thread it is close to what the
 * wall time would be on an otherwise idle core.
 */
import { cpus, loadavg } from "node:os";
import v8 from "node:v8";
import { Command } from "commander";
import { loadMnist } from "../src/data/mnist.js";
import type { Conv2dGeometry } from "../src/kernels/float/geometry.js";
import type { FloatKernels } from "../src/kernels/float/kernels.js";
import { relaxedSimdSupported, WasmFloatKernels } from "../src/kernels/float/wasm.js";
import { useFloatKernels } from "../src/train/backend.js";
import { trainEpoch } from "../src/train/classifier.js";
import { Rng } from "../src/train/init.js";
import { lenetSpecs, Sequential } from "../src/train/layers.js";
import { Sgd } from "../src/train/optimizers.js";
import { constantLr } from "../src/train/schedule.js";

const o = new Command()
  .option("--batches <n>", "timed batches per configuration", "60")
  .option("--warmup <n>", "untimed batches first (JIT warm-up)", "10")
  .option("--batch-size <n>", "batch size", "64")
  .option("--no-relaxed-simd", "skip the relaxed-SIMD build")
  .parse()
  .opts<{ batches: string; warmup: string; batchSize: string; relaxedSimd: boolean }>();
// Node 20 keeps relaxed SIMD behind a V8 flag; turn it on for this process (Node 22+ has it).
if (o.relaxedSimd && !relaxedSimdSupported()) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const variants = o.relaxedSimd && relaxedSimdSupported() ? [false, true] : [false];
const timedBatches = Number(o.batches);
const warmupBatches = Number(o.warmup);
const batchSize = Number(o.batchSize);

/** Wraps kernels to count the multiply-add work they do and the time spent in them. */
class MeteredKernels implements FloatKernels {
  flops = 0;
  ms = 0;
  constructor(private readonly inner: FloatKernels) {}
  get name() { return this.inner.name; }
  private meter<T>(flops: number, f: () => T): T {
    const t = performance.now();
    const r = f();
    this.ms += performance.now() - t;
    this.flops += flops;
    return r;
  }
  private static convFlops(g: Conv2dGeometry): number {
    return 2 * g.batch * g.outHeight * g.outWidth * g.outChannels * (g.inChannels / g.group) * g.kernelHeight * g.kernelWidth;
  }
  gemm(...args: Parameters<FloatKernels["gemm"]>): void {
    this.meter(2 * args[0] * args[1] * args[2], () => this.inner.gemm(...args));
  }
  conv2dForward(...args: Parameters<FloatKernels["conv2dForward"]>) {
    return this.meter(MeteredKernels.convFlops(args[3]), () => this.inner.conv2dForward(...args));
  }
  // Memory-bound kernels pass through unmetered: "kernel GFLOP/s" is about the GEMM-based ones.
  reluForward(...args: Parameters<FloatKernels["reluForward"]>) { return this.inner.reluForward(...args); }
  reluBackward(...args: Parameters<FloatKernels["reluBackward"]>) { return this.inner.reluBackward(...args); }
  maxPool2dForward(...args: Parameters<FloatKernels["maxPool2dForward"]>) { return this.inner.maxPool2dForward(...args); }
  maxPool2dBackward(...args: Parameters<FloatKernels["maxPool2dBackward"]>) { return this.inner.maxPool2dBackward(...args); }
  conv2dBackward(...args: Parameters<FloatKernels["conv2dBackward"]>) {
    const want = args[4];
    const f = MeteredKernels.convFlops(args[3]) * ((want.input ? 1 : 0) + (want.weight ? 1 : 0));
    return this.meter(f, () => this.inner.conv2dBackward(...args));
  }
}

function measurePeak(kernels: WasmFloatKernels): number {
  for (let i = 0; i < 20; i++) kernels.simdPeak(100_000); // let the optimising compiler take over
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    const flops = kernels.simdPeak(20_000_000 * kernels.threads);
    best = Math.max(best, flops / ((performance.now() - t) / 1000) / 1e9);
  }
  return best;
}

const train = loadMnist("train");
const set = { images: train.images, labels: train.labels, count: train.count, sampleDims: [1, 28, 28] };
const batchesPerEpoch = Math.ceil(train.count / batchSize);

interface Row {
  name: string; peak: number; secondsPerBatch: number; cpuSecondsPerBatch: number;
  kernelGflops: number; stepGflops: number; kernelShare: number;
}
const rows: Row[] = [];
for (const relaxedSimd of variants) {
  for (const threads of [1, 2]) {
    const kernels = new WasmFloatKernels({ threads, relaxedSimd });
    // The peak of this build on this many threads, measured now (all threads running the loop).
    const peak = measurePeak(kernels);
    const metered = new MeteredKernels(kernels);
    useFloatKernels(metered);
    const rng = new Rng(1);
    const model = new Sequential(lenetSpecs(), rng);
    const optimizer = new Sgd([...model.params.values()], { momentum: 0.9, weightDecay: 5e-4 });
    const common = { batchSize, optimizer, schedule: constantLr(0.01), step: 0, rng };
    trainEpoch(model, set, { ...common, maxBatches: warmupBatches });
    metered.flops = 0;
    metered.ms = 0;
    const cpu = process.cpuUsage();
    const t = performance.now();
    trainEpoch(model, set, { ...common, maxBatches: timedBatches });
    const seconds = (performance.now() - t) / 1000;
    const cpuUsed = process.cpuUsage(cpu);
    rows.push({
      name: kernels.name,
      peak,
      secondsPerBatch: seconds / timedBatches,
      cpuSecondsPerBatch: (cpuUsed.user + cpuUsed.system) / 1e6 / timedBatches,
      kernelGflops: metered.flops / (metered.ms / 1000) / 1e9,
      stepGflops: metered.flops / seconds / 1e9,
      kernelShare: metered.ms / 1000 / seconds,
    });
    kernels.dispose();
  }
}

console.log(`LeNet training, batch ${batchSize}, ${timedBatches} timed batches after ${warmupBatches} warm-up (epoch = ${batchesPerEpoch} batches, extrapolated)`);
console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(", ")} on ${cpus().length} cores (other processes share them)`);
console.log("kernels                 SIMD peak  s/batch  cpu s/batch  s/epoch(extrap.)  kernel GFLOP/s  (% of peak)  step GFLOP/s  time in kernels");
for (const r of rows) {
  console.log(
    `${r.name.padEnd(22)}  ${r.peak.toFixed(1).padStart(9)}  ${r.secondsPerBatch.toFixed(4)}  ${r.cpuSecondsPerBatch.toFixed(4).padStart(11)}  ` +
    `${(r.secondsPerBatch * batchesPerEpoch).toFixed(1).padStart(16)}  ${r.kernelGflops.toFixed(1).padStart(14)}  ` +
    `${(100 * r.kernelGflops / r.peak).toFixed(0).padStart(10)}%  ${r.stepGflops.toFixed(1).padStart(12)}  ${(100 * r.kernelShare).toFixed(0).padStart(14)}%`,
  );
}
for (let i = 0; i + 1 < rows.length; i += 2) {
  console.log(`speed-up of 2 threads over 1, ${rows[i]!.name.replace(/×1$/, "")} (whole training step): ${(rows[i]!.secondsPerBatch / rows[i + 1]!.secondsPerBatch).toFixed(2)}×`);
}
