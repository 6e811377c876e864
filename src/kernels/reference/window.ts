/**
 * Geometry of a 2-D sliding window over NCHW data, shared by convolution, transposed convolution
 * and pooling: strides, pads and dilations as ONNX gives them, and the output size.
 *
 * ONNX `pads` for 2-D is [top, left, bottom, right] (x1_begin, x2_begin, x1_end, x2_end).
 */
import { checkNonNegativeInts, checkPositiveInts } from "./common.js";

export interface Window2dAttributes {
  /** [strideH, strideW], default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right], default [0, 0, 0, 0]. */
  pads?: readonly number[];
  /** [dilationH, dilationW], default [1, 1]. */
  dilations?: readonly number[];
}

export interface Window2d {
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
}

export function resolveWindow2d(attrs: Window2dAttributes, what: string): Window2d {
  const strides = attrs.strides ?? [1, 1];
  const pads = attrs.pads ?? [0, 0, 0, 0];
  const dilations = attrs.dilations ?? [1, 1];
  if (strides.length !== 2) throw new Error(`${what}: strides must have 2 values, got [${strides.join(", ")}]`);
  if (pads.length !== 4) throw new Error(`${what}: pads must have 4 values [top, left, bottom, right], got [${pads.join(", ")}]`);
  if (dilations.length !== 2) throw new Error(`${what}: dilations must have 2 values, got [${dilations.join(", ")}]`);
  checkPositiveInts(strides, `${what}: strides`);
  checkNonNegativeInts(pads, `${what}: pads`);
  checkPositiveInts(dilations, `${what}: dilations`);
  return {
    strideH: strides[0]!, strideW: strides[1]!,
    padTop: pads[0]!, padLeft: pads[1]!, padBottom: pads[2]!, padRight: pads[3]!,
    dilationH: dilations[0]!, dilationW: dilations[1]!,
  };
}

/**
 * Number of window positions along one axis (ONNX Conv/Pool output shape):
 * floor or ceil((in + padBegin + padEnd − ((k − 1)·d + 1)) / s) + 1. With ceil mode a last window
 * that would start inside the end padding is dropped (PyTorch's rule, which ONNX Runtime follows),
 * so every window overlaps the input or the begin padding.
 */
export function slidingOutputSize(
  inSize: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number,
  ceilMode = false, what = "window",
): number {
  const span = (kernel - 1) * dilation + 1;
  const room = inSize + padBegin + padEnd - span;
  if (room < 0) {
    throw new Error(`${what}: window of extent ${span} does not fit in input of size ${inSize} with pads ${padBegin}+${padEnd}`);
  }
  let out = (ceilMode ? Math.ceil(room / stride) : Math.floor(room / stride)) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + padBegin) out -= 1;
  return out;
}
