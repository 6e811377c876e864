/**
 * LayerNorm as one step, row by row over the last axis, reading the 8-bit input and writing the
 * 8-bit output (or float32 at either end when the model has float there).
 *
 * Two forms:
 *
 * - The ONNX LayerNormalization op (opset 17): y = (x − mean)/√(var + ε)·γ + β over the trailing
 *   axes from `axis`, computed in double per row and rounded to float32 once per output.
 *
 * - The decomposed form that exporters write (PP-OCRv4's SVTR neck):
 *
 *       mean = ReduceMean(x)   d = x − mean   var = ReduceMean(d^2)
 *       y = d / √(var + ε) · γ + β
 *
 *   with QuantizeLinear → DequantizeLinear pairs on some of the edges (octet's quantizer puts
 *   them after the mean, d, the variance, var + ε, d/√…, ·γ and +β). The step computes exactly
 *   what the unfused steps compute, edge for edge: each Q/DQ pair is the same rounding (a
 *   "Rounding" below: QuantizeLinear's float32 division with ties to even, then
 *   DequantizeLinear's float32 product), the float ops are the float steps' arithmetic (double
 *   row sums in index order, one rounding to float32 per result), and where the unfused engine
 *   runs an integer table (x − mean as a quantized Sub, ·γ and +β as quantized Mul/Add) the
 *   step looks up the same table. So fused and unfused programs give the same bytes.
 *
 *   Once d/√… is quantized, everything after it is a function of that byte and the column:
 *   the ·γ and +β stages are then one precomputed table per column (W × 256 bytes).
 */
import { roundHalfToEven } from "../../quant/rounding.js";
import type { Int8DType } from "../../kernels/reference/common.js";
import { bytesOf } from "../../kernels/int8/tables.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { Int8Backend } from "../backend.js";

const f = Math.fround;

/** A QuantizeLinear (per-tensor, 8-bit) followed by the DequantizeLinear that reads it. */
export interface Rounding {
  /** QuantizeLinear's scale (float32) and zero point, and the range of its dtype. */
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
  /** DequantizeLinear's value for each raw byte (its own params: a scale fold may differ from Q's). */
  dequant: Float32Array;
}

/** A QuantizeLinear writing the step's output. */
export interface OutputQuantization {
  dtype: Int8DType;
  scale: number;
  zeroPoint: number;
  qmin: number;
  qmax: number;
}

/** The byte of QuantizeLinear(x): quant/quantize.ts quantizeValue's arithmetic, as a raw byte. */
export function quantizeByte(x: number, q: { scale: number; zeroPoint: number; qmin: number; qmax: number }): number {
  if (x !== x) throw new Error("cannot quantize NaN");
  const v = roundHalfToEven(f(x / q.scale)) + q.zeroPoint;
  return (v < q.qmin ? q.qmin : v > q.qmax ? q.qmax : v) & 0xff;
}

function round(x: number, r: Rounding | undefined): number {
  return r ? r.dequant[quantizeByte(x, r)]! : x;
}

/** γ or β: a Mul/Add with a constant of the row's width (or one value), in float or as the integer table. */
export interface AffineStage {
  op: "Mul" | "Add";
  /** Float constant, length W or 1. */
  constant: Float32Array;
  /** The constant is the op's first operand (order matters to the integer tables' indexing). */
  constantFirst: boolean;
  /** The integer step's table and the constant's raw bytes (length W or 1), when the unfused engine runs one. */
  table?: { table: Uint8Array; bytes: Uint8Array };
  /** The Q/DQ after this stage, unless it is the last (whose QuantizeLinear is the output). */
  rounding?: Rounding;
}

export interface DecomposedLayerNormPlan {
  /** int8/uint8 input with DequantizeLinear's value per raw byte, or a float32 input. */
  input: { dtype: Int8DType; dequant: Float32Array } | "float32";
  mean?: Rounding;
  /** x − mean as the integer Sub table (int8 input, both mean and difference rounded), else in float. */
  subtractTable?: Uint8Array;
  difference?: Rounding;
  /** d·d as Mul(d, d)'s integer table, else d^exponent in float. */
  square: { exponent: number } | { table: Uint8Array };
  squareRounding?: Rounding;
  variance?: Rounding;
  epsilon: number;
  shifted?: Rounding;
  root?: Rounding;
  normalized?: Rounding;
  affine: AffineStage[];
  /** The QuantizeLinear after the last stage: the step's output. */
  output: OutputQuantization;
}

/** The affine tail from the normalized value (its byte when rounded, else its float), for column k. */
function affineTail(plan: DecomposedLayerNormPlan, k: number, value: number, byte: number): number {
  let v = value;
  let b = byte;
  const last = plan.affine.length - 1;
  for (let i = 0; i <= last; i++) {
    const stage = plan.affine[i]!;
    const at = stage.constant.length === 1 ? 0 : k;
    if (stage.table) {
      const cb = stage.table.bytes[at]!;
      b = stage.table.table[stage.constantFirst ? (cb << 8) | b : (b << 8) | cb]!;
      if (i === last) return b;
      v = stage.rounding!.dequant[b]!;
      continue;
    }
    const c = stage.constant[at]!;
    v = stage.op === "Mul" ? f(v * c) : f(stage.constantFirst ? c + v : v + c);
    if (stage.rounding) {
      b = quantizeByte(v, stage.rounding);
      v = stage.rounding.dequant[b]!;
    }
  }
  return quantizeByte(v, plan.output);
}

/**
 * The per-column tail tables: entry k·256 + byte is the output byte for normalized byte `byte` in
 * column k. Only when the normalized value is rounded (its byte decides everything after it) and
 * the output is quantized.
 */
export function tailTables(plan: DecomposedLayerNormPlan, width: number): Uint8Array | undefined {
  const r = plan.normalized;
  if (!r || plan.affine.length === 0) return undefined;
  const tail = new Uint8Array(width * 256);
  for (let k = 0; k < width; k++) {
    for (let q = r.qmin; q <= r.qmax; q++) {
      const b = q & 0xff;
      tail[k * 256 + b] = affineTail(plan, k, r.dequant[b]!, b);
    }
  }
  return tail;
}

export interface LayerNormKernel {
  (x: Tensor): Tensor;
}

/** Scratch rows, grown to the widest row seen. */
function scratch() {
  let d = new Float32Array(0);
  let x = new Float32Array(0);
  let q = new Uint8Array(0);
  return (width: number) => {
    if (d.length < width) {
      d = new Float32Array(width);
      x = new Float32Array(width);
      q = new Uint8Array(width);
    }
    return { d, x, q };
  };
}

function widthOf(x: Tensor, what: string): number {
  if (x.dims.length === 0) throw new Error(`${what}: the input must have rank ≥ 1`);
  return x.dims[x.dims.length - 1]!;
}

/** Output tensor: 8-bit in the backend's memory, or float32. */
function newOutput(plan: { output: OutputQuantization | "float32" }, dims: readonly number[], backend: Pick<Int8Backend, "newTensor">): Tensor {
  if (plan.output === "float32") return { dtype: "float32", dims: [...dims], data: new Float32Array(dims.reduce((a, b) => a * b, 1)) };
  return backend.newTensor(plan.output.dtype, dims);
}

export function decomposedLayerNorm(plan: DecomposedLayerNormPlan, backend: Pick<Int8Backend, "newTensor">, expectedWidth?: number): LayerNormKernel {
  if (plan.affine.length === 0 && plan.normalized) throw new Error("LayerNorm plan: without γ/β the normalized value's QuantizeLinear is the output");
  if (plan.subtractTable && (plan.input === "float32" || !plan.mean || !plan.difference)) throw new Error("LayerNorm plan: the Sub table needs an 8-bit input and a quantized mean and difference");
  if ("table" in plan.square && (!plan.squareRounding || !plan.difference)) throw new Error("LayerNorm plan: the square's table needs its input and output quantized");
  const rows = scratch();
  const tails = new Map<number, Uint8Array | undefined>();
  const stamp = new Float64Array(256);
  const normalizedOf = new Uint8Array(256);
  let rowNumber = 0;
  const square = plan.square;
  return (x) => {
    const width = widthOf(x, "LayerNorm");
    if (expectedWidth !== undefined && width !== expectedWidth) {
      throw new Error(`LayerNorm: the last axis has ${width} values, expected ${expectedWidth}`);
    }
    for (const stage of plan.affine) {
      if (stage.constant.length !== 1 && stage.constant.length !== width) {
        throw new Error(`LayerNorm: the last axis has ${width} values but γ/β have ${stage.constant.length}`);
      }
    }
    if (plan.input === "float32" ? x.dtype !== "float32" : x.dtype !== plan.input.dtype) {
      throw new Error(`LayerNorm: input is ${x.dtype}, expected ${plan.input === "float32" ? "float32" : plan.input.dtype}`);
    }
    if (!tails.has(width)) tails.set(width, tailTables(plan, width));
    const tail = tails.get(width);
    const y = newOutput(plan, x.dims, backend);
    if (width === 0) return y;
    const { d, x: xs, q: qd } = rows(width);
    const bytesIn = plan.input === "float32" ? undefined : bytesOf(x.data as Int8Array | Uint8Array);
    const floatsIn = plan.input === "float32" ? (x.data as Float32Array) : undefined;
    const bytesOut = bytesOf(y.data as Int8Array | Uint8Array);
    const dqX = plan.input === "float32" ? undefined : plan.input.dequant;
    const n = x.data.length;
    for (let o = 0; o < n; o += width) {
      // x and its mean (double sum in index order, as ReduceMean's step).
      let sum = 0;
      if (bytesIn) for (let k = 0; k < width; k++) { const v = dqX![bytesIn[o + k]!]!; xs[k] = v; sum += v; }
      else for (let k = 0; k < width; k++) { const v = floatsIn![o + k]!; xs[k] = v; sum += v; }
      let mean = f(sum / width);
      // d = x − mean.
      if (plan.subtractTable) {
        const meanByte = quantizeByte(mean, plan.mean!);
        const dq = plan.difference!.dequant;
        const table = plan.subtractTable;
        for (let k = 0; k < width; k++) { const b = table[(bytesIn![o + k]! << 8) | meanByte]!; qd[k] = b; d[k] = dq[b]!; }
      } else {
        mean = round(mean, plan.mean);
        const r = plan.difference;
        for (let k = 0; k < width; k++) {
          const v = f(xs[k]! - mean);
          if (r) { const b = quantizeByte(v, r); qd[k] = b; d[k] = r.dequant[b]!; } else d[k] = v;
        }
      }
      // var = mean of the squares.
      let squares = 0;
      if ("table" in square) {
        const dq = plan.squareRounding!.dequant;
        for (let k = 0; k < width; k++) { const b = qd[k]!; squares += dq[square.table[(b << 8) | b]!]!; }
      } else {
        const e = square.exponent;
        const r = plan.squareRounding;
        for (let k = 0; k < width; k++) {
          const v = d[k]!;
          const p = e === 2 ? f(v * v) : f(v ** e);
          squares += r ? round(p, r) : p;
        }
      }
      const variance = round(f(squares / width), plan.variance);
      const root = round(f(Math.sqrt(round(f(variance + plan.epsilon), plan.shifted))), plan.root);
      // d / √(var + ε), then γ and β.
      const r = plan.normalized;
      if (tail && plan.difference) {
        // d is one of ≤ 256 values (its byte qd), so the normalized byte is a function of qd in
        // this row: computed on first use (the row stamp says which entries are current).
        const row = ++rowNumber;
        for (let k = 0; k < width; k++) {
          const b = qd[k]!;
          if (stamp[b] !== row) { stamp[b] = row; normalizedOf[b] = quantizeByte(f(d[k]! / root), r!); }
          bytesOut[o + k] = tail[k * 256 + normalizedOf[b]!]!;
        }
      } else if (tail) {
        for (let k = 0; k < width; k++) bytesOut[o + k] = tail[k * 256 + quantizeByte(f(d[k]! / root), r!)]!;
      } else if (plan.affine.length === 0) {
        for (let k = 0; k < width; k++) bytesOut[o + k] = quantizeByte(f(d[k]! / root), plan.output);
      } else {
        for (let k = 0; k < width; k++) {
          const v = f(d[k]! / root);
          const b = r ? quantizeByte(v, r) : -1;
          bytesOut[o + k] = affineTail(plan, k, r ? r.dequant[b]! : v, b);
        }
      }
    }
    return y;
  };
}

/** The ONNX LayerNormalization op: normalized over the trailing `width` values, γ and β of that length (or 1). */
export interface LayerNormalizationPlan {
  input: { dtype: Int8DType; dequant: Float32Array } | "float32";
  /** First normalized axis (negative counts from the end). */
  axis: number;
  epsilon: number;
  scale: Float32Array;
  bias?: Float32Array;
  output: OutputQuantization | "float32";
}

export function layerNormalization(plan: LayerNormalizationPlan, backend: Pick<Int8Backend, "newTensor">): LayerNormKernel {
  const run = layerNormalizationRun(plan, backend);
  return (x) => run(x)[0];
}

/**
 * LayerNormalization with its optional outputs Mean and InvStdDev (float32, the input's dims with
 * the normalized axes set to 1), for graphs that read them.
 */
export function layerNormalizationWithStatistics(plan: LayerNormalizationPlan, backend: Pick<Int8Backend, "newTensor">): (x: Tensor) => [Tensor, Tensor, Tensor] {
  const run = layerNormalizationRun(plan, backend);
  return (x) => {
    const rank = x.dims.length;
    const axis = plan.axis < 0 ? plan.axis + rank : plan.axis;
    const dims = x.dims.map((d, k) => (k < axis ? d : 1));
    const rows = dims.reduce((a, b) => a * b, 1);
    const mean: Tensor = { dtype: "float32", dims, data: new Float32Array(rows) };
    const invStdDev: Tensor = { dtype: "float32", dims, data: new Float32Array(rows) };
    const [y] = run(x, mean.data as Float32Array, invStdDev.data as Float32Array);
    return [y, mean, invStdDev];
  };
}

function layerNormalizationRun(plan: LayerNormalizationPlan, backend: Pick<Int8Backend, "newTensor">) {
  let xs = new Float64Array(0);
  return (x: Tensor, means?: Float32Array, inverses?: Float32Array): [Tensor] => {
    const rank = x.dims.length;
    const axis = plan.axis < 0 ? plan.axis + rank : plan.axis;
    if (axis < 0 || axis >= rank) throw new Error(`LayerNormalization: axis ${plan.axis} is out of range for rank ${rank}`);
    let width = 1;
    for (let k = axis; k < rank; k++) width *= x.dims[k]!;
    const check = (t: Float32Array, what: string) => {
      if (t.length !== 1 && t.length !== width) throw new Error(`LayerNormalization: ${what} has ${t.length} values, the normalized block ${width}`);
    };
    check(plan.scale, "scale");
    if (plan.bias) check(plan.bias, "bias");
    if (plan.input === "float32" ? x.dtype !== "float32" : x.dtype !== plan.input.dtype) {
      throw new Error(`LayerNormalization: input is ${x.dtype}, expected ${plan.input === "float32" ? "float32" : plan.input.dtype}`);
    }
    const y = newOutput(plan, x.dims, backend);
    if (width === 0) return [y];
    if (xs.length < width) xs = new Float64Array(width);
    const bytesIn = plan.input === "float32" ? undefined : bytesOf(x.data as Int8Array | Uint8Array);
    const floatsIn = plan.input === "float32" ? (x.data as Float32Array) : undefined;
    const dqX = plan.input === "float32" ? undefined : plan.input.dequant;
    const bytesOut = plan.output === "float32" ? undefined : bytesOf(y.data as Int8Array | Uint8Array);
    const floatsOut = plan.output === "float32" ? (y.data as Float32Array) : undefined;
    const { scale, bias } = plan;
    for (let o = 0; o < x.data.length; o += width) {
      let sum = 0;
      for (let k = 0; k < width; k++) { const v = bytesIn ? dqX![bytesIn[o + k]!]! : floatsIn![o + k]!; xs[k] = v; sum += v; }
      const mean = sum / width;
      let squares = 0;
      for (let k = 0; k < width; k++) { const c = xs[k]! - mean; squares += c * c; }
      const inverse = 1 / Math.sqrt(squares / width + plan.epsilon);
      if (means) means[o / width] = mean;
      if (inverses) inverses[o / width] = inverse;
      for (let k = 0; k < width; k++) {
        // One rounding to float32: the op's output, which a QuantizeLinear then reads.
        const v = f((xs[k]! - mean) * inverse * scale[scale.length === 1 ? 0 : k]! + (bias ? bias[bias.length === 1 ? 0 : k]! : 0));
        if (bytesOut) bytesOut[o + k] = quantizeByte(v, plan.output as OutputQuantization);
        else floatsOut![o + k] = v;
      }
    }
    return [y];
  };
}
