/**
 * The 8-bit WebAssembly SIMD module (assembly/int8/) behind a small JavaScript API: one shared
 * linear memory, an area for data that lives as long as the kernels (packed weights, output-stage
 * parameters), an arena for each call's operands (reset at the start of every call), and an
 * optional pool of worker threads running the same module on the same memory.
 *
 * Memory layout: [0, 64) unused (no null pointers), then the persistent area growing upward, then
 * the arena. Packing weights between calls just moves the arena's start.
 */
import { readFileSync } from "node:fs";
import { Int8ThreadPool, type KernelTask } from "./thread_pool.js";
import { buildInt8Wasm, defaultInt8WasmPath, int8WasmInitialPages, int8WasmIsFresh, int8WasmMaximumPages } from "./build.js";

export interface Int8WasmExports {
  packRows(src: number, rows: number, k: number, rowStride: number, kStride: number, zeroPoints: number, perRow: number, signed: number, dst: number): void;
  packedRowsBytes(rows: number, k: number): number;
  panelBytes(k: number): number;
  gemmRequantize(...args: number[]): void;
  gemmAccumulate(...args: number[]): void;
  im2col(...args: number[]): void;
  depthwiseConv(...args: number[]): void;
  depthwiseScratchBytes(...args: number[]): number;
  int8PeakLoop(iterations: number, seed: number, scratch: number): number;
  int8PeakOpsPerIteration(): number;
}

/** Kernels the worker threads can run (by name). */
const THREADED_KERNELS = ["gemmRequantize", "gemmAccumulate", "im2col", "depthwiseConv"];
const PAGE = 65536;
/** Bytes read past the end of an operand by 8-wide loads of a partial last block. */
export const OVERREAD = 64;

let cachedBytes: Uint8Array<ArrayBuffer> | undefined;

export function loadInt8WasmBytes(wasmPath: string = defaultInt8WasmPath): Uint8Array<ArrayBuffer> {
  if (wasmPath === defaultInt8WasmPath) {
    if (cachedBytes) return cachedBytes;
    if (!int8WasmIsFresh(wasmPath)) buildInt8Wasm(wasmPath);
    cachedBytes = new Uint8Array(readFileSync(wasmPath));
    return cachedBytes;
  }
  return new Uint8Array(readFileSync(wasmPath));
}

export interface Int8WasmOptions {
  /** Threads running each kernel call (1 = this thread only). Default 1. */
  threads?: number;
  wasmPath?: string;
}

export class Int8Wasm {
  readonly threads: number;
  readonly exports: Int8WasmExports;
  private readonly memory: WebAssembly.Memory;
  private readonly pool: Int8ThreadPool | null;
  private persistentTop = 64;
  private top = 64;
  u8!: Uint8Array;
  i8!: Int8Array;
  i16!: Int16Array;
  i32!: Int32Array;

  constructor(options: Int8WasmOptions = {}) {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new Error(`threads must be an integer in [1, 64], got ${threads}`);
    const bytes = loadInt8WasmBytes(options.wasmPath);
    this.memory = new WebAssembly.Memory({ initial: int8WasmInitialPages, maximum: int8WasmMaximumPages, shared: true });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as Int8WasmExports;
    this.threads = threads;
    this.refreshViews();
    const local = this.exports as unknown as Record<string, (...args: number[]) => unknown>;
    this.pool = threads > 1 ? new Int8ThreadPool(bytes, this.memory, local, THREADED_KERNELS, threads - 1) : null;
  }

  dispose(): void {
    this.pool?.dispose();
  }

  private refreshViews(): void {
    const buffer = this.memory.buffer;
    if (this.u8?.buffer === buffer) return;
    this.u8 = new Uint8Array(buffer);
    this.i8 = new Int8Array(buffer);
    this.i16 = new Int16Array(buffer);
    this.i32 = new Int32Array(buffer);
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > int8WasmMaximumPages) {
        throw new Error(`int8 kernels need ${end} bytes of WebAssembly memory, above the ${int8WasmMaximumPages * PAGE}-byte maximum`);
      }
      this.memory.grow(pages);
    }
    this.refreshViews();
  }

  /** Reserve bytes that live as long as the kernels (weights); returns a 16-byte-aligned offset. */
  persistent(bytes: number): number {
    if (this.top !== this.persistentTop) throw new Error("int8 kernels: persistent allocation during a call");
    const at = this.persistentTop;
    this.persistentTop = align16(at + bytes + OVERREAD);
    this.top = this.persistentTop;
    this.ensure(this.top);
    return at;
  }

  persistentInt32(values: ArrayLike<number>): number {
    const at = this.persistent(values.length * 4);
    this.i32.set(values, at >> 2);
    return at;
  }

  /** Start a call: the arena is empty again. */
  beginCall(): void {
    this.top = this.persistentTop;
  }

  endCall(): void {
    this.top = this.persistentTop;
  }

  /** Arena bytes for this call (16-byte aligned, with slack for over-reads). */
  arena(bytes: number): number {
    const at = this.top;
    this.top = align16(at + bytes + OVERREAD);
    this.ensure(this.top);
    return at;
  }

  /** Copy 8-bit data into the arena. */
  putBytes(data: Int8Array | Uint8Array): number {
    const at = this.arena(data.length);
    this.u8.set(data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length), at);
    return at;
  }

  /**
   * Run tasks (on all threads when there is more than one task). With `scratch`, the LAST argument
   * of each task (every kernel takes its scratch pointer last) is replaced by the scratch pointer
   * of the thread running it.
   */
  run(tasks: KernelTask[], scratch?: number[]): void {
    if (tasks.length === 0) return;
    if (this.pool && tasks.length > 1) {
      this.pool.run(tasks, scratch);
    } else {
      const f = this.exports as unknown as Record<string, (...a: number[]) => void>;
      for (const t of tasks) {
        const args = scratch ? [...t.args.slice(0, -1), scratch[0]!] : t.args;
        f[t.kernel]!(...args);
      }
    }
  }

  /** One scratch area of `bytes` per thread, from the arena. */
  scratchPerThread(bytes: number): number[] {
    return Array.from({ length: this.threads }, () => this.arena(bytes));
  }

  /** Rounds of the dot-product peak loop on this thread; returns the integer operations done. */
  peak(iterations: number): number {
    this.beginCall();
    const scratch = this.arena(64);
    this.exports.int8PeakLoop(iterations, 3, scratch);
    this.endCall();
    return iterations * this.exports.int8PeakOpsPerIteration();
  }
}

export function align16(n: number): number {
  return Math.ceil(n / 16) * 16;
}
