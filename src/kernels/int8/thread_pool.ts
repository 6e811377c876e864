/**
 * Runs the 8-bit kernels on several threads at once, synchronously.
 *
 * Each extra thread is a worker_threads Worker with its own instance of the same module on the same
 * shared WebAssembly.Memory. A job is a list of tasks (kernel calls on disjoint parts of the
 * output, each a few times smaller than a thread's share); the caller publishes them in shared
 * memory, wakes the workers, and then every thread, the caller included, claims tasks one at a
 * time until none are left. Claiming dynamically matters on a shared machine: a descheduled
 * worker simply claims fewer tasks. The caller blocks in Atomics.wait until every task is done
 * (Node allows that on the main thread), so `run` is synchronous. Which thread runs a task never
 * changes its result.
 *
 * The claim word holds the job number in its high 16 bits and the next task in its low 16, and
 * tasks are only ever claimed by compare-and-swap on the current job's word, so a worker waking
 * late can never run a task of a later job twice.
 */
import { Worker } from "node:worker_threads";

// Control block (Int32 indices), mirrored in worker.mjs.
const REQUEST = 0, CLAIM = 1, DONE = 2, FAILED = 3, READY = 4, TASKS = 5, SCRATCH_ARG = 6, EXIT = 7;
const CONTROL_INTS = 8;
export const MAX_TASKS = 1024;
export const MAX_ARGS = 32;
const MAX_THREADS = 64;
const TIMEOUT_MS = 60_000;
const SPIN = 20000;

export interface KernelTask {
  kernel: string;
  args: number[];
}

type KernelFn = (...args: number[]) => unknown;

export class Int8ThreadPool {
  private readonly workers: Worker[] = [];
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_INTS));
  private readonly kernels = new Int32Array(new SharedArrayBuffer(4 * MAX_TASKS));
  private readonly args = new Float64Array(new SharedArrayBuffer(8 * MAX_TASKS * MAX_ARGS));
  private readonly argCounts = new Int32Array(new SharedArrayBuffer(4 * MAX_TASKS));
  private readonly scratch = new Float64Array(new SharedArrayBuffer(8 * MAX_THREADS));
  private readonly kernelIndex: Map<string, number>;
  private job = 0;

  constructor(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    private readonly local: Record<string, KernelFn>,
    kernelNames: string[],
    readonly extraThreads: number,
  ) {
    if (extraThreads + 1 > MAX_THREADS) throw new Error(`at most ${MAX_THREADS} threads`);
    this.kernelIndex = new Map(kernelNames.map((k, i) => [k, i]));
    for (let slot = 0; slot < extraThreads; slot++) {
      const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
        workerData: {
          module, memory, kernelNames, thread: slot + 1,
          control: this.control.buffer, kernels: this.kernels.buffer, args: this.args.buffer,
          argCounts: this.argCounts.buffer, scratch: this.scratch.buffer,
        },
      });
      worker.unref(); // an idle pool must not keep the process alive
      this.workers.push(worker);
    }
    const deadline = Date.now() + TIMEOUT_MS;
    for (let ready = Atomics.load(this.control, READY); ready < extraThreads; ready = Atomics.load(this.control, READY)) {
      if (Date.now() > deadline) {
        this.dispose();
        throw new Error(`only ${ready} of ${extraThreads} int8 kernel workers started within ${TIMEOUT_MS} ms`);
      }
      Atomics.wait(this.control, READY, ready, 100);
    }
  }

  get threads(): number {
    return this.extraThreads + 1;
  }

  /**
   * Run every task; with `scratch`, `scratch[t]` replaces the last argument of the tasks thread t
   * runs (thread 0 is the caller). Returns when all tasks are done.
   */
  run(tasks: KernelTask[], scratch?: number[]): void {
    if (tasks.length === 0) return;
    if (tasks.length > MAX_TASKS) throw new Error(`${tasks.length} tasks exceed the pool's ${MAX_TASKS}`);
    this.job = (this.job + 1) & 0xffff;
    const job = this.job;
    tasks.forEach((t, i) => {
      const index = this.kernelIndex.get(t.kernel);
      if (index === undefined) throw new Error(`unknown kernel ${t.kernel}`);
      if (t.args.length > MAX_ARGS) throw new Error(`kernel ${t.kernel}: more than ${MAX_ARGS} arguments`);
      this.kernels[i] = index;
      this.argCounts[i] = t.args.length;
      this.args.set(t.args, i * MAX_ARGS);
    });
    if (scratch) {
      if (scratch.length < this.threads) throw new Error("a scratch pointer is needed for every thread");
      this.scratch.set(scratch.slice(0, this.threads));
    }
    Atomics.store(this.control, SCRATCH_ARG, scratch ? 1 : 0);
    Atomics.store(this.control, TASKS, tasks.length);
    Atomics.store(this.control, DONE, 0);
    Atomics.store(this.control, FAILED, 0);
    Atomics.store(this.control, CLAIM, job << 16);
    Atomics.store(this.control, REQUEST, job);
    Atomics.notify(this.control, REQUEST);
    // The caller works too.
    for (;;) {
      const claim = Atomics.load(this.control, CLAIM);
      const next = claim & 0xffff;
      if (next >= tasks.length) break;
      if (Atomics.compareExchange(this.control, CLAIM, claim, claim + 1) !== claim) continue;
      const task = tasks[next]!;
      const args = scratch ? [...task.args.slice(0, -1), scratch[0]!] : task.args;
      this.local[task.kernel]!(...args);
      Atomics.add(this.control, DONE, 1);
    }
    // The workers' last tasks usually end within microseconds: spin before sleeping (see worker.mjs).
    for (let i = 0; i < SPIN && Atomics.load(this.control, DONE) < tasks.length; i++);
    const deadline = Date.now() + TIMEOUT_MS;
    for (let done = Atomics.load(this.control, DONE); done < tasks.length; done = Atomics.load(this.control, DONE)) {
      if (Date.now() > deadline) throw new Error(`int8 kernel tasks did not finish within ${TIMEOUT_MS} ms`);
      Atomics.wait(this.control, DONE, done, 100);
    }
    if (Atomics.load(this.control, FAILED) !== 0) throw new Error("an int8 kernel failed on a worker thread");
  }

  dispose(): void {
    Atomics.store(this.control, EXIT, 1);
    Atomics.add(this.control, REQUEST, 1 << 20);
    Atomics.notify(this.control, REQUEST);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}
