/**
 * A binary table kernel (kernels/int8/tables.ts) where one operand is a per-column vector: a [W]
 * bias or LayerNorm's γ and β against [N, C, W] — the "blocks" layout of
 * kernels/int8/broadcast_binary.ts with inner = 1. Each repetition of the W columns is one pass
 * with the small operand's index equal to the column, so no element needs a division or a
 * modulo to find its column. Same bytes as applyBroadcastBinaryTable.
 */
import type { Int8Data } from "../reference/common.js";
import { bytesOf } from "./tables.js";

/**
 * out[i] = table[a[i] << 8 | b[i mod period]] (columnIsB) or table[b[i mod period] << 8 | a[i]]
 * (the column vector is the table's first operand), where `big` has out.length elements.
 */
export function applyColumnsBinaryTable(table: Uint8Array, big: Int8Data, column: Int8Data, columnIsB: boolean, out: Int8Data): void {
  const x = bytesOf(big);
  const c = bytesOf(column);
  const dst = bytesOf(out);
  const n = dst.length;
  const period = c.length;
  if (period === 0 || n === 0) return;
  if (columnIsB) {
    for (let o = 0; o < n; o += period) {
      for (let j = 0; j < period; j++) dst[o + j] = table[(x[o + j]! << 8) | c[j]!]!;
    }
  } else {
    for (let o = 0; o < n; o += period) {
      for (let j = 0; j < period; j++) dst[o + j] = table[(c[j]! << 8) | x[o + j]!]!;
    }
  }
}
