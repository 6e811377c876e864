/**
 * The int32 bias of a Conv/Gemm/MatMul layer and the int32 range checks, at compile time.
 *
 * A QDQ model normally holds the bias as int32 with scale s_x·s_w[c] and zero point 0 (ONNX
 * Runtime's and octet's convention): those integers are used as they are. A bias with other params
 * is requantized to s_x·s_w[c]; a float bias (a model that left it unquantized) is quantized here,
 * q_b = round(b / (s_x·s_w[c])), half to even, as the quantizers do. Values beyond int32 saturate,
 * with a warning naming the layer.
 *
 * The accumulator Σ (w − z_w)(x − z_x) + q_b is int32 and wraps on overflow (as hardware does), so
 * a layer whose worst case |Σ| + |q_b| exceeds 2^31 − 1 is reported too: its worst-case input would
 * produce garbage. The bound uses the actual weights: Σ_k |w_k − z_w| · max|x − z_x|.
 */
import { toFloat32 } from "../../tensor/tensor.js";
import { qRange } from "../../quant/dtype.js";
import { roundHalfToEven } from "../../quant/rounding.js";
import { INT32_MAX, INT32_MIN } from "../../quant/fixed_point.js";
import { NotInteger, type OpInput } from "../compile/quantized_op.js";
import type { BuildContext } from "./context.js";

/** Relative tolerance for "the bias scale is s_x·s_w": float32 products of the same numbers. */
const SCALE_TOLERANCE = 1e-5;

function saturateInt32(v: number): number {
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
}

/**
 * The bias as int32 on the scale s_x·s_w[c], one value per output channel; undefined without bias.
 * `weightScales` has one entry (per-tensor) or `channels`.
 */
export function resolveBias(
  input: OpInput | undefined, inputScale: number, weightScales: Float32Array, channels: number, layer: string, ctx: BuildContext,
): Int32Array | undefined {
  if (!input) return undefined;
  const accScale = (c: number) => inputScale * weightScales[weightScales.length === 1 ? 0 : c]!;
  const spread = (length: number) => {
    if (length !== channels && length !== 1) {
      throw new Error(`layer ${layer}: bias has ${length} values but the layer has ${channels} output channels`);
    }
    return (c: number) => (length === 1 ? 0 : c);
  };
  const out = new Int32Array(channels);
  let saturated = 0;
  if (input.kind === "quantized" && input.constant) {
    const q = input.quant;
    if (q.dtype !== "int32") throw new NotInteger(`bias is ${q.dtype}, expected int32`);
    const values = input.constant.data as Int32Array;
    const at = spread(values.length);
    const scaleAt = spread(q.scale.length);
    let rescaled = false;
    for (let c = 0; c < channels; c++) {
      const s = q.scale[scaleAt(c)]!;
      const centred = values[at(c)]! - q.zeroPoint[q.zeroPoint.length === 1 ? 0 : c]!;
      const target = accScale(c);
      if (Math.abs(s - target) <= SCALE_TOLERANCE * target) {
        out[c] = saturateInt32(centred);
      } else {
        rescaled = true;
        const v = roundHalfToEven(Math.fround(centred * s) / target);
        if (v > INT32_MAX || v < INT32_MIN) saturated++;
        out[c] = saturateInt32(v);
      }
    }
    if (rescaled) ctx.warn(`layer ${layer}: bias scale differs from input scale × weight scale; the bias was requantized`);
  } else if (input.kind === "constant") {
    const values = toFloat32(input.tensor);
    const at = spread(values.length);
    for (let c = 0; c < channels; c++) {
      const v = roundHalfToEven(values[at(c)]! / accScale(c));
      if (!Number.isFinite(v) || v > INT32_MAX || v < INT32_MIN) saturated++;
      out[c] = Number.isFinite(v) ? saturateInt32(v) : 0;
    }
  } else {
    throw new NotInteger("bias is not a constant");
  }
  if (saturated > 0) {
    ctx.warn(`layer ${layer}: int32 bias overflow: ${saturated} of ${channels} bias values exceed the int32 range on the scale input × weight and were saturated`);
  }
  return out;
}

/**
 * Warn when the worst-case accumulator of some output channel exceeds int32. `weight` is the
 * weight data laid out so that channel c's reduction is `reduction` consecutive values starting at
 * `offsetOf(c)` (or strided; `valueAt` gives the k-th weight of channel c).
 */
export function checkAccumulatorRange(
  channels: number, reduction: number, valueAt: (c: number, k: number) => number, weightZeroPoint: (c: number) => number,
  inputDType: "int8" | "uint8", inputZeroPoint: number, bias: Int32Array | undefined, layer: string, ctx: BuildContext,
): void {
  const { qmin, qmax } = qRange(inputDType);
  const maxX = Math.max(inputZeroPoint - qmin, qmax - inputZeroPoint);
  let risky = 0;
  let worst = 0;
  for (let c = 0; c < channels; c++) {
    const zw = weightZeroPoint(c);
    let sum = 0;
    for (let k = 0; k < reduction; k++) sum += Math.abs(valueAt(c, k) - zw);
    const bound = sum * maxX + Math.abs(bias?.[c] ?? 0);
    if (bound > INT32_MAX) {
      risky++;
      worst = Math.max(worst, bound);
    }
  }
  if (risky > 0) {
    ctx.warn(`layer ${layer}: int32 bias overflow risk: ${risky} of ${channels} output channels can exceed int32 in the worst case (|bias| + Σ|w − z_w|·max|x − z_x| up to ${worst.toExponential(3)} > 2^31 − 1)`);
  }
}
