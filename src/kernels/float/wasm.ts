/**
 * Float kernels on WebAssembly SIMD (assembly/float/, AssemblyScript): a blocked f32x4 GEMM and
 * convolution as im2col + GEMM (col2im for the input gradient), optionally split across threads.
 *
 * Convolution over a whole batch is one GEMM per group (after Chellapilla et al., "High
 * performance convolutional neural networks for document processing", 2006, and Caffe):
 *   forward          Yᵀ[M, N·P]   = W[M, K] · col[K, N·P]        (K = C/group·KH·KW, P = OH·OW)
 *   input gradient   dcol[K, N·P] = Wᵀ · dYᵀ[M, N·P],  dx = col2im(dcol)
 *   weight gradient  dW[M, K]     = dYᵀ · colᵀ
 * Yᵀ holds channels outermost, so the output is transposed to NCHW (and dy back) in JavaScript.
 *
 * With threads > 1, GEMMs are split by output columns (or rows, whichever is larger) and
 * im2col/col2im by images. Each output element is computed by the same operations whatever the
 * split, so results are bit-identical for any thread count.
 *
 * The artefact build/wasm/float.wasm is built from source at first use when missing or stale
 * (build.ts), or ahead of time with `node --import tsx scripts/build-wasm-float.ts`.
 */
import { readFileSync } from "node:fs";
import { buildFloatWasm, defaultFloatWasmPath, floatWasmInitialPages, floatWasmIsFresh, floatWasmMaximumPages } from "./build.js";
import type { Conv2dGeometry } from "./geometry.js";
import { checkGemm, checkLength, convSizes, type ConvGradients, type FloatKernels } from "./kernels.js";
import { KernelThreadPool, type KernelJob } from "./thread-pool.js";

interface FloatWasmExports {
  gemm(...args: number[]): void;
  gemmScratchBytes(): number;
  im2col(...args: number[]): void;
  col2im(...args: number[]): void;
  simdPeakLoop(iterations: number, seed: number, scratch: number): number;
  simdPeakFlopsPerIteration(): number;
}

const KERNEL_NAMES = ["gemm", "im2col", "col2im"];
const PAGE = 65536;
/** GEMMs smaller than this many multiply-adds run on one thread: waking a worker costs more. */
const PARALLEL_GEMM_MIN_MACS = 1 << 18;
/** Column splits are multiples of the micro-kernel width (assembly/float/gemm.ts NR). */
const SPLIT_ALIGN = 8;

export interface WasmFloatKernelOptions {
  /** Threads computing each kernel call (1 = this thread only). Default 1. */
  threads?: number;
  /** Path of the compiled module; default build/wasm/float.wasm (built if missing or stale). */
  wasmPath?: string;
}

let cachedBytes: Uint8Array<ArrayBuffer> | undefined;

/** The compiled module's bytes, building it first when needed. */
export function loadFloatWasmBytes(wasmPath: string = defaultFloatWasmPath): Uint8Array<ArrayBuffer> {
  if (wasmPath === defaultFloatWasmPath) {
    if (cachedBytes) return cachedBytes;
    if (!floatWasmIsFresh(wasmPath)) buildFloatWasm(wasmPath);
    cachedBytes = new Uint8Array(readFileSync(wasmPath));
    return cachedBytes;
  }
  return new Uint8Array(readFileSync(wasmPath));
}

export class WasmFloatKernels implements FloatKernels {
  readonly name: string;
  readonly threads: number;
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
    const bytes = loadFloatWasmBytes(options.wasmPath);
    this.memory = new WebAssembly.Memory({ initial: floatWasmInitialPages, maximum: floatWasmMaximumPages, shared: true });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as FloatWasmExports;
    this.threads = threads;
    this.name = `wasm-simd×${threads}`;
    this.scratchBytes = this.exports.gemmScratchBytes();
    // Layout: [0, 64) unused (no null pointers), then one GEMM scratch area per thread, then the
    // arena where each call places its operands (reset at the start of every call).
    this.arenaBase = 64 + threads * this.scratchBytes;
    this.top = this.arenaBase;
    this.heap = new Float32Array(this.memory.buffer);
    this.ensureBytes(this.arenaBase);
    const local = this.exports as unknown as Record<string, (...args: number[]) => unknown>;
    this.pool = threads > 1 ? new KernelThreadPool(bytes, this.memory, local, KERNEL_NAMES, threads - 1) : null;
  }

  /** Stops the worker threads. The instance must not be used afterwards. */
  dispose(): void {
    this.pool?.dispose();
  }

  /** Runs `iterations` rounds of the f32x4 mul+add peak loop on this thread; returns flops done. */
  simdPeak(iterations: number): number {
    this.exports.simdPeakLoop(iterations, 1, this.scratch(0));
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

  private scratch(thread: number): number {
    return 64 + thread * this.scratchBytes;
  }

  private run(jobs: KernelJob[]): void {
    if (this.pool) this.pool.run(jobs);
    else for (const j of jobs) (this.exports as unknown as Record<string, (...a: number[]) => void>)[j.kernel]!(...j.args);
  }

  // ---- GEMM ---------------------------------------------------------------------------------

  /** GEMM on operands already in memory (float indices); splits the work across threads. */
  private gemmAt(
    m: number, n: number, k: number, a: number, lda: number, transA: boolean,
    b: number, ldb: number, transB: boolean, c: number, ldc: number, accumulate: boolean,
  ): void {
    const acc = accumulate ? 1 : 0;
    const job = (mm: number, aAt: number, cAt: number, n0: number, n1: number, thread: number): KernelJob => ({
      kernel: "gemm",
      args: [mm, n, k, aAt * 4, lda, transA ? 1 : 0, b * 4, ldb, transB ? 1 : 0, cAt * 4, ldc, acc, n0, n1, this.scratch(thread)],
    });
    const threads = this.threads;
    if (threads === 1 || m * n * k < PARALLEL_GEMM_MIN_MACS || (n < 2 * SPLIT_ALIGN && m < 2 * threads)) {
      this.run([job(m, a, c, 0, n, 0)]);
      return;
    }
    const jobs: KernelJob[] = [];
    if (n >= m && n >= 2 * SPLIT_ALIGN) {
      // Columns: each thread gets a multiple of SPLIT_ALIGN columns (the last one the rest).
      const per = Math.ceil(n / threads / SPLIT_ALIGN) * SPLIT_ALIGN;
      for (let t = 0, n0 = 0; t < threads && n0 < n; t++, n0 += per) jobs.push(job(m, a, c, n0, Math.min(n, n0 + per), t));
    } else {
      // Rows: op(A) rows and C rows are offset; the kernel sees a shorter matrix.
      const per = Math.ceil(m / threads);
      for (let t = 0, m0 = 0; t < threads && m0 < m; t++, m0 += per) {
        const rows = Math.min(per, m - m0);
        jobs.push(job(rows, a + (transA ? m0 : m0 * lda), c + m0 * ldc, 0, n, t));
      }
    }
    this.run(jobs);
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

  /** im2col (or col2im) of channels [c0, c0 + cCount), split across threads by images. */
  private columns(kernel: "im2col" | "col2im", x: number, col: number, g: Conv2dGeometry, c0: number, cCount: number): void {
    const ldcol = g.batch * g.outHeight * g.outWidth;
    const args = (n0: number, n1: number) => [
      x * 4, g.inChannels, g.inHeight, g.inWidth, c0, cCount,
      g.kernelHeight, g.kernelWidth, g.strideH, g.strideW, g.padTop, g.padLeft, g.dilationH, g.dilationW,
      g.outHeight, g.outWidth, col * 4, ldcol, n0, n1,
    ];
    const parts = Math.min(this.threads, g.batch);
    const per = Math.ceil(g.batch / parts);
    const jobs: KernelJob[] = [];
    for (let n0 = 0; n0 < g.batch; n0 += per) jobs.push({ kernel, args: args(n0, Math.min(g.batch, n0 + per)) });
    this.run(jobs);
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
    // Yᵀ[m, n·P + p] → y[n, m, p]: block copies (memcpy), then the bias on the unshared result.
    const y = new Float32Array(s.y);
    const heap = this.heap;
    for (let m = 0; m < g.outChannels; m++) {
      for (let n = 0; n < g.batch; n++) {
        const src = yTAt + m * NP + n * P;
        y.set(heap.subarray(src, src + P), (n * g.outChannels + m) * P);
      }
    }
    if (bias) {
      for (let n = 0; n < g.batch; n++) {
        for (let m = 0; m < g.outChannels; m++) {
          const b = bias[m]!;
          const base = (n * g.outChannels + m) * P;
          for (let p = 0; p < P; p++) y[base + p]! += b;
        }
      }
    }
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
    // dy[n, m, p] → dYᵀ[m, n·P + p]
    const dyTAt = this.alloc(g.outChannels * NP);
    const heap0 = this.heap;
    for (let n = 0; n < g.batch; n++) {
      for (let m = 0; m < g.outChannels; m++) {
        heap0.set(dy.subarray((n * g.outChannels + m) * P, (n * g.outChannels + m + 1) * P), dyTAt + m * NP + n * P);
      }
    }
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
}
