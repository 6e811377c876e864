/**
 * The 8-bit WebAssembly SIMD module (assembly/int8/) behind a small JavaScript API: one shared
 * linear memory managed by a JavaScript allocator (allocator.ts) holding three kinds of data —
 * what lives as long as the kernels (packed weights, output-stage parameters), the 8-bit
 * activations of a run ("resident" tensors: typed-array views into the memory, so that one
 * kernel's output is the next kernel's input without a copy; freed when the engine is done with
 * them), and each kernel call's scratch (freed when the call ends) — and an optional pool of worker
 * threads running the same module on the same memory. [0, 64) is never used (no null pointers).
 *
 * Views stay valid when the memory grows: a shared WebAssembly memory is never detached.
 */
import { readFileSync } from "node:fs";
import { Int8ThreadPool, type KernelTask } from "./thread_pool.js";
import { Allocator, align16 } from "./allocator.js";
import type { Int8Data, Int8DType, Int8Tensor } from "../reference/common.js";
import { buildInt8Wasm, defaultInt8WasmPath, int8WasmInitialPages, int8WasmIsFresh, int8WasmMaximumPages } from "./build.js";

export interface Int8WasmExports {
  packRows(src: number, rows: number, k: number, rowStride: number, kStride: number, zeroPoints: number, perRow: number, signed: number, dst: number): void;
  packedRowsBytes(rows: number, k: number): number;
  panelBytes(k: number): number;
  prepareStages(rows: number, bias: number, multipliers: number, shifts: number, lo: number, hi: number, zero: number, dst: number): number;
  gemmRequantize(...args: number[]): void;
  gemmAccumulate(...args: number[]): void;
  gemvScratchBytes(k: number): number;
  narrowRowsBytes(rows: number, k: number): number;
  packNarrowRows(src: number, rows: number, k: number, rowStride: number, kStride: number, dst: number): void;
  gemvRequantize(...args: number[]): void;
  padImage(...args: number[]): void;
  depthwiseConv(...args: number[]): void;
  depthwiseScratchBytes(...args: number[]): number;
  col2imAdd(...args: number[]): void;
  requantizeRows(...args: number[]): void;
  maxPoolRequantize(...args: number[]): void;
  pixelShuffle(...args: number[]): void;
  binaryTableSame(...args: number[]): void;
  binaryTableBlocks(...args: number[]): void;
  mapBytes(src: number, dst: number, n: number, table: number): void;
  resizeNearest(...args: number[]): void;
  planeSums(...args: number[]): void;
  transposeBytes(src: number, rows: number, cols: number, dst: number): void;
  maxPool(...args: number[]): void;
  averagePool(...args: number[]): void;
  quantizeF32(x: number, n: number, scale: number, zero: number, qmin: number, qmax: number, signed: number, out: number): number;
  int8PeakLoop(iterations: number, seed: number, scratch: number): number;
  int8PeakOpsPerIteration(): number;
}

/** Kernels the worker threads can run (by name). */
const THREADED_KERNELS = ["gemmRequantize", "gemvRequantize", "gemmAccumulate", "padImage", "depthwiseConv", "col2imAdd", "requantizeRows", "maxPoolRequantize", "pixelShuffle", "binaryTableSame", "binaryTableBlocks", "mapBytes", "resizeNearest", "planeSums", "maxPool", "averagePool"];
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
  private readonly allocator = new Allocator(64);
  /**
   * The end of the open call's scratch, 0 when it has none. Scratch is stacked past the
   * allocator's last block, [allocator.end, scratchTop), and dropped whole by endCall: a call's
   * blocks all die together, so they need no allocator bookkeeping.
   */
  private scratchTop = 0;
  /** Resident tensors: data view → its block. */
  private readonly resident = new Map<object, number>();
  u8!: Uint8Array;
  i8!: Int8Array;
  i16!: Int16Array;
  i32!: Int32Array;

  constructor(options: Int8WasmOptions = {}) {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new Error(`threads must be an integer in [1, 64], got ${threads}`);
    const bytes = loadInt8WasmBytes(options.wasmPath);
    this.memory = new WebAssembly.Memory({ initial: int8WasmInitialPages, maximum: int8WasmMaximumPages, shared: true });
    const module = new WebAssembly.Module(bytes);
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as Int8WasmExports;
    this.threads = threads;
    this.refreshViews();
    const local = this.exports as unknown as Record<string, (...args: number[]) => unknown>;
    this.pool = threads > 1 ? new Int8ThreadPool(module, this.memory, local, THREADED_KERNELS, threads - 1) : null;
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
    // Only this object grows the memory, so its size is known without asking (reading
    // memory.buffer of a shared memory costs more than the rest of an allocation).
    if (end <= this.u8.length) return;
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

  private allocate(bytes: number): number {
    // A block would land on the call's scratch (kernels allocate their outputs before beginCall).
    if (this.scratchTop !== 0) throw new Error("int8 kernels: a block was allocated during a call that holds scratch");
    const at = this.allocator.alloc(bytes + OVERREAD);
    this.ensure(this.allocator.end);
    return at;
  }

  /** Reserve bytes that live as long as the kernels (weights); returns a 16-byte-aligned offset. */
  persistent(bytes: number): number {
    return this.allocate(bytes);
  }

  persistentInt32(values: ArrayLike<number>): number {
    const at = this.persistent(values.length * 4);
    this.i32.set(values, at >> 2);
    return at;
  }

  /** Start a call: scratch from here on is freed by endCall. */
  beginCall(): void {
    this.endCall();
  }

  endCall(): void {
    this.scratchTop = 0;
  }

  /** Scratch bytes for this call (16-byte aligned, with slack for over-reads). */
  arena(bytes: number): number {
    if (!(bytes >= 0) || !Number.isFinite(bytes)) throw new Error(`cannot allocate ${bytes} bytes of scratch`);
    const at = this.scratchTop === 0 ? this.allocator.end : this.scratchTop;
    this.scratchTop = at + align16(bytes + OVERREAD);
    this.ensure(this.scratchTop);
    return at;
  }

  /**
   * The offset of 8-bit data in memory: a resident tensor's own block, or a copy in this call's
   * scratch for data that lives in JavaScript.
   */
  putBytes(data: Int8Array | Uint8Array): number {
    const at = this.resident.get(data);
    if (at !== undefined) return at;
    const copy = this.arena(data.length);
    this.u8.set(data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length), copy);
    return copy;
  }

  /** A new resident 8-bit tensor (contents undefined until a kernel writes them). */
  newTensor(dtype: Int8DType, dims: readonly number[]): Int8Tensor {
    let n = 1;
    for (const d of dims) n *= d;
    const at = this.allocate(n);
    // this.u8's buffer is the memory's current one (allocate refreshed the views if it grew).
    const data = dtype === "int8" ? new Int8Array(this.u8.buffer, at, n) : new Uint8Array(this.u8.buffer, at, n);
    this.resident.set(data, at);
    return { dtype, dims: [...dims], data };
  }

  /** The block of a resident tensor's data, or undefined for data in JavaScript memory. */
  offsetOf(data: Int8Data): number | undefined {
    return this.resident.get(data);
  }

  /** Free a resident tensor's block (no-op for other data). The tensor must not be used afterwards. */
  release(data: object): void {
    const at = this.resident.get(data);
    if (at === undefined) return;
    this.resident.delete(data);
    this.allocator.release(at);
  }

  /** Bytes currently allocated (weights, live activations, the open call's scratch). */
  get allocatedBytes(): number {
    return this.allocator.allocatedBytes + (this.scratchTop === 0 ? 0 : this.scratchTop - this.allocator.end);
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
        // Tasks are built for this call: their scratch argument is filled in place.
        if (scratch) t.args[t.args.length - 1] = scratch[0]!;
        f[t.kernel]!.apply(null, t.args);
      }
    }
  }

  /** One scratch area of `bytes` per thread, from the arena. */
  scratchPerThread(bytes: number): number[] {
    const areas = [this.arena(bytes)];
    for (let t = 1; t < this.threads; t++) areas.push(this.arena(bytes));
    return areas;
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


/**
 * A byte table applied by a kernel to its 8-bit output as it stores it (the engine fuses
 * element-wise activations this way). Fusing a second table composes the two.
 */
export class OutputTable {
  /** Offset of the 256-byte table in memory, 0 for none. */
  pointer = 0;
  dtype: "int8" | "uint8" | undefined;

  constructor(private readonly wasm: Int8Wasm) {}

  fuse(table: Uint8Array, dtype: "int8" | "uint8"): void {
    if (table.length !== 256) throw new Error("an output table needs 256 entries");
    const composed = this.pointer === 0 ? table : Uint8Array.from(this.wasm.u8.subarray(this.pointer, this.pointer + 256), (b) => table[b]!);
    const at = this.wasm.persistent(256);
    this.wasm.u8.set(composed, at);
    this.pointer = at;
    this.dtype = dtype;
  }
}

/** A layer kernel that can also take a fused output table. */
export type FusableKernel<A extends unknown[], R> = ((...args: A) => R) & { fuseOutputTable(table: Uint8Array, dtype: "int8" | "uint8"): void };

export function fusable<A extends unknown[], R>(run: (...args: A) => R, table: OutputTable): FusableKernel<A, R> {
  const f = run as FusableKernel<A, R>;
  f.fuseOutputTable = (t, d) => table.fuse(t, d);
  return f;
}
