/**
 * QuantizeLinear and DequantizeLinear of float32 tensors with per-tensor 8-bit params, as tight
 * loops: the model's boundaries run once per inference over the whole input or output. Same
 * arithmetic as quant/quantize.ts (ONNX: q = saturate(round_half_to_even(x / scale) + z) with the
 * quotient in float32; x = (q − z)·scale in float32), bit for bit; NaN is refused as there.
 */
import type { Int8DType } from "../reference/common.js";
import type { Int8Wasm } from "./wasm.js";

export function quantizePerTensor(x: Float32Array, scale: number, zeroPoint: number, dtype: Int8DType): Int8Array | Uint8Array {
  const out = dtype === "int8" ? new Int8Array(x.length) : new Uint8Array(x.length);
  const qmin = dtype === "int8" ? -128 : 0;
  const qmax = dtype === "int8" ? 127 : 255;
  const s = Math.fround(scale);
  for (let i = 0; i < x.length; i++) {
    const v = Math.fround(x[i]! / s);
    if (v !== v) throw new Error("cannot quantize NaN");
    // Round half to even: Math.round rounds ties up; a tie that landed on an odd integer goes back one.
    let r = Math.round(v);
    if (r - v === 0.5 && (r & 1) !== 0) r -= 1;
    const q = r + zeroPoint;
    out[i] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  return out;
}

export function dequantizePerTensor(q: Int8Array | Uint8Array, scale: number, zeroPoint: number): Float32Array {
  const out = new Float32Array(q.length);
  const s = Math.fround(scale);
  // (q − z) has at most 9 bits and s 24: the double product is exact and the store rounds it once.
  for (let i = 0; i < q.length; i++) out[i] = (q[i]! - zeroPoint) * s;
  return out;
}

/** quantizePerTensor on the WebAssembly module (f32x4.div, f32x4.nearest): the same bytes. */
export function wasmQuantizePerTensor(wasm: Int8Wasm, x: Float32Array, scale: number, zeroPoint: number, dtype: Int8DType): Int8Array | Uint8Array {
  const out = wasm.newTensor(dtype, [x.length]).data;
  wasm.beginCall();
  try {
    const xAt = wasm.arena(x.length * 4);
    new Float32Array(wasm.u8.buffer, xAt, x.length).set(x);
    const outAt = wasm.offsetOf(out)!;
    const qmin = dtype === "int8" ? -128 : 0;
    const nans = wasm.exports.quantizeF32(xAt, x.length, Math.fround(scale), zeroPoint, qmin, qmin + 255, dtype === "int8" ? 1 : 0, outAt);
    if (nans > 0) {
      wasm.release(out);
      throw new Error("cannot quantize NaN");
    }
  } finally {
    wasm.endCall();
  }
  return out;
}
