// A kernel worker thread (plain JavaScript so it needs no TypeScript loader). It instantiates the
// float kernel module on the shared memory it is handed, then forever: sleeps until the request
// counter moves, takes a consistent snapshot of the posted job (a seqlock), and claims chunks of
// it until none are left. Protocol constants and the reasoning are in thread-pool.ts.
import { workerData } from "node:worker_threads";

const { wasmBytes, memory, control, argBlock, scratch, kernelNames } = workerData;
const REQUEST = 0, SEQ = 1, CLAIM = 2, COMPLETED = 3, FAILED = 4, READY = 5, EXIT = 6;
const KERNEL = 8, ARG_COUNT = 9, LO_ARG = 10, HI_ARG = 11, RANGE = 12, CHUNK = 13, SCRATCH_ARG = 14, CHUNKS = 15;

const ctrl = new Int32Array(control);
const shared = new Float64Array(argBlock);
const instance = new WebAssembly.Instance(new WebAssembly.Module(wasmBytes), { env: { memory } });
const kernels = kernelNames.map((name) => instance.exports[name]);

Atomics.add(ctrl, READY, 1);
Atomics.notify(ctrl, READY);

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, REQUEST, seen);
  seen = Atomics.load(ctrl, REQUEST);
  if (Atomics.load(ctrl, EXIT)) break;
  // Snapshot the job; retry if the main thread was writing it meanwhile.
  let seq, kernel, args, lo, hi, range, chunk, scratchArg, chunks;
  for (;;) {
    seq = Atomics.load(ctrl, SEQ);
    if (seq & 1) continue;
    kernel = ctrl[KERNEL]; lo = ctrl[LO_ARG]; hi = ctrl[HI_ARG]; range = ctrl[RANGE];
    chunk = ctrl[CHUNK]; scratchArg = ctrl[SCRATCH_ARG]; chunks = ctrl[CHUNKS];
    args = Array.from(shared.subarray(0, ctrl[ARG_COUNT]));
    if (Atomics.load(ctrl, SEQ) === seq) break;
  }
  const job = (seq >> 1) & 0x7fff;
  if (scratchArg >= 0) args[scratchArg] = scratch;
  const fn = kernels[kernel];
  for (;;) {
    const word = Atomics.load(ctrl, CLAIM);
    const index = word & 0xffff;
    if (word >>> 16 !== job || index >= chunks) break;
    if (Atomics.compareExchange(ctrl, CLAIM, word, word + 1) !== word) continue;
    try {
      args[lo] = index * chunk;
      args[hi] = Math.min(range, (index + 1) * chunk);
      fn(...args);
    } catch {
      Atomics.store(ctrl, FAILED, 1);
    }
    if (Atomics.add(ctrl, COMPLETED, 1) + 1 === chunks) Atomics.notify(ctrl, COMPLETED);
  }
}
