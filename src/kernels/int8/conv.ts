/**
 * Quantized convolution on the WebAssembly kernels, equal bit for bit to the reference conv2d
 * (src/kernels/reference/conv2d.ts) for the same plan:
 *
 * - depthwise (group = C_in = C_out): the direct depthwise kernel (assembly/int8/depthwise.ts),
 *   threads splitting the channels;
 * - everything else: per image and group, C_out/group × P = W_g[C_out/g, K] · cols[K, P] with the
 *   fused output stage (assembly/int8/gemm.ts), where cols is the input plane itself for a 1×1
 *   convolution with unit strides and no padding, and otherwise the im2col matrix, read from the
 *   image as the GEMM packs its panels (never written out); threads split the GEMM's columns.
 *
 * Weights are packed, and the output stage of every output channel prepared (with the input zero
 * point's term folded into the bias: both kernels read the image raw), once, when the layer is
 * prepared.
 */
import { type Conv2dPlan, type Int8Tensor, type OutputStage, conv2dShape, int8Data } from "../reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { KernelTask } from "./thread_pool.js";
import { type FusableKernel, type Int8Wasm, OutputTable, fusable } from "./wasm.js";

/** Work below this many multiply-adds runs on one thread: waking workers costs more. */
export const PARALLEL_MIN_MACS = 1 << 17;
/** Column splits are multiples of the GEMM's panel width. */
const NR = 8;

/** Output stages of a layer's rows, prepared once in the kernels' memory (assembly/int8/output_stage.ts). */
export interface PreparedStages {
  /** Row r's stage is at `at` + r·`stride` (a stride of 0: one stage for every row). */
  at: number;
  stride: number;
  /** 1 when every row's stage takes the short form (the kernels then run their short variant). */
  short: number;
  signed: number;
}

/** Bytes of one prepared stage (STAGE_BYTES in output_stage.ts). */
const STAGE_BYTES = 192;

/**
 * The output stages of `rows` rows: row r has channel channelOf(r)'s multiplier and shift (the
 * only one when per-tensor) and bias value biasOf(r) (0 without one). Rows that would all be equal
 * (per-tensor, no bias) share one stage.
 */
export function prepareStages(
  wasm: Int8Wasm, stage: OutputStage, rows: number, biasOf?: (r: number) => number, channelOf: (r: number) => number = (r) => r,
): PreparedStages {
  const shared = stage.multipliers.length === 1 && !biasOf;
  const n = shared ? 1 : rows;
  const param = (values: Int32Array, r: number) => values[values.length === 1 ? 0 : channelOf(r)]!;
  const at = wasm.persistent(n * STAGE_BYTES);
  wasm.beginCall();
  try {
    const bias = biasOf ? wasm.arena(n * 4) : 0;
    const multipliers = wasm.arena(n * 4);
    const shifts = wasm.arena(n * 4);
    for (let r = 0; r < n; r++) {
      if (biasOf) wasm.i32[(bias >> 2) + r] = biasOf(r);
      wasm.i32[(multipliers >> 2) + r] = param(stage.multipliers, r);
      wasm.i32[(shifts >> 2) + r] = param(stage.shifts, r);
    }
    const short = wasm.exports.prepareStages(n, bias, multipliers, shifts, stage.clampMin, stage.clampMax, stage.outputZeroPoint, at);
    return { at, stride: shared ? 0 : STAGE_BYTES, short, signed: stage.outputDType === "int8" ? 1 : 0 };
  } finally {
    wasm.endCall();
  }
}

/** Tasks per thread when work is split: more than one, so that threads balance dynamically. */
export const TASKS_PER_THREAD = 4;

/** Column ranges [n0, n1) for `parts` tasks, multiples of the panel width. */
export function splitColumns(n: number, parts: number): [number, number][] {
  if (parts <= 1 || n <= NR) return [[0, n]];
  const per = Math.ceil(n / parts / NR) * NR;
  const ranges: [number, number][] = [];
  for (let n0 = 0; n0 < n; n0 += per) ranges.push([n0, Math.min(n, n0 + per)]);
  return ranges;
}

/** [a, b) ranges splitting n items into at most `parts`. */
export function splitRange(n: number, parts: number): [number, number][] {
  const per = Math.ceil(n / Math.max(1, parts));
  const ranges: [number, number][] = [];
  for (let a = 0; a < n; a += per) ranges.push([a, Math.min(n, a + per)]);
  return ranges;
}

/** Packed weights of row block `rows` × `k` (element (m, j) at src + m·rowStride + j·kStride). */
export function packRowsPersistent(
  wasm: Int8Wasm, data: Int8Array | Uint8Array, rows: number, k: number, rowStride: number, kStride: number,
  zeroPoints: ArrayLike<number>, offset = 0,
): number {
  const packed = wasm.persistent(wasm.exports.packedRowsBytes(rows, k));
  const zp = wasm.persistentInt32(zeroPoints);
  wasm.beginCall();
  const src = wasm.putBytes(data);
  wasm.exports.packRows(src + offset, rows, k, rowStride, kStride, zp, zeroPoints.length > 1 ? 1 : 0, data instanceof Int8Array ? 1 : 0, packed);
  wasm.endCall();
  return packed;
}

/**
 * Row r's bias with the input zero point's term folded in, bias[r] − z·Σ_k (w[r, k] − z_w[r]), for
 * `rows` rows of `k` weights each (row-major): kernels that sum (w − z_w)·x over the raw inputs
 * then compute Σ (w − z_w)·(x − z) + bias. int32 arithmetic modulo 2^32, as the reference's.
 */
export function foldedBias(
  w: ArrayLike<number>, rows: number, k: number, weightZeroPoints: ArrayLike<number>, z: number, bias: Int32Array | undefined,
): (r: number) => number {
  const folded = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const zw = weightZeroPoints[weightZeroPoints.length === 1 ? 0 : r]!;
    let sum = 0;
    for (let j = 0; j < k; j++) sum += w[r * k + j]! - zw;
    // |sum| ≤ 255·k: exact in a double; Math.imul and | 0 wrap the rest as int32 does.
    folded[r] = ((bias ? bias[r]! : 0) - Math.imul(z, sum)) | 0;
  }
  return (r) => folded[r]!;
}

export function wasmConv2d(wasm: Int8Wasm, plan: Conv2dPlan, weight: Tensor, bias: Int32Array | undefined): FusableKernel<[Tensor], Int8Tensor> {
  const wData = int8Data(weight, "conv2d weight");
  if (weight.dims.length !== 4) throw new Error(`conv2d weight must be [C_out, C_in/group, kH, kW], got [${weight.dims.join(", ")}]`);
  const [outChannels, groupChannels, kh, kw] = weight.dims as [number, number, number, number];
  const group = plan.group;
  if (outChannels % group !== 0) throw new Error(`conv2d: ${outChannels} output channels are not divisible by group ${group}`);
  const perGroupOut = outChannels / group;
  const zps = plan.weightZeroPoints;
  if (zps.length !== 1 && zps.length !== outChannels) throw new Error(`conv2d: ${zps.length} weight zero points for ${outChannels} channels`);
  if (bias && bias.length !== outChannels) throw new Error(`conv2d: bias has ${bias.length} values for ${outChannels} channels`);
  const win = plan.window;
  const depthwise = groupChannels === 1 && perGroupOut === 1;
  const inputSigned = plan.inputDType === "int8" ? 1 : 0;
  const zx = plan.inputZeroPoint;

  let depthwiseWeights = 0;
  let stages: PreparedStages;
  let gemm: GemmConv | undefined;
  if (depthwise) {
    // Weights as pairs of i16 differences (w[ky, kx] − z_w, w[ky, kx + 1] − z_w) along each kernel
    // row, the last one of an odd row with 0 (assembly/int8/depthwise.ts); the kernel sums
    // (w − z_w)·x over the raw inputs, so −z_x·Σ(w − z_w) joins each channel's bias.
    const taps = kh * kw;
    const pairsPerRow = (kw + 1) >> 1;
    depthwiseWeights = wasm.persistent(outChannels * kh * pairsPerRow * 4);
    for (let c = 0; c < outChannels; c++) {
      const z = zps[zps.length === 1 ? 0 : c]!;
      for (let ky = 0; ky < kh; ky++) {
        for (let p = 0; p < pairsPerRow; p++) {
          const t = c * taps + ky * kw + 2 * p;
          const lo = wData[t]! - z;
          const hi = 2 * p + 1 < kw ? wData[t + 1]! - z : 0;
          wasm.i32[(depthwiseWeights >> 2) + (c * kh + ky) * pairsPerRow + p] = (lo & 0xffff) | (hi << 16);
        }
      }
    }
    stages = prepareStages(wasm, plan.outputStage, outChannels, foldedBias(wData, outChannels, taps, zps, zx, bias));
  } else {
    gemm = prepareGemmConv(wasm, plan, weight, bias);
    stages = gemm.stages;
  }

  const table = new OutputTable(wasm);
  return fusable((x: Tensor): Int8Tensor => {
    if (x.dtype !== plan.inputDType) throw new Error(`conv2d: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
    const xData = int8Data(x, "conv2d input");
    if (x.dims.length !== 4) throw new Error(`conv2d input must have rank 4 (N, C, H, W), got dims [${x.dims.join(", ")}]`);
    const s = conv2dShape(x.dims, weight.dims, win, group);
    const positions = s.outHeight * s.outWidth;
    const y = wasm.newTensor(table.dtype ?? plan.outputStage.outputDType, [s.batch, outChannels, s.outHeight, s.outWidth]);
    if (y.data.length === 0) return y;
    wasm.beginCall();
    try {
      const xAt = wasm.putBytes(xData);
      const outAt = wasm.offsetOf(y.data)!;
      const inPlane = s.inHeight * s.inWidth;
      const threads = wasm.threads;
      if (depthwise) {
        const macs = outChannels * positions * kh * kw;
        const parts = macs >= PARALLEL_MIN_MACS && threads > 1 ? Math.min(threads * TASKS_PER_THREAD, outChannels) : 1;
        const scratchBytes = wasm.exports.depthwiseScratchBytes(s.inHeight, s.inWidth, kh, kw, win.strideH, win.strideW,
          win.padTop, win.padLeft, win.padBottom, win.padRight, win.dilationH, win.dilationW);
        const ranges = splitRange(outChannels, parts);
        const scratch = wasm.scratchPerThread(scratchBytes);
        for (let n = 0; n < s.batch; n++) {
          wasm.run(ranges.map(([c0, c1]): KernelTask => ({
            kernel: "depthwiseConv",
            args: [
              xAt + n * s.inChannels * inPlane, s.inHeight, s.inWidth, c0, c1, zx, inputSigned,
              kh, kw, win.strideH, win.strideW, win.padTop, win.padLeft, win.padBottom, win.padRight, win.dilationH, win.dilationW,
              s.outHeight, s.outWidth, depthwiseWeights, stages.at, stages.stride, stages.signed,
              outAt + n * outChannels * positions, table.pointer, 0,
            ],
          })), scratch);
        }
      } else {
        runGemmConv(wasm, plan, gemm!, s, xAt, { kind: "bytes", at: outAt, table: table.pointer });
      }
    } finally {
      wasm.endCall();
    }
    return y;
  }, table);
}

/** A convolution on the GEMM (anything but depthwise), prepared once: packed weights per group, output stages. */
export interface GemmConv {
  packedGroups: number[];
  stages: PreparedStages;
  group: number;
  groupChannels: number;
  perGroupOut: number;
  kh: number;
  kw: number;
  /** Reduction length per group, C_in/group · kH · kW. */
  k: number;
}

export function prepareGemmConv(wasm: Int8Wasm, plan: Conv2dPlan, weight: Tensor, bias: Int32Array | undefined): GemmConv {
  const wData = int8Data(weight, "conv2d weight");
  const [outChannels, groupChannels, kh, kw] = weight.dims as [number, number, number, number];
  const group = plan.group;
  const perGroupOut = outChannels / group;
  const k = groupChannels * kh * kw;
  const zps = plan.weightZeroPoints;
  const packedGroups: number[] = [];
  for (let g = 0; g < group; g++) {
    const rowZps = zps.length === 1 ? [zps[0]!] : Array.from(zps.subarray(g * perGroupOut, (g + 1) * perGroupOut));
    packedGroups.push(packRowsPersistent(wasm, wData, perGroupOut, k, k, 1, rowZps, g * perGroupOut * k));
  }
  // The GEMM reads the image raw (no subtraction while it packs): −z_x·Σ_k (w − z_w) joins each
  // output channel's bias, as for the depthwise kernel.
  const stages = prepareStages(wasm, plan.outputStage, outChannels, foldedBias(wData, outChannels, k, zps, plan.inputZeroPoint, bias));
  return { packedGroups, stages, group, groupChannels, perGroupOut, kh, kw, k };
}

/**
 * Where runGemmConv puts its results: requantized bytes (through the byte table at `table` if ≠ 0),
 * or the int32 sums Σ_k (w − z_w)·x over the raw inputs, without the stages' bias (for a kernel
 * that applies the stages later).
 */
export type GemmConvTarget = { kind: "bytes"; at: number; table: number } | { kind: "int32"; at: number };

/** The GEMM convolution of every image of x (in memory at xAt), inside a beginCall/endCall. */
export function runGemmConv(wasm: Int8Wasm, plan: Conv2dPlan, c: GemmConv, s: ReturnType<typeof conv2dShape>, xAt: number, target: GemmConvTarget): void {
  const { kh, kw, k, group, groupChannels, perGroupOut, stages } = c;
  const win = plan.window;
  const zx = plan.inputZeroPoint;
  const inputSigned = plan.inputDType === "int8" ? 1 : 0;
  const outChannels = perGroupOut * group;
  const positions = s.outHeight * s.outWidth;
  const inPlane = s.inHeight * s.inWidth;
  const threads = wasm.threads;
  const direct = kh === 1 && kw === 1 && win.strideH === 1 && win.strideW === 1 &&
    win.padTop === 0 && win.padLeft === 0 && win.padBottom === 0 && win.padRight === 0;
  const macs = perGroupOut * k * positions;
  const parts = macs >= PARALLEL_MIN_MACS && threads > 1 ? threads * TASKS_PER_THREAD : 1;
  // Other convolutions read the image as an implicit im2col matrix: its geometry goes to the
  // kernel. With padding, they read a padded copy of each image instead (padImage), whose
  // panels are nearly all "interior" ones, packed with one load per im2col row.
  const padded = !direct && (win.padTop > 0 || win.padLeft > 0 || win.padBottom > 0 || win.padRight > 0);
  const hp = s.inHeight + (padded ? win.padTop + win.padBottom : 0);
  const wp = s.inWidth + (padded ? win.padLeft + win.padRight : 0);
  const image = padded ? wasm.arena(s.inChannels * hp * wp) : 0;
  const geometry = direct ? 0 : wasm.arena(11 * 4);
  if (!direct) {
    wasm.i32.set([hp, wp, kh, kw, win.strideH, win.strideW, padded ? 0 : win.padTop, padded ? 0 : win.padLeft,
      win.dilationH, win.dilationW, s.outWidth], geometry >> 2);
  }
  const panels = wasm.scratchPerThread(wasm.exports.panelBytes(k));
  const columns = splitColumns(positions, parts);
  const copyParts = s.inChannels * hp * wp >= PARALLEL_MIN_MACS && threads > 1 ? threads : 1;
  for (let n = 0; n < s.batch; n++) {
    if (padded) {
      wasm.run(splitRange(s.inChannels, copyParts).map(([c0, c1]): KernelTask => ({
        kernel: "padImage",
        args: [xAt + n * s.inChannels * inPlane, s.inHeight, s.inWidth, c0, c1, win.padTop, win.padLeft, win.padBottom, win.padRight, zx, image],
      })));
    }
    for (let g = 0; g < group; g++) {
      const b = padded ? image + g * groupChannels * hp * wp : xAt + (n * s.inChannels + g * groupChannels) * inPlane;
      const rowOffset = g * perGroupOut;
      const first = (n * outChannels + rowOffset) * positions;
      wasm.run(columns.map(([n0, n1]): KernelTask => target.kind === "bytes"
        ? {
          kernel: "gemmRequantize",
          args: [
            perGroupOut, k, c.packedGroups[g]!, b, positions, zx, 1, inputSigned, n0, n1,
            stages.at + rowOffset * stages.stride, stages.stride, stages.short, stages.signed,
            target.at + first, positions, target.table, geometry, 0,
          ],
        }
        : {
          kernel: "gemmAccumulate",
          args: [perGroupOut, k, c.packedGroups[g]!, b, positions, zx, 1, inputSigned, n0, n1, target.at + 4 * first, positions, geometry, 0],
        }), panels);
    }
  }
}
