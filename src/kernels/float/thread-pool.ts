/**
 * Runs calls of the float kernel module on several threads at once, synchronously.
 *
 * Each extra thread is a worker_threads Worker holding its own instance of the same module on the
 * same shared WebAssembly.Memory. A job is one kernel call whose work divides into chunks along
 * one range argument pair (columns or rows of a GEMM, images of an im2col): the caller posts the
 * job in a shared control block, wakes the workers (Atomics.notify), and then every thread,
 * the caller included, claims chunks one at a time from a shared counter until none are left;
 * the caller blocks in Atomics.wait until every chunk is complete (Node allows Atomics.wait on the
 * main thread, which keeps the training code synchronous).
 *
 * Claiming chunks dynamically, instead of handing each thread a fixed half, matters on a shared
 * machine: a thread that the OS deschedules simply claims fewer chunks, and the caller never waits
 * for a worker that has claimed nothing. Which thread computes a chunk does not change its values.
 *
 * Consistency: the job is written under a seqlock (SEQ odd while writing) and the claim word
 * carries the job number in its high 16 bits, so a worker waking late with a stale job can never
 * claim a chunk of the next one.
 */
import { Worker } from "node:worker_threads";

// Control block layout (Int32 indices), mirrored in worker.mjs.
const REQUEST = 0, SEQ = 1, CLAIM = 2, COMPLETED = 3, FAILED = 4, READY = 5, EXIT = 6;
const KERNEL = 8, ARG_COUNT = 9, LO_ARG = 10, HI_ARG = 11, RANGE = 12, CHUNK = 13, SCRATCH_ARG = 14, CHUNKS = 15;
const CONTROL_INTS = 16;
const MAX_ARGS = 32;
const MAX_CHUNKS = 0xffff;
/** How long to wait for a worker to start, or for posted chunks to complete, before failing. */
const TIMEOUT_MS = 60_000;

export interface ChunkedJob {
  kernel: string;
  /** All arguments; those at loArg/hiArg (and scratchArg) are replaced per chunk (per thread). */
  args: number[];
  /** Indices in `args` of the [lo, hi) range that chunks subdivide. */
  loArg: number;
  hiArg: number;
  /** The range [0, range) to cover, in chunks of `chunk`. */
  range: number;
  chunk: number;
  /** Index in `args` of the per-thread scratch pointer, or −1. */
  scratchArg: number;
}

type KernelFn = (...args: number[]) => unknown;

export class KernelThreadPool {
  private readonly workers: Worker[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_INTS));
  private readonly argBlock = new Float64Array(new SharedArrayBuffer(8 * MAX_ARGS));
  private readonly kernelIndex: Map<string, number>;

  /**
   * Starts `extraThreads` workers and waits (blocking) until each has instantiated the module.
   * `scratchFor(t)` is thread t's scratch pointer (t = 0 is the calling thread).
   */
  constructor(
    wasmBytes: Uint8Array,
    memory: WebAssembly.Memory,
    private readonly local: Record<string, KernelFn>,
    kernelNames: string[],
    readonly extraThreads: number,
    private readonly scratchFor: (thread: number) => number,
  ) {
    this.kernelIndex = new Map(kernelNames.map((k, i) => [k, i]));
    for (let slot = 0; slot < extraThreads; slot++) {
      const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
        workerData: { wasmBytes, memory, control: this.control.buffer, argBlock: this.argBlock.buffer, scratch: scratchFor(slot + 1), kernelNames },
      });
      worker.unref(); // an idle pool must not keep the process alive
      this.workers.push(worker);
    }
    const deadline = Date.now() + TIMEOUT_MS;
    for (let ready = Atomics.load(this.control, READY); ready < extraThreads; ready = Atomics.load(this.control, READY)) {
      if (Date.now() > deadline) {
        this.dispose();
        throw new Error(`only ${ready} of ${extraThreads} float kernel workers started within ${TIMEOUT_MS} ms`);
      }
      Atomics.wait(this.control, READY, ready, 100);
    }
  }

  get threads(): number {
    return this.extraThreads + 1;
  }

  /** Runs every chunk of `job` on the calling thread and the workers; returns when all are done. */
  run(job: ChunkedJob): void {
    const chunks = Math.ceil(job.range / job.chunk);
    if (chunks > MAX_CHUNKS) throw new Error(`kernel ${job.kernel}: ${chunks} chunks, more than ${MAX_CHUNKS}`);
    if (job.args.length > MAX_ARGS) throw new Error(`kernel ${job.kernel}: more than ${MAX_ARGS} arguments`);
    const index = this.kernelIndex.get(job.kernel);
    const fn = this.local[job.kernel];
    if (index === undefined || !fn) throw new Error(`unknown kernel ${job.kernel}`);
    const args = [...job.args];
    if (job.scratchArg >= 0) args[job.scratchArg] = this.scratchFor(0);
    if (chunks <= 1) {
      args[job.loArg] = 0;
      args[job.hiArg] = job.range;
      fn(...args);
      return;
    }
    const c = this.control;
    // Post the job under the seqlock, then wake the workers.
    const seq = Atomics.add(c, SEQ, 1) + 1; // odd: writing
    c[KERNEL] = index;
    c[ARG_COUNT] = job.args.length;
    c[LO_ARG] = job.loArg;
    c[HI_ARG] = job.hiArg;
    c[RANGE] = job.range;
    c[CHUNK] = job.chunk;
    c[SCRATCH_ARG] = job.scratchArg;
    c[CHUNKS] = chunks;
    this.argBlock.set(job.args);
    const jobId = ((seq + 1) >> 1) & 0x7fff;
    Atomics.store(c, COMPLETED, 0);
    Atomics.store(c, CLAIM, jobId << 16);
    Atomics.add(c, SEQ, 1); // even: published
    Atomics.add(c, REQUEST, 1);
    Atomics.notify(c, REQUEST);
    // Work alongside the workers.
    for (;;) {
      const word = Atomics.load(c, CLAIM);
      const chunk = word & 0xffff;
      if (chunk >= chunks) break;
      if (Atomics.compareExchange(c, CLAIM, word, word + 1) !== word) continue;
      args[job.loArg] = chunk * job.chunk;
      args[job.hiArg] = Math.min(job.range, (chunk + 1) * job.chunk);
      fn(...args);
      Atomics.add(c, COMPLETED, 1);
    }
    const deadline = Date.now() + TIMEOUT_MS;
    for (let done = Atomics.load(c, COMPLETED); done < chunks; done = Atomics.load(c, COMPLETED)) {
      if (Date.now() > deadline) throw new Error(`float kernel ${job.kernel}: ${chunks - done} chunks not completed within ${TIMEOUT_MS} ms`);
      Atomics.wait(c, COMPLETED, done, 1000);
    }
    if (Atomics.exchange(c, FAILED, 0) !== 0) throw new Error(`float kernel ${job.kernel} failed on a worker thread`);
  }

  dispose(): void {
    Atomics.store(this.control, EXIT, 1);
    Atomics.add(this.control, REQUEST, 1);
    Atomics.notify(this.control, REQUEST);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
