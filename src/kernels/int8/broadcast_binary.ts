/**
 * A binary table kernel (tables.ts) under numpy/ONNX broadcasting, without a per-element index map
 * in the common cases: equal shapes, a scalar operand, and an operand that is constant over a
 * trailing block and repeats (a per-channel [C, 1, 1] scale against [N, C, H, W], or a bias [N]
 * against [M, N]). Anything else uses index maps (kernels/reference/broadcast.ts).
 */
import { broadcastIndices, broadcastShapes } from "../reference/broadcast.js";
import type { Int8Data } from "../reference/common.js";
import { sizeOf } from "../../tensor/tensor.js";
import { bytesOf } from "./tables.js";

type Layout =
  | { kind: "same" }
  | { kind: "scalar"; which: "a" | "b" }
  /** The small operand's element for output i is floor(i / inner) mod period. */
  | { kind: "blocks"; which: "a" | "b"; period: number; inner: number }
  | { kind: "maps"; a: Int32Array; b: Int32Array };

export interface BinaryBroadcast {
  outDims: number[];
  layout: Layout;
}

/**
 * When `small` broadcast to `out` is a contiguous run of dims (1s elsewhere), the element index is
 * floor(i / inner) mod period with period = product of that run and inner = product after it.
 */
function blockLayout(small: readonly number[], out: readonly number[]): { period: number; inner: number } | undefined {
  const rank = out.length;
  const padded = [...new Array<number>(rank - small.length).fill(1), ...small];
  let first = -1;
  let last = -1;
  for (let k = 0; k < rank; k++) {
    if (padded[k] !== 1) {
      if (padded[k] !== out[k]) return undefined;
      if (first < 0) first = k;
      last = k;
    }
  }
  if (first < 0) return { period: 1, inner: 1 };
  for (let k = first; k <= last; k++) if (padded[k] !== out[k]) return undefined; // a 1 inside the run
  return { period: sizeOf(out.slice(first, last + 1)), inner: sizeOf(out.slice(last + 1)) };
}

export function planBinaryBroadcast(aDims: readonly number[], bDims: readonly number[], what: string): BinaryBroadcast {
  const outDims = broadcastShapes(aDims, bDims, what);
  const n = sizeOf(outDims);
  const aSame = sizeOf(aDims) === n;
  const bSame = sizeOf(bDims) === n;
  if (aSame && bSame) return { outDims, layout: { kind: "same" } };
  if (sizeOf(aDims) === 1 && bSame) return { outDims, layout: { kind: "scalar", which: "a" } };
  if (sizeOf(bDims) === 1 && aSame) return { outDims, layout: { kind: "scalar", which: "b" } };
  if (aSame || bSame) {
    const which = aSame ? "b" : "a";
    const block = blockLayout(which === "a" ? aDims : bDims, outDims);
    if (block) return { outDims, layout: { kind: "blocks", which, ...block } };
  }
  return { outDims, layout: { kind: "maps", a: broadcastIndices(aDims, outDims), b: broadcastIndices(bDims, outDims) } };
}

/** out[i] = table[a[ia(i)] << 8 | b[ib(i)]] under the plan's broadcasting. */
export function applyBroadcastBinaryTable(table: Uint8Array, plan: BinaryBroadcast, a: Int8Data, b: Int8Data, out: Int8Data): void {
  const x = bytesOf(a);
  const y = bytesOf(b);
  const dst = bytesOf(out);
  const n = dst.length;
  const layout = plan.layout;
  switch (layout.kind) {
    case "same":
      for (let i = 0; i < n; i++) dst[i] = table[(x[i]! << 8) | y[i]!]!;
      return;
    case "scalar":
      if (layout.which === "a") {
        const row = x[0]! << 8;
        for (let i = 0; i < n; i++) dst[i] = table[row | y[i]!]!;
      } else {
        const col = y[0]!;
        for (let i = 0; i < n; i++) dst[i] = table[(x[i]! << 8) | col]!;
      }
      return;
    case "blocks": {
      const { period, inner } = layout;
      let i = 0;
      while (i < n) {
        for (let p = 0; p < period && i < n; p++) {
          const end = i + inner;
          if (layout.which === "a") {
            const row = x[p]! << 8;
            for (; i < end; i++) dst[i] = table[row | y[i]!]!;
          } else {
            const col = y[p]!;
            for (; i < end; i++) dst[i] = table[(x[i]! << 8) | col]!;
          }
        }
      }
      return;
    }
    case "maps": {
      const ma = layout.a;
      const mb = layout.b;
      for (let i = 0; i < n; i++) dst[i] = table[(x[ma[i]!]! << 8) | y[mb[i]!]!]!;
      return;
    }
  }
}
