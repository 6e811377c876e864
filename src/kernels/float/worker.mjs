// A kernel worker thread (plain JavaScript so it needs no TypeScript loader). It instantiates the
// float kernel module on the shared memory it is handed and then, forever: waits on its request
// counter, runs the requested export with the arguments in the shared argument block, and
// publishes the request number as done. Protocol constants mirror thread-pool.ts.
import { workerData } from "node:worker_threads";

const { wasmBytes, memory, control, argBlock, slot, kernelNames } = workerData;
const SLOT_INTS = 8, SLOT_ARGS = 32;
const REQUEST = 0, DONE = 1, KERNEL = 2, ARG_COUNT = 3, READY = 4, FAILED = 5;

const ctrl = new Int32Array(control);
const args = new Float64Array(argBlock);
const base = slot * SLOT_INTS;
const argBase = slot * SLOT_ARGS;

const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes), { env: { memory } });
const kernels = kernelNames.map((name) => instance.exports[name]);

Atomics.store(ctrl, base + READY, 1);
Atomics.notify(ctrl, base + READY);

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, base + REQUEST, seen);
  const request = Atomics.load(ctrl, base + REQUEST);
  if (request === seen) continue;
  seen = request;
  const kernel = Atomics.load(ctrl, base + KERNEL);
  if (kernel < 0) break;
  try {
    const count = ctrl[base + ARG_COUNT];
    kernels[kernel](...Array.from(args.subarray(argBase, argBase + count)));
  } catch {
    Atomics.store(ctrl, base + FAILED, 1);
  }
  Atomics.store(ctrl, base + DONE, request);
  Atomics.notify(ctrl, base + DONE);
}
