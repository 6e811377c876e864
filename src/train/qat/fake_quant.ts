/**
 * Fake quantization as a training op: the forward pass is QuantizeLinear followed by
 * DequantizeLinear with exactly ONNX's arithmetic (x / scale in float32, round half to even, add the
 * zero point, saturate to the dtype's full range, then (q − z)·scale in float32), so the value a
 * layer sees in training is the value the exported QDQ model computes with.
 *
 * The backward pass is the straight-through estimator with clipping (Bengio et al. 2013; Jacob et
 * al. 2018, "Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only
 * Inference", §3): rounding is treated as the identity, so the gradient passes unchanged where the
 * value was representable, and it is zero where the quantizer saturated (round(x/s) + z outside
 * [qmin, qmax]): moving such a value a little does not change the output. This is also the mask of
 * PyTorch's fake_quantize backward.
 */
import { axisLayout } from "../../quant/axis.js";
import { qRange } from "../../quant/dtype.js";
import { quantizeBias } from "../../quant/bias.js";
import { checkQParams, type QParams } from "../../quant/qparams.js";
import { opResult, type Var } from "../tape.js";

/** [outer, channels, inner] of a tensor for per-tensor or per-axis params. */
export function paramLayout(dims: readonly number[], size: number, axis: number | undefined): { outer: number; channels: number; inner: number } {
  return axis === undefined ? { outer: 1, channels: 1, inner: size } : axisLayout(dims, axis);
}

/**
 * y = DequantizeLinear(QuantizeLinear(x, qp), qp), with the straight-through gradient inside the
 * representable range and zero outside. Per-axis params (qp.axis set) run along that axis of x.
 */
export function fakeQuant(x: Var, qp: QParams): Var {
  checkQParams(qp, x.dims);
  const { outer, channels, inner } = paramLayout(x.dims, x.size, qp.axis);
  const { qmin, qmax } = qRange(qp.dtype);
  const xd = x.data;
  const y = new Float32Array(x.size);
  // 1 where the gradient passes; kept only when a gradient will be needed.
  const pass = x.requiresGrad ? new Uint8Array(x.size) : null;
  let i = 0;
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const scale = qp.scale[c]!;
      const zeroPoint = qp.zeroPoint[c]!;
      for (const end = i + inner; i < end; i++) {
        const v = xd[i]!;
        if (v !== v) throw new Error(`fake quantization met NaN at flat index ${i} of a tensor of dims [${x.dims.join(", ")}]`);
        // roundHalfToEven inlined (this loop runs on every activation of every step): Math.round
        // sends ties up; a tie that landed on an odd integer goes back down. Beyond 2^31, where
        // `& 1` would be wrong, a float32 quotient has no fraction, so no tie arrives there.
        const u = Math.fround(v / scale);
        let r = Math.round(u);
        if (r - u === 0.5 && (r & 1) !== 0) r -= 1;
        const q = r + zeroPoint;
        const inside = q >= qmin && q <= qmax;
        const clamped = inside ? q : q < qmin ? qmin : qmax;
        y[i] = (clamped - zeroPoint) * scale;
        if (pass) pass[i] = inside ? 1 : 0;
      }
    }
  }
  return opResult(y, x.dims, [x], (dy) => {
    const dx = new Float32Array(dy.length);
    for (let k = 0; k < dx.length; k++) dx[k] = pass![k] ? dy[k]! : 0;
    x.accumulateGrad(dx, true);
  });
}

/**
 * A Conv/Gemm bias as the exported model stores it: int32 with scale input_scale · weight_scale[c]
 * and zero point 0 (quant/bias.ts, the exporter's own function), dequantized. int32 never saturates
 * for sensible scales, so the gradient passes straight through.
 */
export function fakeQuantBias(bias: Var, inputScale: number, weightScale: Float32Array): Var {
  const { values, scale } = quantizeBias(bias.data, inputScale, weightScale);
  const y = new Float32Array(bias.size);
  for (let c = 0; c < y.length; c++) y[c] = values[c]! * scale[scale.length === 1 ? 0 : c]!;
  return opResult(y, bias.dims, [bias], (dy) => bias.accumulateGrad(dy));
}
