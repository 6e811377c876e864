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
 * Weights are packed once, when the layer is prepared.
 */
import { type Conv2dPlan, type Int8Tensor, conv2dShape, int8Data } from "../reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { KernelTask } from "./thread_pool.js";
import { type FusableKernel, type Int8Wasm, OutputTable, fusable } from "./wasm.js";

/** Work below this many multiply-adds runs on one thread: waking workers costs more. */
export const PARALLEL_MIN_MACS = 1 << 17;
/** Column splits are multiples of the GEMM's panel width. */
const NR = 8;

export interface OutputStageMemory {
  bias: number;
  multipliers: number;
  shifts: number;
  perRow: number;
  zero: number;
  min: number;
  max: number;
  signed: number;
}

export function stageMemory(wasm: Int8Wasm, plan: { outputStage: Conv2dPlan["outputStage"] }, bias: Int32Array | undefined): OutputStageMemory {
  const s = plan.outputStage;
  return {
    bias: bias ? wasm.persistentInt32(bias) : 0,
    multipliers: wasm.persistentInt32(s.multipliers),
    shifts: wasm.persistentInt32(s.shifts),
    perRow: s.multipliers.length > 1 ? 1 : 0,
    zero: s.outputZeroPoint,
    min: s.clampMin,
    max: s.clampMax,
    signed: s.outputDType === "int8" ? 1 : 0,
  };
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

function splitRange(n: number, parts: number): [number, number][] {
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

export function wasmConv2d(wasm: Int8Wasm, plan: Conv2dPlan, weight: Tensor, bias: Int32Array | undefined): FusableKernel<[Tensor], Int8Tensor> {
  const wData = int8Data(weight, "conv2d weight");
  if (weight.dims.length !== 4) throw new Error(`conv2d weight must be [C_out, C_in/group, kH, kW], got [${weight.dims.join(", ")}]`);
  const [outChannels, groupChannels, kh, kw] = weight.dims as [number, number, number, number];
  const group = plan.group;
  if (outChannels % group !== 0) throw new Error(`conv2d: ${outChannels} output channels are not divisible by group ${group}`);
  const perGroupOut = outChannels / group;
  const k = groupChannels * kh * kw;
  const zps = plan.weightZeroPoints;
  if (zps.length !== 1 && zps.length !== outChannels) throw new Error(`conv2d: ${zps.length} weight zero points for ${outChannels} channels`);
  if (bias && bias.length !== outChannels) throw new Error(`conv2d: bias has ${bias.length} values for ${outChannels} channels`);
  const stage = stageMemory(wasm, plan, bias);
  const win = plan.window;
  const depthwise = groupChannels === 1 && perGroupOut === 1;
  const inputSigned = plan.inputDType === "int8" ? 1 : 0;
  const zx = plan.inputZeroPoint;

  let depthwiseWeights = 0;
  const packedGroups: number[] = [];
  if (depthwise) {
    const taps = kh * kw;
    depthwiseWeights = wasm.persistent(outChannels * taps * 2);
    for (let c = 0; c < outChannels; c++) {
      const z = zps[zps.length === 1 ? 0 : c]!;
      for (let t = 0; t < taps; t++) wasm.i16[(depthwiseWeights >> 1) + c * taps + t] = wData[c * taps + t]! - z;
    }
  } else {
    for (let g = 0; g < group; g++) {
      const rowZps = zps.length === 1 ? [zps[0]!] : Array.from(zps.subarray(g * perGroupOut, (g + 1) * perGroupOut));
      packedGroups.push(packRowsPersistent(wasm, wData, perGroupOut, k, k, 1, rowZps, g * perGroupOut * k));
    }
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
          win.padTop, win.padLeft, win.padBottom, win.padRight, win.dilationW);
        const ranges = splitRange(outChannels, parts);
        const scratch = wasm.scratchPerThread(scratchBytes);
        for (let n = 0; n < s.batch; n++) {
          wasm.run(ranges.map(([c0, c1]): KernelTask => ({
            kernel: "depthwiseConv",
            args: [
              xAt + n * s.inChannels * inPlane, s.inHeight, s.inWidth, c0, c1, zx, inputSigned,
              kh, kw, win.strideH, win.strideW, win.padTop, win.padLeft, win.padBottom, win.padRight, win.dilationH, win.dilationW,
              s.outHeight, s.outWidth, depthwiseWeights, stage.bias, stage.multipliers, stage.shifts, stage.perRow,
              stage.zero, stage.min, stage.max, stage.signed, outAt + n * outChannels * positions, table.pointer, 0,
            ],
          })), scratch);
        }
      } else {
        const direct = kh === 1 && kw === 1 && win.strideH === 1 && win.strideW === 1 &&
          win.padTop === 0 && win.padLeft === 0 && win.padBottom === 0 && win.padRight === 0;
        const macs = perGroupOut * k * positions;
        const parts = macs >= PARALLEL_MIN_MACS && threads > 1 ? threads * TASKS_PER_THREAD : 1;
        // Other convolutions read the image as an implicit im2col matrix: its geometry goes to the kernel.
        const geometry = direct ? 0 : wasm.arena(11 * 4);
        if (!direct) {
          wasm.i32.set([s.inHeight, s.inWidth, kh, kw, win.strideH, win.strideW, win.padTop, win.padLeft,
            win.dilationH, win.dilationW, s.outWidth], geometry >> 2);
        }
        const panels = wasm.scratchPerThread(wasm.exports.panelBytes(k));
        const columns = splitColumns(positions, parts);
        for (let n = 0; n < s.batch; n++) {
          for (let g = 0; g < group; g++) {
            const b = xAt + (n * s.inChannels + g * groupChannels) * inPlane;
            const rowOffset = g * perGroupOut;
            const paramOffset = stage.perRow ? rowOffset * 4 : 0;
            wasm.run(columns.map(([n0, n1]): KernelTask => ({
              kernel: "gemmRequantize",
              args: [
                perGroupOut, k, packedGroups[g]!, b, positions, zx, inputSigned, n0, n1,
                stage.bias ? stage.bias + rowOffset * 4 : 0, stage.multipliers + paramOffset, stage.shifts + paramOffset, stage.perRow,
                stage.zero, stage.min, stage.max, stage.signed,
                outAt + (n * outChannels + rowOffset) * positions, positions, table.pointer, geometry, 0,
              ],
            })), panels);
          }
        }
      }
    } finally {
      wasm.endCall();
    }
    return y;
  }, table);
}
