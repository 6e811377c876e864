/**
 * The binary table kernel (broadcast_binary.ts) on the WebAssembly module, with threads: equal
 * shapes, a scalar operand and block-broadcast operands run in assembly/int8/tables.ts; general
 * broadcasting (index maps) and, on one thread, per-column operands (binary_columns.ts) stay in
 * JavaScript. Same bytes as applyBroadcastBinaryTable.
 */
import type { Int8Data } from "../reference/common.js";
import { type BinaryBroadcast, applyBroadcastBinaryTable } from "./broadcast_binary.js";
import { applyColumnsBinaryTable } from "./binary_columns.js";
import { bytesOf } from "./tables.js";
import type { KernelTask } from "./thread_pool.js";
import type { Int8Wasm } from "./wasm.js";

/** Elements below which one thread does the whole op. */
const PARALLEL_MIN_ELEMENTS = 1 << 16;

export function wasmBinaryTable(wasm: Int8Wasm, table: Uint8Array): (plan: BinaryBroadcast, a: Int8Data, b: Int8Data, out: Int8Data) => void {
  if (table.length !== 65536) throw new Error("a binary table needs 65 536 entries");
  const tableAt = wasm.persistent(65536);
  wasm.u8.set(table, tableAt);
  return (plan, a, b, out) => {
    const layout = plan.layout;
    if (layout.kind === "maps") {
      applyBroadcastBinaryTable(table, plan, a, b, out);
      return;
    }
    const n = out.length;
    const threaded = n >= PARALLEL_MIN_ELEMENTS && wasm.threads > 1;
    if (layout.kind === "blocks" && layout.inner === 1 && !threaded) {
      // A per-column operand ([W] against [N, C, W]: a bias, LayerNorm's γ and β): the wasm
      // kernel divides per element to find the column; the JavaScript loop walks the columns.
      if (layout.which === "b") applyColumnsBinaryTable(table, a, b, true, out);
      else applyColumnsBinaryTable(table, b, a, false, out);
      return;
    }
    wasm.beginCall();
    try {
      const aAt = wasm.putBytes(a);
      const bAt = wasm.putBytes(b);
      const outResident = wasm.offsetOf(out);
      const outAt = outResident ?? wasm.arena(n);
      const parts = threaded ? wasm.threads * 4 : 1;
      const per = Math.ceil(n / parts);
      const tasks: KernelTask[] = [];
      for (let start = 0; start < n; start += per) {
        const end = Math.min(n, start + per);
        if (layout.kind === "same") tasks.push({ kernel: "binaryTableSame", args: [aAt, bAt, outAt, tableAt, start, end] });
        else if (layout.kind === "scalar") {
          const bigIsA = layout.which === "b" ? 1 : 0;
          tasks.push({ kernel: "binaryTableBlocks", args: [bigIsA ? aAt : bAt, bigIsA ? bAt : aAt, bigIsA, 1, n, outAt, tableAt, start, end] });
        } else {
          const bigIsA = layout.which === "b" ? 1 : 0;
          tasks.push({ kernel: "binaryTableBlocks", args: [bigIsA ? aAt : bAt, bigIsA ? bAt : aAt, bigIsA, layout.period, layout.inner, outAt, tableAt, start, end] });
        }
      }
      wasm.run(tasks);
      if (outResident === undefined) bytesOf(out).set(wasm.u8.subarray(outAt, outAt + n));
    } finally {
      wasm.endCall();
    }
  };
}
