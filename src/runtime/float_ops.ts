/**
 * Steps for the nodes the compiler does not turn into integer kernels: the float ops of the model
 * (run between a DequantizeLinear and a QuantizeLinear, e.g. LayerNorm's ReduceMean/Pow/Sqrt/Div),
 * shape arithmetic on int64, QuantizeLinear / DequantizeLinear where float values enter or leave
 * the integer part (also with parameters computed at run time), DynamicQuantizeLinear, and the
 * ONNX integer-accumulator ops ConvInteger and MatMulInteger.
 *
 * Float32 element-wise ops, reductions over contiguous axes and unary activations run as tight
 * loops (float/elementwise.ts, float/reduce.ts) with the arithmetic of the graph's constant
 * evaluators (graph/eval, with ONNX Runtime's float32 rounding), which take everything else
 * (shape arithmetic on int64, other dtypes, rarer ops). The ops constant folding never meets
 * (Conv, MatMul, Gemm, Softmax, pooling) are written here, correct and plain: a model whose float
 * part is heavy belongs to onnxruntime.
 */
import type { Node } from "../graph/ir.js";
import { attr, floatAttr, intAttr, intsAttr } from "../graph/ir.js";
import { canEvaluate, evaluateNode } from "../graph/eval/index.js";
import { reducedAxes } from "../graph/eval/reduce.js";
import { numbersOf } from "../graph/constants.js";
import { softmaxAxis } from "../graph/op_arguments.js";
import { conv2dGeometry } from "../kernels/float/geometry.js";
import { conv2dForwardReference } from "../kernels/float/reference.js";
import {
  conv2d, convInteger, matMul, matMulInteger, matMulLayout, newInt32Tensor, prepareConv2d, prepareMatMul,
} from "../kernels/reference/index.js";
import type { QuantDType } from "../quant/dtype.js";
import type { QParams } from "../quant/qparams.js";
import { dequantizeTensor, quantizeTensor } from "../quant/quantize.js";
import { dequantizePerTensor, quantizePerTensor } from "../kernels/int8/quantize.js";
import { roundHalfToEven } from "../quant/rounding.js";
import { type Tensor, numberAt, sizeOf, toFloat32, toNumbers } from "../tensor/tensor.js";
import { unaryView } from "./compile/unary_functions.js";
import { samePads } from "./ops/conv.js";
import type { Step, StepKind } from "./program.js";
import type { Int8Backend } from "./backend.js";
import { type FloatBinaryOp, floatBinaryKernel, isFloatBinaryOp } from "./float/elementwise.js";
import { type FloatReduceOp, isFloatReduceOp, reduceBlock, reduceFloat } from "./float/reduce.js";

type Run = (inputs: (Tensor | undefined)[]) => Tensor[];

function requireTensor(inputs: (Tensor | undefined)[], i: number, what: string): Tensor {
  const t = inputs[i];
  if (!t) throw new Error(`input ${i} (${what}) is missing`);
  return t;
}

function float32(dims: readonly number[], data: Float32Array): Tensor {
  return { dtype: "float32", dims: [...dims], data };
}

/** QParams from runtime scale / zero-point tensors (per-tensor or per-axis). */
function runtimeQParams(node: Node, scale: Tensor, zeroPoint: Tensor | undefined, dtype: QuantDType, rank: number): QParams {
  const s = Float32Array.from(toFloat32(scale));
  const z = zeroPoint ? Int32Array.from(toNumbers(zeroPoint)) : new Int32Array(s.length);
  const qp: QParams = { dtype, scale: s, zeroPoint: z };
  if (scale.dims.length === 1) {
    const axis = intAttr(node, "axis", 1);
    qp.axis = axis < 0 ? axis + rank : axis;
    if (s.length === 1) delete qp.axis;
  }
  return qp;
}

const QUANT_DTYPES: readonly string[] = ["int8", "uint8", "int16", "uint16", "int4", "uint4"];

function quantizeLinear(node: Node, backend: Int8Backend | undefined): Run {
  const quantizeFast = backend?.quantizePerTensor ?? quantizePerTensor;
  const code = attr(node, "output_dtype", "int");
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const zp = inputs[2];
    const dtype = (zp?.dtype ?? (code === 3 ? "int8" : "uint8")) as QuantDType;
    if (!QUANT_DTYPES.includes(dtype)) throw new Error(`QuantizeLinear to ${dtype} is not supported`);
    const scale = requireTensor(inputs, 1, "scale");
    if (x.dtype === "float32" && scale.data.length === 1 && (dtype === "int8" || dtype === "uint8")) {
      const s = Math.fround(numberAt(scale));
      if (!(s > 0) || !Number.isFinite(s)) throw new Error(`QuantizeLinear scale must be finite and > 0, got ${s}`);
      const z = zp ? numberAt(zp) : 0;
      return [{ dtype, dims: [...x.dims], data: quantizeFast(x.data as Float32Array, s, z, dtype) }];
    }
    return [quantizeTensor(x, runtimeQParams(node, scale, zp, dtype, x.dims.length))];
  };
}

function dequantizeLinear(node: Node): Run {
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const scale = requireTensor(inputs, 1, "scale");
    const zp = inputs[2];
    if (x.dtype === "int32") {
      // int32 (biases): QParams cover 8/16/4-bit types only, so this one is written out.
      const qp = runtimeQParams(node, scale, zp, "int8", x.dims.length);
      const values = x.data as Int32Array;
      const out = new Float32Array(values.length);
      const inner = qp.axis === undefined ? values.length : sizeOf(x.dims.slice(qp.axis + 1));
      const channels = qp.scale.length;
      for (let i = 0; i < values.length; i++) {
        const c = channels === 1 ? 0 : Math.floor(i / inner) % channels;
        out[i] = Math.fround((values[i]! - qp.zeroPoint[c]!) * qp.scale[c]!);
      }
      return [float32(x.dims, out)];
    }
    if (!QUANT_DTYPES.includes(x.dtype)) throw new Error(`DequantizeLinear of ${x.dtype} is not supported`);
    if ((x.dtype === "int8" || x.dtype === "uint8") && scale.data.length === 1) {
      const s = Math.fround(numberAt(scale));
      const z = zp ? numberAt(zp) : 0;
      return [float32(x.dims, dequantizePerTensor(x.data as Int8Array | Uint8Array, s, z))];
    }
    return [dequantizeTensor(x, runtimeQParams(node, scale, zp, x.dtype as QuantDType, x.dims.length))];
  };
}

/** ONNX DynamicQuantizeLinear: uint8, range widened to include 0, scale = range/255, ties to even. */
function dynamicQuantizeLinear(): Run {
  return (inputs) => {
    const x = toFloat32(requireTensor(inputs, 0, "x"));
    let min = 0;
    let max = 0;
    for (const v of x) { if (v < min) min = v; if (v > max) max = v; }
    const scale = Math.fround((max - min) / 255);
    const zero = scale === 0 ? 0 : Math.min(255, Math.max(0, roundHalfToEven(Math.fround(-min / scale))));
    const y = new Uint8Array(x.length);
    if (scale !== 0) {
      for (let i = 0; i < x.length; i++) y[i] = Math.min(255, Math.max(0, roundHalfToEven(Math.fround(x[i]! / scale)) + zero));
    } else y.fill(zero);
    const dims = requireTensor(inputs, 0, "x").dims;
    return [
      { dtype: "uint8", dims: [...dims], data: y },
      float32([], Float32Array.of(scale)),
      { dtype: "uint8", dims: [], data: Uint8Array.of(zero) },
    ];
  };
}

function zeroPoints(t: Tensor | undefined): number[] {
  return t ? toNumbers(t) : [0];
}

function matMulIntegerRun(): Run {
  return (inputs) => [matMulInteger(requireTensor(inputs, 0, "A"), requireTensor(inputs, 1, "B"), zeroPoints(inputs[2]), zeroPoints(inputs[3]))];
}

function convIntegerRun(node: Node): Run {
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const w = requireTensor(inputs, 1, "w");
    if (x.dims.length !== 4) throw new Error(`ConvInteger on rank ${x.dims.length} inputs is not supported (only 2-D)`);
    const autoPad = attr(node, "auto_pad", "string") ?? "NOTSET";
    if (autoPad !== "NOTSET" && autoPad !== "VALID") throw new Error(`ConvInteger auto_pad ${autoPad} is not supported`);
    return [convInteger(x, w, zeroPoints(inputs[2])[0], zeroPoints(inputs[3]), {
      strides: intsAttr(node, "strides", [1, 1]), dilations: intsAttr(node, "dilations", [1, 1]),
      pads: autoPad === "VALID" ? [0, 0, 0, 0] : intsAttr(node, "pads", [0, 0, 0, 0]), group: intAttr(node, "group", 1),
    })];
  };
}

/** 8-bit QParams from runtime QOperator inputs; `axis` for a 1-D (per-channel) scale. */
function operatorQParams(scale: Tensor, zeroPoint: Tensor | undefined, dtype: string, axis: number): QParams {
  if (dtype !== "int8" && dtype !== "uint8") throw new Error(`expected int8/uint8 data, got ${dtype}`);
  const s = Float32Array.from(toFloat32(scale));
  const z = zeroPoint ? Int32Array.from(toNumbers(zeroPoint)) : new Int32Array(s.length);
  return { dtype, scale: s, zeroPoint: z, ...(s.length > 1 ? { axis } : {}) };
}

/**
 * QLinearConv whose scales or zero points are runtime values (not constants): the integer kernel
 * is prepared at every run from the values given. Models with constant params never get here.
 */
function runtimeQLinearConv(node: Node): Run {
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const w = requireTensor(inputs, 3, "w");
    if (x.dims.length !== 4) throw new Error(`QLinearConv on rank ${x.dims.length} is not supported here (only 2-D)`);
    const autoPad = attr(node, "auto_pad", "string") ?? "NOTSET";
    if (autoPad !== "NOTSET" && autoPad !== "VALID") throw new Error(`QLinearConv auto_pad ${autoPad} with runtime params is not supported`);
    const plan = prepareConv2d({
      strides: intsAttr(node, "strides", [1, 1]), dilations: intsAttr(node, "dilations", [1, 1]),
      pads: autoPad === "VALID" ? [0, 0, 0, 0] : intsAttr(node, "pads", [0, 0, 0, 0]), group: intAttr(node, "group", 1),
    }, {
      input: operatorQParams(requireTensor(inputs, 1, "x_scale"), inputs[2], x.dtype, 1),
      weight: operatorQParams(requireTensor(inputs, 4, "w_scale"), inputs[5], w.dtype, 0),
      output: operatorQParams(requireTensor(inputs, 6, "y_scale"), inputs[7], inputs[7]?.dtype ?? "uint8", 1),
    });
    const bias = inputs[8];
    return [conv2d(plan, x, w, bias ? newInt32Tensor(bias.dims, bias.data as Int32Array) : undefined)];
  };
}

function runtimeQLinearMatMul(): Run {
  return (inputs) => {
    const a = requireTensor(inputs, 0, "a");
    const b = requireTensor(inputs, 3, "b");
    const plan = prepareMatMul({
      a: operatorQParams(requireTensor(inputs, 1, "a_scale"), inputs[2], a.dtype, 1),
      b: operatorQParams(requireTensor(inputs, 4, "b_scale"), inputs[5], b.dtype, b.dims.length - 1),
      output: operatorQParams(requireTensor(inputs, 6, "y_scale"), inputs[7], inputs[7]?.dtype ?? "uint8", 1),
    });
    return [matMul(plan, a, b)];
  };
}

function floatMatMul(): Run {
  return (inputs) => {
    const a = requireTensor(inputs, 0, "A");
    const b = requireTensor(inputs, 1, "B");
    const layout = matMulLayout(a.dims, b.dims);
    const { m, k, n } = layout;
    const av = toFloat32(a);
    const bv = toFloat32(b);
    const out = new Float32Array(layout.aBatchIndex.length * m * n);
    // Row by row, streaming through B's rows (i-p-j order) into a double accumulator row: the
    // same sums as the dot-product order, term for term, rounded once to float32.
    const row = new Float64Array(n);
    for (let t = 0; t < layout.aBatchIndex.length; t++) {
      const ao = layout.aBatchIndex[t]! * m * k;
      const bo = layout.bBatchIndex[t]! * k * n;
      for (let i = 0; i < m; i++) {
        row.fill(0);
        for (let p = 0; p < k; p++) {
          const av_ip = av[ao + i * k + p]!;
          const bRow = bo + p * n;
          for (let j = 0; j < n; j++) row[j] = row[j]! + av_ip * bv[bRow + j]!;
        }
        out.set(row, (t * m + i) * n);
      }
    }
    return [float32(layout.outDims, out)];
  };
}

function floatGemm(node: Node): Run {
  const transA = intAttr(node, "transA", 0) === 1;
  const transB = intAttr(node, "transB", 0) === 1;
  const alpha = floatAttr(node, "alpha", 1);
  const beta = floatAttr(node, "beta", 1);
  return (inputs) => {
    const a = requireTensor(inputs, 0, "A");
    const b = requireTensor(inputs, 1, "B");
    const c = inputs[2];
    const [m, k] = transA ? [a.dims[1]!, a.dims[0]!] : [a.dims[0]!, a.dims[1]!];
    const n = transB ? b.dims[0]! : b.dims[1]!;
    const av = toFloat32(a);
    const bv = toFloat32(b);
    const cv = c ? toFloat32(c) : undefined;
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += av[transA ? p * m + i : i * k + p]! * bv[transB ? j * k + p : p * n + j]!;
        let bias = 0;
        if (cv) bias = cv.length === 1 ? cv[0]! : cv.length === n ? cv[j]! : cv.length === m ? cv[i]! : cv[i * n + j]!;
        out[i * n + j] = alpha * s + beta * bias;
      }
    }
    return [float32([m, n], out)];
  };
}

function floatConv(node: Node): Run {
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const w = requireTensor(inputs, 1, "w");
    const b = inputs[2];
    if (x.dims.length !== 4) throw new Error(`float Conv on rank ${x.dims.length} is not supported (only 2-D)`);
    const autoPad = attr(node, "auto_pad", "string") ?? "NOTSET";
    const strides = intsAttr(node, "strides", [1, 1]);
    const dilations = intsAttr(node, "dilations", [1, 1]);
    let pads: number[];
    if (autoPad === "NOTSET") pads = intsAttr(node, "pads", [0, 0, 0, 0]);
    else if (autoPad === "VALID") pads = [0, 0, 0, 0];
    else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const [top, bottom] = samePads(x.dims[2]!, w.dims[2]!, strides[0]!, dilations[0]!, autoPad === "SAME_UPPER");
      const [left, right] = samePads(x.dims[3]!, w.dims[3]!, strides[1]!, dilations[1]!, autoPad === "SAME_UPPER");
      pads = [top, left, bottom, right];
    } else throw new Error(`float Conv: unknown auto_pad ${autoPad}`);
    const g = conv2dGeometry(x.dims, w.dims, { strides, dilations, pads, group: intAttr(node, "group", 1) });
    const y = conv2dForwardReference(toFloat32(x), toFloat32(w), b ? toFloat32(b) : null, g);
    return [float32([g.batch, g.outChannels, g.outHeight, g.outWidth], y)];
  };
}

function floatSoftmax(node: Node, opset: number): Run {
  const axisAttr = softmaxAxis(node, opset);
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const v = toFloat32(x);
    const rank = x.dims.length;
    const axis = axisAttr < 0 ? axisAttr + rank : axisAttr;
    // Opset 13: one axis. Before: the flattened block of dims from `axis` on.
    const length = opset >= 13 ? x.dims[axis]! : sizeOf(x.dims.slice(axis));
    const inner = opset >= 13 ? sizeOf(x.dims.slice(axis + 1)) : 1;
    const outer = length * inner === 0 ? 0 : v.length / (length * inner);
    const out = new Float32Array(v.length);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const base = o * length * inner + i;
        const end = base + length * inner;
        let max = -Infinity;
        for (let k = base; k < end; k += inner) max = Math.max(max, v[k]!);
        // One exp per element, kept (in float32, as ONNX Runtime keeps it) for the normalisation.
        let sum = 0;
        for (let k = base; k < end; k += inner) {
          const e = Math.fround(Math.exp(v[k]! - max));
          out[k] = e;
          sum += e;
        }
        for (let k = base; k < end; k += inner) out[k] = out[k]! / sum;
      }
    }
    return [float32(x.dims, out)];
  };
}

function floatGlobalAveragePool(): Run {
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const v = toFloat32(x);
    const planes = x.dims[0]! * x.dims[1]!;
    const size = v.length / planes;
    const out = new Float32Array(planes);
    for (let p = 0; p < planes; p++) {
      let s = 0;
      for (let i = 0; i < size; i++) s += v[p * size + i]!;
      out[p] = s / size;
    }
    return [float32([x.dims[0]!, x.dims[1]!, ...x.dims.slice(2).map(() => 1)], out)];
  };
}

/** A unary activation applied element by element (HardSigmoid, HardSwish, LeakyRelu, Sqrt, …). */
function floatUnary(fn: (x: number) => number): Run {
  return (inputs) => {
    const x = requireTensor(inputs, 0, "x");
    const v = toFloat32(x);
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = fn(v[i]!);
    return [float32(x.dims, out)];
  };
}

/** Add, Sub, Mul, Div, Pow, Max/Min of two float32 tensors on the loops of float/elementwise.ts; other dtypes to the evaluator. */
function floatBinary(node: Node, opType: FloatBinaryOp, opset: number): Run {
  const kernel = floatBinaryKernel(opType);
  return (inputs) => {
    const a = inputs[0];
    const b = inputs[1];
    const y = a && b && inputs.length === 2 ? kernel(a, b) : undefined;
    return y ? [y] : evaluateNode(node, inputs, { opset });
  };
}

/** Reductions of float32 tensors over contiguous axes (float/reduce.ts); anything else to the evaluator. */
function floatReduce(node: Node, opType: FloatReduceOp, opset: number): Run {
  const keepDims = intAttr(node, "keepdims", 1) === 1;
  return (inputs) => {
    const x = requireTensor(inputs, 0, "data");
    if (x.dtype !== "float32") return evaluateNode(node, inputs, { opset });
    const axes = reducedAxes(node, x.dims.length, { opset }, (name) => {
      const i = node.inputs.indexOf(name);
      const t = i >= 0 ? inputs[i] : undefined;
      return t ? numbersOf(t) : undefined;
    });
    if (axes === null) return [x];
    const block = axes === undefined ? undefined : reduceBlock(x.dims, axes);
    if (!axes || !block) return evaluateNode(node, inputs, { opset });
    const out = new Float32Array(block.outer * block.inner);
    reduceFloat(opType, x.data as Float32Array, block, out);
    const reduced = new Set(axes);
    const dims = keepDims ? x.dims.map((d, k) => (reduced.has(k) ? 1 : d)) : x.dims.filter((_, k) => !reduced.has(k));
    return [float32(dims, out)];
  };
}

/** A unary op of the evaluator with a float32 loop for float32 inputs (Sqrt, Exp, Relu, …). */
function floatUnaryOrEvaluate(node: Node, fn: (x: number) => number, opset: number): Run {
  const fast = floatUnary(fn);
  return (inputs) => (inputs[0]?.dtype === "float32" ? fast(inputs) : evaluateNode(node, inputs, { opset }));
}

function floatRun(node: Node, opset: number, backend?: Int8Backend): { run: Run; kind: StepKind } | undefined {
  const op = node.opType;
  const ms = node.domain === "com.microsoft";
  if (node.domain !== "" && !ms) return undefined;
  if (op === "QuantizeLinear") return { run: quantizeLinear(node, backend), kind: "boundary" };
  if (op === "DequantizeLinear") return { run: dequantizeLinear(node), kind: "boundary" };
  if (op === "QLinearConv") return { run: runtimeQLinearConv(node), kind: "integer" };
  if (op === "QLinearMatMul") return { run: runtimeQLinearMatMul(), kind: "integer" };
  if (ms) return undefined;
  switch (op) {
    case "DynamicQuantizeLinear": return { run: dynamicQuantizeLinear(), kind: "boundary" };
    case "MatMulInteger": return { run: matMulIntegerRun(), kind: "integer" };
    case "ConvInteger": return { run: convIntegerRun(node), kind: "integer" };
    case "MatMul": return { run: floatMatMul(), kind: "float" };
    case "Gemm": return { run: floatGemm(node), kind: "float" };
    case "Conv": return { run: floatConv(node), kind: "float" };
    case "Softmax": return { run: floatSoftmax(node, opset), kind: "float" };
    case "GlobalAveragePool": return { run: floatGlobalAveragePool(), kind: "float" };
  }
  if (isFloatBinaryOp(op) && canEvaluate(node)) return { run: floatBinary(node, op, opset), kind: "float" };
  if (isFloatReduceOp(op) && canEvaluate(node)) return { run: floatReduce(node, op, opset), kind: "float" };
  const unary = unaryView(node, node.inputs.map((name) => (name ? { kind: "runtime" as const, value: name } : undefined)), opset);
  if (canEvaluate(node)) {
    // Ops the evaluator knows that are also plain float functions (Sqrt, Exp, Relu, …) get a float32 loop.
    if (unary && op !== "Clip") return { run: floatUnaryOrEvaluate(node, unary.fn, opset), kind: "float" };
    return { run: (inputs) => evaluateNode(node, inputs, { opset }), kind: "float" };
  }
  if (unary) return { run: floatUnary(unary.fn), kind: "float" };
  return undefined;
}

/** A float (or boundary) step for `node`, or undefined when octet has no implementation of it. */
export function floatStep(node: Node, opset: number, inputs: string[] = node.inputs, backend?: Int8Backend): Step | undefined {
  const r = floatRun(node, opset, backend);
  if (!r) return undefined;
  return { nodes: [node.name || node.opType], opType: node.opType, kind: r.kind, inputs, outputs: [...node.outputs], run: r.run };
}

