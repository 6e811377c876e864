/**
 * Benchmark of octet's training engine on the LeNet of the MNIST story (batch 64, SGD momentum):
 * seconds per batch and per MNIST epoch (938 batches, extrapolated from the timed batches — it
 * says so), the GFLOP/s reached inside the float kernels (GEMM-based convolutions and Gemm) and
 * over the whole step, against the WebAssembly SIMD peak measured in the same run by a tight
 * f32x4 mul+add loop. One and two kernel threads side by side.
 *
 *   node --import tsx bench/train_lenet.ts [--batches 60] [--warmup 10]
 *
 * The machine's cores may be shared with other work: compare the columns of one run, not runs.
 */
import { Command } from "commander";
import { loadMnist } from "../src/data/mnist.js";
import type { Conv2dGeometry } from "../src/kernels/float/geometry.js";
import type { FloatKernels } from "../src/kernels/float/kernels.js";
import { WasmFloatKernels } from "../src/kernels/float/wasm.js";
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
  .parse()
  .opts<{ batches: string; warmup: string; batchSize: string }>();
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
    const flops = kernels.simdPeak(20_000_000);
    best = Math.max(best, flops / ((performance.now() - t) / 1000) / 1e9);
  }
  return best;
}

const train = loadMnist("train");
const set = { images: train.images, labels: train.labels, count: train.count, sampleDims: [1, 28, 28] };
const batchesPerEpoch = Math.ceil(train.count / batchSize);

const peakKernels = new WasmFloatKernels({ threads: 1 });
const peak1 = measurePeak(peakKernels);
peakKernels.dispose();

interface Row { threads: number; secondsPerBatch: number; kernelGflops: number; stepGflops: number; kernelShare: number; }
const rows: Row[] = [];
for (const threads of [1, 2]) {
  const kernels = new WasmFloatKernels({ threads });
  const metered = new MeteredKernels(kernels);
  useFloatKernels(metered);
  const rng = new Rng(1);
  const model = new Sequential(lenetSpecs(), rng);
  const optimizer = new Sgd([...model.params.values()], { momentum: 0.9, weightDecay: 5e-4 });
  const common = { batchSize, optimizer, schedule: constantLr(0.01), step: 0, rng };
  trainEpoch(model, set, { ...common, maxBatches: warmupBatches });
  metered.flops = 0;
  metered.ms = 0;
  const t = performance.now();
  trainEpoch(model, set, { ...common, maxBatches: timedBatches });
  const seconds = (performance.now() - t) / 1000;
  rows.push({
    threads,
    secondsPerBatch: seconds / timedBatches,
    kernelGflops: metered.flops / (metered.ms / 1000) / 1e9,
    stepGflops: metered.flops / seconds / 1e9,
    kernelShare: metered.ms / 1000 / seconds,
  });
  kernels.dispose();
}

console.log(`LeNet training, batch ${batchSize}, ${timedBatches} timed batches after ${warmupBatches} warm-up (epoch = ${batchesPerEpoch} batches, extrapolated)`);
console.log(`WASM SIMD peak (f32x4 mul+add loop, one thread): ${peak1.toFixed(1)} GFLOP/s; two threads at most ${(2 * peak1).toFixed(1)}`);
console.log("threads  s/batch  s/epoch(extrap.)  kernel GFLOP/s  (% of peak)  step GFLOP/s  time in kernels");
for (const r of rows) {
  const peak = peak1 * r.threads;
  console.log(
    `${String(r.threads).padStart(7)}  ${r.secondsPerBatch.toFixed(4)}  ${(r.secondsPerBatch * batchesPerEpoch).toFixed(1).padStart(16)}  ` +
    `${r.kernelGflops.toFixed(1).padStart(14)}  ${(100 * r.kernelGflops / peak).toFixed(0).padStart(10)}%  ${r.stepGflops.toFixed(1).padStart(12)}  ${(100 * r.kernelShare).toFixed(0).padStart(14)}%`,
  );
}
const [one, two] = rows;
if (one && two) console.log(`speed-up of 2 threads over 1 (whole training step): ${(one.secondsPerBatch / two.secondsPerBatch).toFixed(2)}×`);
