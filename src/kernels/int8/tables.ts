/**
 * Table kernels: element-wise integer ops whose inputs are 8-bit are functions of at most 16 input
 * bits, so they can be computed once per possible input at prepare time and looked up at run time.
 *
 *   unary  (requantize, Relu/Clip, Sigmoid, HardSwish, any DQ → f → Q chain): a 256-entry table
 *   binary (quantized Add, Sub, Mul of two 8-bit tensors): a 65 536-entry table
 *
 * The tables are filled by calling the reference kernels' own per-value functions (requantizeValue,
 * addValue, mulValue, lookup tables), so a table kernel equals the reference bit for bit by
 * construction, and the run is one load per element: no arithmetic at all.
 *
 * Tables are indexed by the raw byte of each input (q & 0xff), which serves int8 and uint8 alike,
 * and hold the raw byte of the output, so one loop over Uint8Array views handles every dtype pair.
 */
import { qRange } from "../../quant/dtype.js";
import type { Int8Data, Int8DType } from "../reference/common.js";

/** A byte → byte map: output byte for every input byte. */
export type ByteTable = Uint8Array;

/** Table of `f(q)` over every q of `inputDType`, with `f` returning a value of `outputDType`. */
export function unaryByteTable(inputDType: Int8DType, f: (q: number) => number): ByteTable {
  const { qmin, qmax } = qRange(inputDType);
  const table = new Uint8Array(256);
  for (let q = qmin; q <= qmax; q++) table[q & 0xff] = f(q) & 0xff;
  return table;
}

/** 65 536-entry table of f(qa, qb), indexed by (byte(qa) << 8) | byte(qb). */
export function binaryByteTable(aDType: Int8DType, bDType: Int8DType, f: (qa: number, qb: number) => number): Uint8Array {
  const a = qRange(aDType);
  const b = qRange(bDType);
  const table = new Uint8Array(65536);
  for (let qa = a.qmin; qa <= a.qmax; qa++) {
    const row = (qa & 0xff) << 8;
    for (let qb = b.qmin; qb <= b.qmax; qb++) table[row | (qb & 0xff)] = f(qa, qb) & 0xff;
  }
  return table;
}

export function bytesOf(data: Int8Data): Uint8Array {
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
}

export function newInt8Data(dtype: Int8DType, length: number): Int8Data {
  return dtype === "int8" ? new Int8Array(length) : new Uint8Array(length);
}

/** out[i] = table[x[i]] on raw bytes. */
export function applyUnaryTable(table: ByteTable, x: Int8Data, out: Int8Data): void {
  const src = bytesOf(x);
  const dst = bytesOf(out);
  const n = src.length;
  for (let i = 0; i < n; i++) dst[i] = table[src[i]!]!;
}
