// A worker thread of the int8 kernel pool (plain JavaScript, so it needs no TypeScript loader).
// It instantiates the kernel module on the shared memory it is given and then, until told to
// exit: waits for a new job, claims the job's tasks one at a time by compare-and-swap on the
// claim word (job number in the high 16 bits, next task in the low 16), runs each, and counts it
// done. Protocol constants mirror thread_pool.ts.
import { workerData } from "node:worker_threads";

const { module, memory, kernelNames, thread } = workerData;
const REQUEST = 0, CLAIM = 1, DONE = 2, FAILED = 3, READY = 4, TASKS = 5, SCRATCH_ARG = 6, EXIT = 7;
const MAX_ARGS = 32;

const control = new Int32Array(workerData.control);
const kernels = new Int32Array(workerData.kernels);
const args = new Float64Array(workerData.args);
const argCounts = new Int32Array(workerData.argCounts);
const scratch = new Float64Array(workerData.scratch);

const instance = new WebAssembly.Instance(module, { env: { memory } });
const functions = kernelNames.map((name) => instance.exports[name]);

Atomics.add(control, READY, 1);
Atomics.notify(control, READY);

// Jobs come in bursts (one per layer, microseconds apart): spin a little before sleeping, because
// waking from Atomics.wait costs tens of microseconds, as much as a small layer's whole share.
const SPIN = 20000;

let seen = 0;
for (;;) {
  for (let i = 0; i < SPIN && Atomics.load(control, REQUEST) === seen; i++);
  Atomics.wait(control, REQUEST, seen);
  if (Atomics.load(control, EXIT) !== 0) break;
  const request = Atomics.load(control, REQUEST);
  if (request === seen) continue;
  seen = request;
  const job = request & 0xffff;
  for (;;) {
    const claim = Atomics.load(control, CLAIM);
    if ((claim >>> 16) !== job) break;
    const next = claim & 0xffff;
    const total = Atomics.load(control, TASKS);
    if (next >= total) break;
    if (Atomics.compareExchange(control, CLAIM, claim, claim + 1) !== claim) continue;
    try {
      const list = Array.from(args.subarray(next * MAX_ARGS, next * MAX_ARGS + argCounts[next]));
      // Every kernel takes its scratch pointer last; each thread has its own.
      if (Atomics.load(control, SCRATCH_ARG) !== 0) list[list.length - 1] = scratch[thread];
      functions[kernels[next]](...list);
    } catch {
      Atomics.store(control, FAILED, 1);
    }
    if (Atomics.add(control, DONE, 1) + 1 === total) Atomics.notify(control, DONE);
  }
}
