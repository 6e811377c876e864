/**
 * Quantized Pad (ONNX Pad): pure data movement on the quantized values; output params are the
 * input's. In "constant" mode the fill is the real constant quantized once at prepare time — for
 * the default constant 0 that is exactly the zero point, which is why zero points are integers.
 * "edge" repeats the border value; "reflect" mirrors without repeating it. Negative pads crop.
 *
 * `pads` is ONNX's [x1_begin, x2_begin, …, x1_end, x2_end, …] (2·rank values).
 */
import type { QParams } from "../../quant/qparams.js";
import type { Tensor } from "../../tensor/tensor.js";
import { quantizeValue } from "../../quant/quantize.js";
import { type Int8DType, type Int8Tensor, int8Data, int8DTypeOf, newInt8Tensor, perTensor } from "./common.js";

export type PadMode = "constant" | "edge" | "reflect";

export interface PadAttributes {
  pads: readonly number[];
  mode?: PadMode;
  /** Real fill value of constant mode (default 0). */
  constantValue?: number;
}

export interface PadPlan {
  pads: number[];
  mode: PadMode;
  dtype: Int8DType;
  fill: number;
}

export function preparePad(attrs: PadAttributes, input: QParams): PadPlan {
  const mode = attrs.mode ?? "constant";
  if (mode !== "constant" && mode !== "edge" && mode !== "reflect") {
    throw new Error(`pad: unsupported mode ${JSON.stringify(mode)} (expected constant, edge or reflect)`);
  }
  if (!attrs.pads || attrs.pads.length % 2 !== 0 || attrs.pads.some((p) => !Number.isInteger(p))) {
    throw new Error(`pad: pads must be 2·rank integers, got ${JSON.stringify(attrs.pads)}`);
  }
  const dtype = int8DTypeOf(input, "pad input");
  const { scale, zeroPoint } = perTensor(input, "pad input");
  const constant = attrs.constantValue ?? 0;
  if (!Number.isFinite(constant)) throw new Error(`pad: constantValue must be finite, got ${constant}`);
  return { pads: [...attrs.pads], mode, dtype, fill: quantizeValue(constant, scale, zeroPoint, dtype) };
}

/** Source index along an axis of length `len` for a position `i` outside [0, len) in edge/reflect modes. */
function borderIndex(i: number, len: number, mode: "edge" | "reflect"): number {
  if (mode === "edge") return i < 0 ? 0 : len - 1;
  if (len === 1) return 0;
  const period = 2 * (len - 1);
  let r = ((i % period) + period) % period;
  if (r >= len) r = period - r;
  return r;
}

export function pad(plan: PadPlan, x: Tensor): Int8Tensor {
  const data = int8Data(x, "pad input");
  if (x.dtype !== plan.dtype) throw new Error(`pad: input is ${x.dtype} but the plan was prepared for ${plan.dtype}`);
  const rank = x.dims.length;
  if (plan.pads.length !== 2 * rank) throw new Error(`pad: ${plan.pads.length} pads for an input of rank ${rank} (need ${2 * rank})`);
  const outDims = x.dims.map((d, k) => d + plan.pads[k]! + plan.pads[k + rank]!);
  if (outDims.some((d) => d < 0)) throw new Error(`pad: negative pads crop more than the input has ([${x.dims.join(", ")}] → [${outDims.join(", ")}])`);
  if (plan.mode !== "constant" && x.dims.some((d, k) => d === 0 && outDims[k]! > 0)) {
    throw new Error(`pad: ${plan.mode} mode cannot pad an empty axis`);
  }
  if (plan.mode === "reflect" && x.dims.some((d, k) => plan.pads[k]! >= d || plan.pads[k + rank]! >= d)) {
    throw new Error(`pad: reflect pads must be smaller than the axis they extend ([${x.dims.join(", ")}], pads [${plan.pads.join(", ")}])`);
  }
  const y = newInt8Tensor(plan.dtype, outDims);
  const inStrides = new Array<number>(rank);
  let stride = 1;
  for (let k = rank - 1; k >= 0; k--) { inStrides[k] = stride; stride *= x.dims[k]!; }
  const counter = new Array<number>(rank).fill(0);
  for (let o = 0; o < y.data.length; o++) {
    let source = 0;
    let outside = false;
    for (let k = 0; k < rank; k++) {
      let i = counter[k]! - plan.pads[k]!;
      if (i < 0 || i >= x.dims[k]!) {
        if (plan.mode === "constant") { outside = true; break; }
        i = borderIndex(i, x.dims[k]!, plan.mode);
      }
      source += i * inStrides[k]!;
    }
    y.data[o] = outside ? plan.fill : data[source]!;
    for (let k = rank - 1; k >= 0; k--) {
      counter[k] = counter[k]! + 1;
      if (counter[k]! < outDims[k]!) break;
      counter[k] = 0;
    }
  }
  return y;
}
