/**
 * Float kernels on WebAssembly SIMD (assembly/float/, AssemblyScript): a blocked f32x4 GEMM,
 * convolution as im2col + GEMM (col2im for the input gradient), ReLU and max pooling, optionally
 * split across threads. Operands are copied into the module's shared memory for each call (an
 * arena reset per call) and results copied out, so callers keep plain Float32Arrays.
 *
 * Convolution over a whole batch is one GEMM per group (after Chellapilla et al., "High
 * performance convolutional neural networks for document processing", 2006, and Caffe):
 *   forward          Yᵀ[M, N·P]   = W[M, K] · col[K, N·P]        (K = C/group·KH·KW, P = OH·OW)
 *   input gradient   dcol[K, N·P] = Wᵀ · dYᵀ[M, N·P],  dx = col2im(dcol)
 *   weight gradient  dW[M, K]     = dYᵀ · colᵀ
 * Yᵀ holds channels outermost, so the output is reordered to NCHW (and dy back) by small kernels.
 *
 * With threads > 1, GEMMs are divided into chunks of output columns (or rows, when C is narrow),
 * the other kernels into chunks of images, planes or elements, which the threads claim as they go
 * (thread-pool.ts). Each output element is computed by the same operations whatever the split, so
 * results are bit-identical for any thread count.
 *
 * The artefacts build/wasm/float.wasm and float-relaxed.wasm are built from source at first use
 * when missing or stale (build.ts), or ahead of time with `node --import tsx scripts/build-wasm-float.ts`.
 */
import { readFileSync } from "node:fs";
import {
  buildFloatWasm, floatWasmInitialPages, floatWasmIsFresh, floatWasmMaximumPages, floatWasmPath, type FloatWasmVariant,
} from "./build.js";
import type { Conv2dGeometry, Pool2dGeometry } from "./geometry.js";
import { checkGemm, checkLength, convSizes, poolSizes, type ConvGradients, type FloatKernels } from "./kernels.js";
import { KernelThreadPool, type ChunkedJob } from "./thread-pool.js";

interface FloatWasmExports {
  gemm(...args: number[]): void;
  gemmScratchBytes(): number;
  im2col(...args: number[]): void;
  col2im(...args: number[]): void;
  simdPeakLoop(iterations: number, seed: number, scratch: number): number;
  simdPeakChunk(from: number, to: number, scratch: number): number;
  simdPeakFlopsPerIteration(): number;
}

const KERNEL_NAMES = [
  "gemm", "im2col", "col2im", "simdPeakChunk", "reluForward", "reluBackward",
  "maxPool2dForward", "maxPool2dBackward", "channelsToBatch", "batchToChannels",
];
/** Elementwise jobs are split in chunks of at least this many values (smaller ones cost more to hand out than to do). */
const MIN_ELEMENTWISE_CHUNK = 1 << 15;
const PAGE = 65536;
/** GEMMs smaller than this many multiply-adds run on one thread: waking a worker costs more. */
const PARALLEL_GEMM_MIN_MACS = 1 << 18;
/** Column chunks are multiples of the micro-kernel width, row chunks of its height (gemm.ts NR, MR). */
const NR = 8;
const MR = 4;
/** Chunks per thread: enough for a descheduled thread's share to be picked up by the others. */
const CHUNKS_PER_THREAD = 4;

export interface WasmFloatKernelOptions {
  /** Threads computing each kernel call (1 = this thread only). Default 1. */
  threads?: number;
  /**
   * Use the relaxed-SIMD build (fused multiply-add GEMM). Default: when the runtime supports relaxed
   * SIMD. Its results differ from the plain build's in the last bits (one rounding per term instead
   * of two); each build is deterministic on its own.
   */
  relaxedSimd?: boolean;
  /** Path of a compiled module to use instead of the build for the chosen variant. */
  wasmPath?: string;
}

/** (module (func (param v128 v128 v128) (result v128) f32x4.relaxed_madd)): validates iff supported. */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0,
  10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11,
]);

/** Whether this runtime accepts WebAssembly relaxed SIMD (Node 22+, or Node 20 with the V8 flag). */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}

const cachedBytes = new Map<string, Uint8Array<ArrayBuffer>>();

/** The compiled module's bytes, building it first when missing or older than its sources. */
export function loadFloatWasmBytes(variant: FloatWasmVariant = "simd", wasmPath?: string): Uint8Array<ArrayBuffer> {
  if (wasmPath !== undefined) return new Uint8Array(readFileSync(wasmPath));
  const path = floatWasmPath(variant);
  let bytes = cachedBytes.get(path);
  if (!bytes) {
    if (!floatWasmIsFresh(path)) buildFloatWasm(variant, path);
    bytes = new Uint8Array(readFileSync(path));
    cachedBytes.set(path, bytes);
  }
  return bytes;
}

export class WasmFloatKernels implements FloatKernels {
  readonly name: string;
  readonly threads: number;
  /** True when the relaxed-SIMD (fused multiply-add) build is in use. */
  readonly relaxedSimd: boolean;
  private readonly memory: WebAssembly.Memory;
  private readonly exports: FloatWasmExports;
  private readonly pool: KernelThreadPool | null;
  private readonly scratchBytes: number;
  private readonly arenaBase: number;
  private top: number;
  private heap: Float32Array;

  constructor(options: WasmFloatKernelOptions = {}) {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
      throw new Error(`threads must be an integer in [1, 64], got ${threads}`);
    }
    const relaxed = options.relaxedSimd ?? relaxedSimdSupported();
    if (relaxed && !relaxedSimdSupported()) {
      throw new Error("relaxed SIMD was requested but this runtime does not support it (Node 20: run with --experimental-wasm-relaxed-simd)");
    }
    const bytes = loadFloatWasmBytes(relaxed ? "relaxed-simd" : "simd", options.wasmPath);
    this.memory = new WebAssembly.Memory({ initial: floatWasmInitialPages, maximum: floatWasmMaximumPages, shared: true });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as FloatWasmExports;
    this.threads = threads;
    this.relaxedSimd = relaxed;
    this.name = `wasm-${relaxed ? "relaxed-simd" : "simd"}×${threads}`;
    this.scratchBytes = this.exports.gemmScratchBytes();
    // Layout: [0, 64) unused (no null pointers), then one GEMM scratch area per thread, then the
    // arena where each call places its operands (reset at the start of every call).
    this.arenaBase = 64 + threads * this.scratchBytes;
    this.top = this.arenaBase;
    this.heap = new Float32Array(this.memory.buffer);
    this.ensureBytes(this.arenaBase);
    const local = this.exports as unknown as Record<string, (...args: number[]) => unknown>;
    this.pool = threads > 1 ? new KernelThreadPool(bytes, this.memory, local, KERNEL_NAMES, threads - 1, (t) => this.scratch(t)) : null;
  }

  /** Stops the worker threads. The instance must not be used afterwards. */
  dispose(): void {
    this.pool?.dispose();
  }

  /**
   * Runs `iterations` rounds of the f32x4 mul+add peak loop (assembly/float/peak.ts), spread over
   * all threads; returns the flops done. Flops over wall time is the SIMD peak of this many threads.
   */
  simdPeak(iterations: number): number {
    const chunk = Math.max(1, Math.ceil(iterations / (this.threads * 16)));
    this.run({ kernel: "simdPeakChunk", args: [0, iterations, 0], loArg: 0, hiArg: 1, range: iterations, chunk, scratchArg: 2 });
    return iterations * this.exports.simdPeakFlopsPerIteration();
  }

  // ---- memory -------------------------------------------------------------------------------

  private ensureBytes(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > floatWasmMaximumPages) {
        throw new Error(`float kernels need ${end} bytes of WebAssembly memory, above the ${floatWasmMaximumPages * PAGE}-byte maximum`);
      }
      this.memory.grow(pages);
    }
    if (this.heap.buffer.byteLength !== this.memory.buffer.byteLength) this.heap = new Float32Array(this.memory.buffer);
  }

  /** Reserves `floats` float32 slots in the arena; returns the float index (byte offset / 4). */
  private alloc(floats: number): number {
    const start = this.top;
    this.top += Math.ceil((floats * 4) / 16) * 16; // keep every operand 16-byte aligned
    this.ensureBytes(this.top);
    return start / 4;
  }

  private put(values: Float32Array): number {
    const at = this.alloc(values.length);
    this.heap.set(values, at);
    return at;
  }

  private putInt32(values: Int32Array): number {
    const at = this.alloc(values.length);
    new Int32Array(this.memory.buffer, at * 4, values.length).set(values);
    return at;
  }

  private takeInt32(at: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, at * 4, length).slice();
  }

  /** Chunk size splitting `range` items of `itemSize` values each over the threads. */
  private chunkOf(range: number, itemSize: number, align = 1): number {
    if (this.threads === 1) return Math.max(1, range);
    const minItems = Math.max(1, Math.ceil(MIN_ELEMENTWISE_CHUNK / Math.max(1, itemSize)));
    const per = Math.max(minItems, Math.ceil(range / (this.threads * CHUNKS_PER_THREAD)));
    return Math.ceil(per / align) * align;
  }

  private scratch(thread: number): number {
    return 64 + thread * this.scratchBytes;
  }

  private run(job: ChunkedJob): void {
    if (this.pool) {
      this.pool.run(job);
      return;
    }
    const args = [...job.args];
    args[job.loArg] = 0;
    args[job.hiArg] = job.range;
    if (job.scratchArg >= 0) args[job.scratchArg] = this.scratch(0);
    (this.exports as unknown as Record<string, (...a: number[]) => void>)[job.kernel]!(...args);
  }

  // ---- GEMM ---------------------------------------------------------------------------------

  /**
   * GEMM on operands already in memory (float indices). With threads, the columns of C (or its
   * rows, when C is narrow) are divided into chunks that the threads claim.
   */
  private gemmAt(
    m: number, n: number, k: number, a: number, lda: number, transA: boolean,
    b: number, ldb: number, transB: boolean, c: number, ldc: number, accumulate: boolean,
  ): void {
    // gemm(m, n, k, a, lda, transA, b, ldb, transB, c, ldc, accumulate, m0, m1, n0, n1, scratch)
    const args = [m, n, k, a * 4, lda, transA ? 1 : 0, b * 4, ldb, transB ? 1 : 0, c * 4, ldc, accumulate ? 1 : 0, 0, m, 0, n, 0];
    const parts = this.threads === 1 || m * n * k < PARALLEL_GEMM_MIN_MACS ? 1 : this.threads * CHUNKS_PER_THREAD;
    const byColumns = n >= 2 * NR || n >= m;
    const range = byColumns ? n : m;
    const align = byColumns ? NR : MR;
    const chunk = parts === 1 ? Math.max(1, range) : Math.max(align, Math.ceil(range / parts / align) * align);
    this.run({ kernel: "gemm", args, loArg: byColumns ? 14 : 12, hiArg: byColumns ? 15 : 13, range, chunk, scratchArg: 16 });
  }

  gemm(
    m: number, n: number, k: number,
    a: Float32Array, lda: number, transA: boolean,
    b: Float32Array, ldb: number, transB: boolean,
    c: Float32Array, ldc: number, accumulate: boolean,
  ): void {
    checkGemm(m, n, k, a, lda, transA, b, ldb, transB, c, ldc);
    this.top = this.arenaBase;
    const aAt = this.put(a);
    const bAt = this.put(b);
    const cLen = m === 0 || n === 0 ? 0 : (m - 1) * ldc + n;
    const cAt = this.alloc(cLen);
    if (accumulate || ldc !== n) this.heap.set(c.subarray(0, cLen), cAt);
    this.gemmAt(m, n, k, aAt, lda, transA, bAt, ldb, transB, cAt, ldc, accumulate);
    c.set(this.heap.subarray(cAt, cAt + cLen));
  }

  // ---- convolution --------------------------------------------------------------------------

  /** im2col (or col2im) of channels [c0, c0 + cCount); threads claim chunks of images. */
  private columns(kernel: "im2col" | "col2im", x: number, col: number, g: Conv2dGeometry, c0: number, cCount: number): void {
    const ldcol = g.batch * g.outHeight * g.outWidth;
    const args = [
      x * 4, g.inChannels, g.inHeight, g.inWidth, c0, cCount,
      g.kernelHeight, g.kernelWidth, g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW,
      g.outHeight, g.outWidth, col * 4, ldcol, 0, g.batch,
    ];
    const chunk = Math.max(1, Math.ceil(g.batch / (this.threads * CHUNKS_PER_THREAD)));
    this.run({ kernel, args, loArg: 18, hiArg: 19, range: g.batch, chunk, scratchArg: -1 });
  }

  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, g: Conv2dGeometry): Float32Array {
    const s = convSizes(g);
    checkLength("conv input", x, s.x);
    checkLength("conv weight", w, s.w);
    if (bias) checkLength("conv bias", bias, g.outChannels);
    const P = g.outHeight * g.outWidth;
    const NP = g.batch * P;
    const Cg = g.inChannels / g.group;
    const Mg = g.outChannels / g.group;
    const K = Cg * g.kernelHeight * g.kernelWidth;
    this.top = this.arenaBase;
    const xAt = this.put(x);
    const wAt = this.put(w);
    const colAt = this.alloc(K * NP);
    const yTAt = this.alloc(g.outChannels * NP);
    for (let grp = 0; grp < g.group; grp++) {
      this.columns("im2col", xAt, colAt, g, grp * Cg, Cg);
      this.gemmAt(Mg, NP, K, wAt + grp * Mg * K, K, false, colAt, NP, false, yTAt + grp * Mg * NP, NP, false);
    }
    // Yᵀ[m, n·P + p] → y[n, m, p] + bias, split by images.
    const biasAt = bias ? this.put(bias) : 0;
    const yAt = this.alloc(s.y);
    this.run({
      kernel: "channelsToBatch", args: [yTAt * 4, yAt * 4, biasAt * 4, g.outChannels, g.batch, P, 0, g.batch],
      loArg: 6, hiArg: 7, range: g.batch, chunk: this.chunkOf(g.batch, g.outChannels * P), scratchArg: -1,
    });
    const y = this.heap.slice(yAt, yAt + s.y);
    return y;
  }

  conv2dBackward(x: Float32Array, w: Float32Array, dy: Float32Array, g: Conv2dGeometry, want: { input: boolean; weight: boolean }): ConvGradients {
    const s = convSizes(g);
    checkLength("conv input", x, s.x);
    checkLength("conv weight", w, s.w);
    checkLength("conv output gradient", dy, s.y);
    const P = g.outHeight * g.outWidth;
    const NP = g.batch * P;
    const Cg = g.inChannels / g.group;
    const Mg = g.outChannels / g.group;
    const K = Cg * g.kernelHeight * g.kernelWidth;
    this.top = this.arenaBase;
    // dy[n, m, p] → dYᵀ[m, n·P + p], split by images.
    const dyAt = this.put(dy);
    const dyTAt = this.alloc(g.outChannels * NP);
    this.run({
      kernel: "batchToChannels", args: [dyAt * 4, dyTAt * 4, g.outChannels, g.batch, P, 0, g.batch],
      loArg: 5, hiArg: 6, range: g.batch, chunk: this.chunkOf(g.batch, g.outChannels * P), scratchArg: -1,
    });
    const colAt = this.alloc(K * NP);
    let dw: Float32Array | null = null;
    let dx: Float32Array | null = null;
    if (want.weight) {
      const xAt = this.put(x);
      const dwAt = this.alloc(s.w);
      for (let grp = 0; grp < g.group; grp++) {
        this.columns("im2col", xAt, colAt, g, grp * Cg, Cg);
        this.gemmAt(Mg, K, NP, dyTAt + grp * Mg * NP, NP, false, colAt, NP, true, dwAt + grp * Mg * K, K, false);
      }
      dw = this.heap.slice(dwAt, dwAt + s.w);
    }
    if (want.input) {
      const wAt = this.put(w);
      const dxAt = this.alloc(s.x);
      this.heap.fill(0, dxAt, dxAt + s.x);
      for (let grp = 0; grp < g.group; grp++) {
        this.gemmAt(K, NP, Mg, wAt + grp * Mg * K, K, true, dyTAt + grp * Mg * NP, NP, false, colAt, NP, false);
        this.columns("col2im", dxAt, colAt, g, grp * Cg, Cg);
      }
      dx = this.heap.slice(dxAt, dxAt + s.x);
    }
    return { dx, dw };
  }

  // ---- ReLU and max pooling -----------------------------------------------------------------

  reluForward(x: Float32Array): Float32Array {
    this.top = this.arenaBase;
    const xAt = this.put(x);
    const yAt = this.alloc(x.length);
    this.run({ kernel: "reluForward", args: [xAt * 4, yAt * 4, 0, x.length], loArg: 2, hiArg: 3, range: x.length, chunk: this.chunkOf(x.length, 1, 4), scratchArg: -1 });
    return this.heap.slice(yAt, yAt + x.length);
  }

  reluBackward(x: Float32Array, dy: Float32Array): Float32Array {
    checkLength("relu output gradient", dy, x.length);
    this.top = this.arenaBase;
    const xAt = this.put(x);
    const dyAt = this.put(dy);
    const dxAt = this.alloc(x.length);
    this.run({ kernel: "reluBackward", args: [xAt * 4, dyAt * 4, dxAt * 4, 0, x.length], loArg: 3, hiArg: 4, range: x.length, chunk: this.chunkOf(x.length, 1, 4), scratchArg: -1 });
    return this.heap.slice(dxAt, dxAt + x.length);
  }

  maxPool2dForward(x: Float32Array, g: Pool2dGeometry): { y: Float32Array; argmax: Int32Array } {
    const s = poolSizes(g);
    checkLength("max pool input", x, s.x);
    const planes = g.batch * g.inChannels;
    this.top = this.arenaBase;
    const xAt = this.put(x);
    const yAt = this.alloc(s.y);
    const argAt = this.alloc(s.y);
    this.run({
      kernel: "maxPool2dForward",
      args: [xAt * 4, yAt * 4, argAt * 4, g.inHeight, g.inWidth, g.outHeight, g.outWidth, g.kernelHeight, g.kernelWidth,
        g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW, 0, planes],
      loArg: 15, hiArg: 16, range: planes, chunk: this.chunkOf(planes, g.inHeight * g.inWidth), scratchArg: -1,
    });
    // The kernel's indices count elements from the start of x, as the reference's do.
    return { y: this.heap.slice(yAt, yAt + s.y), argmax: this.takeInt32(argAt, s.y) };
  }

  maxPool2dBackward(dy: Float32Array, argmax: Int32Array, g: Pool2dGeometry): Float32Array {
    const s = poolSizes(g);
    if (dy.length !== s.y || argmax.length !== s.y) throw new Error(`max pool backward: ${dy.length} gradients and ${argmax.length} indices, expected ${s.y}`);
    const planes = g.batch * g.inChannels;
    const planeIn = g.inHeight * g.inWidth;
    const planeOut = g.outHeight * g.outWidth;
    this.top = this.arenaBase;
    const dyAt = this.put(dy);
    const argAt = this.putInt32(argmax);
    const dxAt = this.alloc(s.x);
    const badAt = this.alloc(1);
    this.heap[badAt] = 0;
    this.run({
      kernel: "maxPool2dBackward", args: [dyAt * 4, argAt * 4, dxAt * 4, planeIn, planeOut, badAt * 4, 0, planes],
      loArg: 6, hiArg: 7, range: planes, chunk: this.chunkOf(planes, planeIn), scratchArg: -1,
    });
    if (new Int32Array(this.memory.buffer, badAt * 4, 1)[0] !== 0) {
      throw new Error("max pool backward: an argmax index lies outside its window's plane");
    }
    return this.heap.slice(dxAt, dxAt + s.x);
  }
}
