/**
 * Shapes of 2-D convolution and pooling windows, with ONNX's attribute conventions (Conv,
 * MaxPool, AveragePool, opset 11+): pads = [top, left, bottom, right], and an output extent of
 * floor((in + padBegin + padEnd − dilation·(kernel − 1) − 1) / stride) + 1 (ceil_mode = 0).
 */

export interface Window2dOptions {
  /** [strideH, strideW]; default [1, 1]. */
  strides?: readonly number[];
  /** [top, left, bottom, right]; default zeros. */
  pads?: readonly number[];
  /** [dilationH, dilationW]; default [1, 1]. */
  dilations?: readonly number[];
}

export interface Conv2dOptions extends Window2dOptions {
  /** Channel groups; groups = inChannels = outChannels is a depthwise convolution. Default 1. */
  group?: number;
}

export interface Conv2dGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  kernelHeight: number;
  kernelWidth: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
  dilationH: number;
  dilationW: number;
  group: number;
  outHeight: number;
  outWidth: number;
}

export type Pool2dGeometry = Omit<Conv2dGeometry, "outChannels" | "group">;

function pair(name: string, v: readonly number[] | undefined, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  if (v.length !== 2 || !v.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new Error(`${name} must be two positive integers, got [${v.join(", ")}]`);
  }
  return [v[0]!, v[1]!];
}

function pads4(v: readonly number[] | undefined): [number, number, number, number] {
  if (v === undefined) return [0, 0, 0, 0];
  if (v.length !== 4 || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error(`pads must be four non-negative integers [top, left, bottom, right], got [${v.join(", ")}]`);
  }
  return [v[0]!, v[1]!, v[2]!, v[3]!];
}

function outExtent(what: string, size: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  const span = dilation * (kernel - 1) + 1;
  const padded = size + padBegin + padEnd;
  if (padded < span) {
    throw new Error(`${what}: window of extent ${span} does not fit the padded input of extent ${padded}`);
  }
  return Math.floor((padded - span) / stride) + 1;
}

function checkDims(name: string, dims: readonly number[], rank: number): void {
  if (dims.length !== rank || !dims.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new Error(`${name} must have ${rank} positive dims, got [${dims.join(", ")}]`);
  }
}

/** Geometry of Conv(x [N, C, H, W], w [M, C/group, KH, KW]). */
export function conv2dGeometry(xDims: readonly number[], wDims: readonly number[], opts: Conv2dOptions = {}): Conv2dGeometry {
  checkDims("conv input", xDims, 4);
  checkDims("conv weight", wDims, 4);
  const [batch, inChannels, inHeight, inWidth] = xDims as [number, number, number, number];
  const [outChannels, groupChannels, kernelHeight, kernelWidth] = wDims as [number, number, number, number];
  const group = opts.group ?? 1;
  if (!Number.isInteger(group) || group < 1) throw new Error(`conv group must be a positive integer, got ${group}`);
  if (inChannels % group !== 0 || outChannels % group !== 0) {
    throw new Error(`conv group ${group} must divide input channels ${inChannels} and output channels ${outChannels}`);
  }
  if (groupChannels !== inChannels / group) {
    throw new Error(`conv weight has ${groupChannels} input channels per group, expected ${inChannels}/${group} = ${inChannels / group}`);
  }
  const [strideH, strideW] = pair("strides", opts.strides, 1);
  const [dilationH, dilationW] = pair("dilations", opts.dilations, 1);
  const [padTop, padLeft, padBottom, padRight] = pads4(opts.pads);
  return {
    batch, inChannels, inHeight, inWidth, outChannels, kernelHeight, kernelWidth,
    strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, group,
    outHeight: outExtent("conv height", inHeight, kernelHeight, strideH, padTop, padBottom, dilationH),
    outWidth: outExtent("conv width", inWidth, kernelWidth, strideW, padLeft, padRight, dilationW),
  };
}

/** Geometry of a pooling window of `kernel` = [KH, KW] over x [N, C, H, W]. */
export function pool2dGeometry(xDims: readonly number[], kernel: readonly number[], opts: Window2dOptions = {}): Pool2dGeometry {
  checkDims("pool input", xDims, 4);
  const [batch, inChannels, inHeight, inWidth] = xDims as [number, number, number, number];
  const [kernelHeight, kernelWidth] = pair("kernel_shape", kernel, 1);
  const [strideH, strideW] = pair("strides", opts.strides, 1);
  const [dilationH, dilationW] = pair("dilations", opts.dilations, 1);
  const [padTop, padLeft, padBottom, padRight] = pads4(opts.pads);
  if (padTop >= kernelHeight || padBottom >= kernelHeight || padLeft >= kernelWidth || padRight >= kernelWidth) {
    // ONNX requires pads smaller than the kernel; otherwise a window could see only padding.
    throw new Error(`pool pads [${[padTop, padLeft, padBottom, padRight].join(", ")}] must be smaller than the kernel [${kernelHeight}, ${kernelWidth}]`);
  }
  return {
    batch, inChannels, inHeight, inWidth, kernelHeight, kernelWidth,
    strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW,
    outHeight: outExtent("pool height", inHeight, kernelHeight, strideH, padTop, padBottom, dilationH),
    outWidth: outExtent("pool width", inWidth, kernelWidth, strideW, padLeft, padRight, dilationW),
  };
}
