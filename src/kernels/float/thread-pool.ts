/**
 * Runs calls of the float kernel module on several threads at once, synchronously.
 *
 * Each extra thread is a worker_threads Worker holding its own instance of the same module on the
 * same shared WebAssembly.Memory. A call is a list of jobs (kernel name + numeric arguments): the
 * first runs on the calling thread, the others are handed to workers through a shared control
 * block (Atomics.notify), and the caller blocks in Atomics.wait until all are done. Blocking keeps
 * the training code synchronous; Node allows Atomics.wait on the main thread.
 */
import { Worker } from "node:worker_threads";

// Protocol constants, mirrored in worker.mjs.
const SLOT_INTS = 8;
const SLOT_ARGS = 32;
const REQUEST = 0, DONE = 1, KERNEL = 2, ARG_COUNT = 3, READY = 4, FAILED = 5;
/** How long to wait for a worker to start or to answer before declaring it dead. */
const TIMEOUT_MS = 60_000;

export interface KernelJob {
  kernel: string;
  args: number[];
}

export class KernelThreadPool {
  private readonly workers: Worker[] = [];
  private readonly control: Int32Array;
  private readonly argBlock: Float64Array;
  private readonly kernelIndex: Map<string, number>;
  private requests = 0;

  /** Starts `extraThreads` workers and waits (blocking) until each has instantiated the module. */
  constructor(
    wasmBytes: Uint8Array,
    memory: WebAssembly.Memory,
    private readonly local: Record<string, (...args: number[]) => unknown>,
    kernelNames: string[],
    readonly extraThreads: number,
  ) {
    this.kernelIndex = new Map(kernelNames.map((k, i) => [k, i]));
    this.control = new Int32Array(new SharedArrayBuffer(4 * SLOT_INTS * Math.max(1, extraThreads)));
    this.argBlock = new Float64Array(new SharedArrayBuffer(8 * SLOT_ARGS * Math.max(1, extraThreads)));
    for (let slot = 0; slot < extraThreads; slot++) {
      const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
        workerData: { wasmBytes, memory, control: this.control.buffer, argBlock: this.argBlock.buffer, slot, kernelNames },
      });
      worker.unref(); // an idle pool must not keep the process alive
      this.workers.push(worker);
    }
    for (let slot = 0; slot < extraThreads; slot++) {
      const status = Atomics.wait(this.control, slot * SLOT_INTS + READY, 0, TIMEOUT_MS);
      if (status === "timed-out") {
        this.dispose();
        throw new Error(`float kernel worker ${slot} did not start within ${TIMEOUT_MS} ms`);
      }
    }
  }

  get threads(): number {
    return this.extraThreads + 1;
  }

  /** Runs jobs[0] here and jobs[1..] on workers; returns when all have finished. */
  run(jobs: KernelJob[]): void {
    if (jobs.length > this.threads) throw new Error(`${jobs.length} jobs for ${this.threads} threads`);
    this.requests++;
    for (let i = 1; i < jobs.length; i++) {
      const job = jobs[i]!;
      const base = (i - 1) * SLOT_INTS;
      const index = this.kernelIndex.get(job.kernel);
      if (index === undefined) throw new Error(`unknown kernel ${job.kernel}`);
      if (job.args.length > SLOT_ARGS) throw new Error(`kernel ${job.kernel}: more than ${SLOT_ARGS} arguments`);
      this.argBlock.set(job.args, (i - 1) * SLOT_ARGS);
      this.control[base + KERNEL] = index;
      this.control[base + ARG_COUNT] = job.args.length;
      Atomics.store(this.control, base + REQUEST, this.requests);
      Atomics.notify(this.control, base + REQUEST);
    }
    if (jobs.length > 0) {
      const first = jobs[0]!;
      const fn = this.local[first.kernel];
      if (!fn) throw new Error(`unknown kernel ${first.kernel}`);
      fn(...first.args);
    }
    for (let i = 1; i < jobs.length; i++) {
      const base = (i - 1) * SLOT_INTS;
      for (;;) {
        const done = Atomics.load(this.control, base + DONE);
        if (done === this.requests) break;
        if (Atomics.wait(this.control, base + DONE, done, TIMEOUT_MS) === "timed-out") {
          throw new Error(`float kernel worker ${i - 1} did not finish ${jobs[i]!.kernel} within ${TIMEOUT_MS} ms`);
        }
      }
      if (Atomics.exchange(this.control, base + FAILED, 0) !== 0) {
        throw new Error(`float kernel ${jobs[i]!.kernel} failed on worker ${i - 1}`);
      }
    }
  }

  dispose(): void {
    for (let slot = 0; slot < this.workers.length; slot++) {
      const base = slot * SLOT_INTS;
      this.control[base + KERNEL] = -1;
      Atomics.add(this.control, base + REQUEST, 1);
      Atomics.notify(this.control, base + REQUEST);
      void this.workers[slot]!.terminate();
    }
    this.workers.length = 0;
  }
}
