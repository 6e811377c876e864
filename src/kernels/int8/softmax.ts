/**
 * The reference integer Softmax (kernels/reference/softmax.ts), bit for bit, with no division per
 * element, and optionally fused with its neighbours in the graph.
 *
 * In the reference, within a row every output is a function of d = q_max − q ∈ [0, 255] alone:
 *
 *   y = min(qmax, z + round(256·E[d] / S)),   S = Σ_j E[q_max − q_j]   (round to nearest, ties up)
 *
 * Long rows (the recogniser's 6625 classes): one pass counts how often each byte value occurs
 * (four interleaved counts, so that consecutive increments do not wait on each other); q_max is
 * the highest value counted and S = Σ_v count[v]·E[q_max − v] over the ≤ 256 values (exact: every
 * term is an integer below 2^45, the sum below 2^53); the quotient of each value present is
 * computed once; a second pass looks the outputs up.
 * Short rows (attention over 40 positions): a pass for the max, one for S, and the quotients
 * computed on first use within the row (a row stamp says which are current), so that no 256-entry
 * table is cleared or scanned per row.
 *
 * Fusions (compile/fuse_softmax.ts), all exact: an output table (a requantization to the model's
 * output params, or a byte table after the Softmax) and a DequantizeLinear after it are applied to
 * the ≤ 257 possible outputs, not per element; a per-column bias table before it is applied into
 * a row buffer as each row is read.
 *
 * Values are read through their raw bytes: for int8, byte ^ 0x80 orders them like the values.
 */
import { normalizeAxis } from "../../quant/axis.js";
import { type Int8Tensor, type SoftmaxPlan, SOFTMAX_MAX_ROW, int8Data, softmax } from "../reference/index.js";
import { bytesOf } from "./tables.js";
import type { Tensor } from "../../tensor/tensor.js";

/**
 * numerator / divisor to the nearest integer, ties up, exactly (0 ≤ numerator < 2^31,
 * 0 < divisor < 2^46), given reciprocal ≈ 1/divisor: the product's floor is within one of the
 * true quotient, and the integer remainder (exact in a double) corrects it.
 */
function roundedQuotient(numerator: number, divisor: number, reciprocal: number): number {
  let q = Math.floor(numerator * reciprocal);
  let remainder = numerator - q * divisor;
  if (remainder < 0) { q -= 1; remainder += divisor; }
  else if (remainder >= divisor) { q += 1; remainder -= divisor; }
  return remainder >= divisor - remainder ? q + 1 : q;
}

/** Rows at least this long are counted (histogram) rather than scanned three times. */
const HISTOGRAM_MIN_ROW = 512;

export interface Int8SoftmaxKernel {
  (x: Tensor): Tensor;
  /** Apply `table` (raw byte → raw byte, giving `dtype`) to every output from now on; tables compose. */
  fuseOutputTable(table: Uint8Array, dtype: "int8" | "uint8"): void;
}

/** Adds the row's ordered byte values (byte ^ flip) to four interleaved 256-bin counts (independent increments). */
function countRow(src: Uint8Array, start: number, end: number, flip: number, counts: Int32Array): void {
  let k = start;
  for (; k + 4 <= end; k += 4) {
    counts[src[k]! ^ flip]!++;
    counts[256 + (src[k + 1]! ^ flip)]!++;
    counts[512 + (src[k + 2]! ^ flip)]!++;
    counts[768 + (src[k + 3]! ^ flip)]!++;
  }
  for (; k < end; k++) counts[src[k]! ^ flip]!++;
}

/** A per-column binary table feeding the Softmax (a bias Add): v[k] = table[x[k] << 8 | column[k]] (or column first). */
export interface SoftmaxInputColumns {
  table: Uint8Array;
  column: Uint8Array;
  columnIsB: boolean;
}

export interface SoftmaxFusion {
  /** A bias Add (or Sub, Mul) with a per-column constant before the Softmax, applied row by row. */
  inputColumns?: SoftmaxInputColumns;
  /** A DequantizeLinear after the Softmax: its value for each raw output byte (the output is then float32). */
  dequantize?: Float32Array;
}

/**
 * The integer Softmax of the reference, optionally with the byte table step before it (a per-column
 * bias) and the DequantizeLinear after it fused in: the bias is applied into a row buffer as the
 * row is counted, and the output is written as floats. Same values as the steps it replaces.
 */
export function histogramSoftmax(
  plan: SoftmaxPlan,
  newTensor: (dtype: "int8" | "uint8", dims: readonly number[]) => Int8Tensor,
  fusion: SoftmaxFusion = {},
): Int8SoftmaxKernel {
  const flip = plan.inputDType === "int8" ? 0x80 : 0;
  const e = plan.expTable;
  const counts = new Int32Array(1024);
  /** The output (byte, or float with a DequantizeLinear) of each byte value present in the current row. */
  const byteOf = new Uint8Array(256);
  const floatOf = new Float32Array(256);
  const stamp = new Int32Array(256).fill(-1);
  let rowNumber = 0;
  let rowBuffer = new Uint8Array(0);
  // Output byte (through the fused output table) and, with a DequantizeLinear, its float, per quotient.
  let outputs = new Uint8Array(257);
  const floats = new Float32Array(257);
  let outDType: "int8" | "uint8" = plan.outputDType;
  let outTable: Uint8Array | undefined;
  const fillOutputs = () => {
    for (let p = 0; p <= 256; p++) {
      const y = Math.min(plan.outputMax, plan.outputZeroPoint + p) & 0xff;
      outputs[p] = outTable ? outTable[y]! : y;
      if (fusion.dequantize) floats[p] = fusion.dequantize[outputs[p]!]!;
    }
  };
  fillOutputs();
  const columns = fusion.inputColumns;

  /**
   * The output of every byte value present in row [start, end) of src (src ^ flip orders them).
   * `counted`: the row's values are already in `counts` (counted as the bias was applied).
   */
  function rowOutputs(src: Uint8Array, start: number, end: number, counted = false): void {
    if (end - start >= HISTOGRAM_MIN_ROW) {
      if (!counted) {
        counts.fill(0);
        countRow(src, start, end, flip, counts);
      }
      let top = 255;
      while (counts[top]! + counts[256 + top]! + counts[512 + top]! + counts[768 + top]! === 0) top--;
      let sum = 0;
      for (let v = top; v >= 0; v--) {
        const c = counts[v]! + counts[256 + v]! + counts[512 + v]! + counts[768 + v]!;
        if (c > 0) sum += c * e[top - v]!;
      }
      const reciprocal = 1 / sum;
      for (let v = top; v >= 0; v--) {
        if (counts[v]! + counts[256 + v]! + counts[512 + v]! + counts[768 + v]! > 0) {
          const p = roundedQuotient(256 * e[top - v]!, sum, reciprocal);
          byteOf[v ^ flip] = outputs[p]!;
          floatOf[v ^ flip] = floats[p]!;
        }
      }
      return;
    }
    let top = 0;
    for (let k = start; k < end; k++) { const v = src[k]! ^ flip; if (v > top) top = v; }
    let sum = 0;
    for (let k = start; k < end; k++) sum += e[top - (src[k]! ^ flip)]!;
    const reciprocal = 1 / sum;
    const row = rowNumber++;
    for (let k = start; k < end; k++) {
      const b = src[k]!;
      if (stamp[b] !== row) {
        stamp[b] = row;
        const p = roundedQuotient(256 * e[top - (b ^ flip)]!, sum, reciprocal);
        byteOf[b] = outputs[p]!;
        floatOf[b] = floats[p]!;
      }
    }
  }

  const kernel = ((x: Tensor): Tensor => {
    const rank = x.dims.length;
    const axis = rank === 0 ? 0 : normalizeAxis(plan.axis, rank);
    const length = rank === 0 ? 0 : x.dims[axis]!;
    let inner = 1;
    for (let k = axis + 1; k < rank; k++) inner *= x.dims[k]!;
    const plain = !columns && !fusion.dequantize;
    if (x.dtype !== (columns ? x.dtype : plan.inputDType) || rank === 0 || length === 0 || length > SOFTMAX_MAX_ROW || (!plain && inner !== 1)) {
      if (plain) return withTable(softmax(plan, x));
      throw new Error(`fused Softmax: expected ${plan.inputDType} rows along the last axis, got ${x.dtype} [${x.dims.join(", ")}] (axis ${plan.axis})`);
    }
    if (columns && columns.column.length !== length) {
      throw new Error(`fused Softmax: the bias has ${columns.column.length} columns, the rows ${length} values`);
    }
    const src = bytesOf(int8Data(x, "softmax input"));
    const y: Tensor = fusion.dequantize
      ? { dtype: "float32", dims: [...x.dims], data: new Float32Array(src.length) }
      : newTensor(outDType, x.dims);
    const dstBytes = fusion.dequantize ? undefined : bytesOf(y.data as Int8Array | Uint8Array);
    const dstFloats = fusion.dequantize ? (y.data as Float32Array) : undefined;
    if (inner !== 1) {
      // A strided axis (plain Softmax only): gather each row, run it contiguously, scatter it back.
      if (rowBuffer.length < length) rowBuffer = new Uint8Array(length);
      for (let o = 0; o < src.length; o += length * inner) {
        for (let i = 0; i < inner; i++) {
          for (let k = 0; k < length; k++) rowBuffer[k] = src[o + i + k * inner]!;
          rowOutputs(rowBuffer, 0, length);
          for (let k = 0; k < length; k++) dstBytes![o + i + k * inner] = byteOf[rowBuffer[k]!]!;
        }
      }
    } else {
      if (columns && rowBuffer.length < length) rowBuffer = new Uint8Array(length);
      for (let o = 0; o < src.length; o += length) {
        let row = src;
        let start = o;
        if (columns && length >= HISTOGRAM_MIN_ROW) {
          counts.fill(0);
          applyColumns(columns, src, o, length, rowBuffer, flip, counts);
          rowOutputs(rowBuffer, 0, length, true);
          row = rowBuffer;
          start = 0;
        } else {
          if (columns) {
            applyColumns(columns, src, o, length, rowBuffer);
            row = rowBuffer;
            start = 0;
          }
          rowOutputs(row, start, start + length);
        }
        if (dstFloats) for (let k = 0; k < length; k++) dstFloats[o + k] = floatOf[row[start + k]!]!;
        else for (let k = 0; k < length; k++) dstBytes![o + k] = byteOf[row[start + k]!]!;
      }
    }
    stamp.fill(-1); // row numbers restart at the next call
    rowNumber = 0;
    return y;
  }) as Int8SoftmaxKernel;

  function withTable(t: Int8Tensor): Int8Tensor {
    if (!outTable) return t;
    const y = newTensor(outDType, t.dims);
    const s = bytesOf(t.data);
    const d = bytesOf(y.data);
    for (let i = 0; i < s.length; i++) d[i] = outTable[s[i]!]!;
    return y;
  }

  kernel.fuseOutputTable = (table, dtype) => {
    if (fusion.dequantize) throw new Error("a Softmax writing floats takes no output table");
    outTable = outTable ? Uint8Array.from(outTable, (b) => table[b]!) : Uint8Array.from(table);
    outDType = dtype;
    outputs = new Uint8Array(257);
    fillOutputs();
  };
  return kernel;
}

/**
 * row[k] = table[x[o + k] << 8 | column[k]] (or the column as the table's first operand); with
 * `counts`, each value (^ flip) is also counted, into four interleaved 256-bin counts.
 */
function applyColumns(c: SoftmaxInputColumns, x: Uint8Array, o: number, length: number, row: Uint8Array, flip = 0, counts?: Int32Array): void {
  const t = c.table;
  const col = c.column;
  if (counts) {
    if (c.columnIsB) {
      for (let k = 0; k < length; k++) { const v = t[(x[o + k]! << 8) | col[k]!]!; row[k] = v; counts[((k & 3) << 8) | (v ^ flip)]!++; }
    } else {
      for (let k = 0; k < length; k++) { const v = t[(col[k]! << 8) | x[o + k]!]!; row[k] = v; counts[((k & 3) << 8) | (v ^ flip)]!++; }
    }
    return;
  }
  if (c.columnIsB) for (let k = 0; k < length; k++) row[k] = t[(x[o + k]! << 8) | col[k]!]!;
  else for (let k = 0; k < length; k++) row[k] = t[(col[k]! << 8) | x[o + k]!]!;
}
