/**
 * Quantized transposed convolution on the WebAssembly kernels, equal bit for bit to the reference
 * convTranspose2d (src/kernels/reference/conv_transpose2d.ts) for the same plan. Per image and
 * group, as in Caffe's deconvolution:
 *
 *   cols[(oc, ky, kx), (iy, ix)] = Σ_ic (w[ic, oc, ky, kx] − z_w[oc]) · (x[ic, iy, ix] − z_x)   (GEMM, int32)
 *   acc[oc, oy, ox] = bias[oc] + Σ cols at oy = iy·SH − PT + ky·DH, ox = ix·SW − PL + kx·DW  (col2im)
 *   y = requantize(acc)
 *
 * All sums are int32 with wrap-around, so their order does not change the result.
 */
import { type ConvTranspose2dPlan, type Int8Tensor, int8Data } from "../reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import { PARALLEL_MIN_MACS, TASKS_PER_THREAD, packRowsPersistent, prepareStages, splitColumns, splitRange } from "./conv.js";
import type { KernelTask } from "./thread_pool.js";
import { type FusableKernel, type Int8Wasm, OutputTable, fusable } from "./wasm.js";

export function wasmConvTranspose2d(
  wasm: Int8Wasm, plan: ConvTranspose2dPlan, weight: Tensor, bias: Int32Array | undefined,
): FusableKernel<[Tensor], Int8Tensor> {
  const wData = int8Data(weight, "convTranspose2d weight");
  if (weight.dims.length !== 4) throw new Error(`convTranspose2d weight must be [C_in, C_out/group, kH, kW], got [${weight.dims.join(", ")}]`);
  const [inChannels, outPerGroup, kh, kw] = weight.dims as [number, number, number, number];
  const group = plan.group;
  if (inChannels % group !== 0) throw new Error(`convTranspose2d: ${inChannels} input channels are not divisible by group ${group}`);
  const inPerGroup = inChannels / group;
  const outChannels = outPerGroup * group;
  const rowsPerGroup = outPerGroup * kh * kw;
  const taps = kh * kw;
  const zps = plan.weightZeroPoints;
  const packed: number[] = [];
  for (let g = 0; g < group; g++) {
    // Row r = (oc, ky, kx) of group g, column ic: w[(g·inPerGroup + ic), r] — rows are contiguous, k strided.
    const rowZps = zps.length === 1 ? [zps[0]!] : Array.from({ length: rowsPerGroup }, (_, r) => zps[Math.floor(r / taps)]!);
    packed.push(packRowsPersistent(wasm, wData, rowsPerGroup, inPerGroup, 1, rowsPerGroup, rowZps, g * inPerGroup * rowsPerGroup));
  }
  const win = plan.window;
  // Stride = kernel with no padding, dilation or output padding: every output has exactly one tap,
  // so the GEMM can requantize rows directly (per-row params: row (oc, ky, kx) has channel oc's).
  const tiles = win.strideH === kh && win.strideW === kw && win.dilationH === 1 && win.dilationW === 1 &&
    win.padTop === 0 && win.padLeft === 0 && win.padBottom === 0 && win.padRight === 0 &&
    plan.outputPaddingH === 0 && plan.outputPaddingW === 0;
  const channelOf = (r: number) => Math.floor(r / taps);
  const stages = tiles
    ? prepareStages(wasm, plan.outputStage, outChannels * taps, bias ? (r) => bias[channelOf(r)]! : undefined, channelOf)
    : prepareStages(wasm, plan.outputStage, outChannels, bias ? (c) => bias[c]! : undefined);
  const inputSigned = plan.inputDType === "int8" ? 1 : 0;
  const table = new OutputTable(wasm);
  return fusable((x: Tensor): Int8Tensor => {
    if (x.dtype !== plan.inputDType) throw new Error(`convTranspose2d: input is ${x.dtype} but the plan was prepared for ${plan.inputDType}`);
    const xData = int8Data(x, "convTranspose2d input");
    if (x.dims.length !== 4 || x.dims[1] !== inChannels) {
      throw new Error(`convTranspose2d input must be [N, ${inChannels}, H, W], got dims [${x.dims.join(", ")}]`);
    }
    const [batch, , h, w] = x.dims as [number, number, number, number];
    const oh = win.strideH * (h - 1) + plan.outputPaddingH + (kh - 1) * win.dilationH + 1 - win.padTop - win.padBottom;
    const ow = win.strideW * (w - 1) + plan.outputPaddingW + (kw - 1) * win.dilationW + 1 - win.padLeft - win.padRight;
    if (oh < 1 || ow < 1) throw new Error(`convTranspose2d: pads leave an empty output (${oh}×${ow})`);
    const y = wasm.newTensor(table.dtype ?? plan.outputStage.outputDType, [batch, outChannels, oh, ow]);
    const positions = h * w;
    const outPlane = oh * ow;
    wasm.beginCall();
    try {
      const xAt = wasm.putBytes(xData);
      if (tiles) {
        const rowsAt = wasm.arena(outChannels * taps * positions);
        const outAt = wasm.offsetOf(y.data)!;
        const threads = wasm.threads;
        const parts = rowsPerGroup * inPerGroup * positions >= PARALLEL_MIN_MACS && threads > 1 ? threads * TASKS_PER_THREAD : 1;
        const panels = wasm.scratchPerThread(wasm.exports.panelBytes(inPerGroup));
        for (let n = 0; n < batch; n++) {
          for (let g = 0; g < group; g++) {
            const first = g * rowsPerGroup;
            wasm.run(splitColumns(positions, parts).map(([c0, c1]): KernelTask => ({
              kernel: "gemmRequantize",
              args: [
                rowsPerGroup, inPerGroup, packed[g]!, xAt + (n * inChannels + g * inPerGroup) * positions, positions, plan.inputZeroPoint, 0,
                inputSigned, c0, c1, stages.at + first * stages.stride, stages.stride, stages.short, stages.signed,
                rowsAt + first * positions, positions, table.pointer, 0, 0,
              ],
            })), panels);
          }
          wasm.run(splitRange(outChannels, parts).map(([c0, c1]): KernelTask => ({
            kernel: "pixelShuffle", args: [rowsAt, h, w, kh, kw, c0, c1, outAt + n * outChannels * outPlane],
          })));
        }
        return y;
      }
      const cols = wasm.arena(rowsPerGroup * positions * 4);
      const acc = wasm.arena(outChannels * outPlane * 4 + 32);
      const outAt = wasm.offsetOf(y.data)!;
      const threads = wasm.threads;
      const macs = rowsPerGroup * inPerGroup * positions;
      const parts = macs >= PARALLEL_MIN_MACS && threads > 1 ? threads * TASKS_PER_THREAD : 1;
      const panels = wasm.scratchPerThread(wasm.exports.panelBytes(inPerGroup));
      for (let n = 0; n < batch; n++) {
        wasm.u8.fill(0, acc, acc + outChannels * outPlane * 4);
        for (let g = 0; g < group; g++) {
          wasm.run(splitColumns(positions, parts).map(([c0, c1]): KernelTask => ({
            kernel: "gemmAccumulate",
            args: [rowsPerGroup, inPerGroup, packed[g]!, xAt + (n * inChannels + g * inPerGroup) * positions, positions, plan.inputZeroPoint, 0,
              inputSigned, c0, c1, cols, positions, 0, 0],
          })), panels);
          wasm.run(splitRange(outPerGroup, parts).map(([c0, c1]): KernelTask => ({
            kernel: "col2imAdd",
            args: [cols, h, w, kh, kw, win.strideH, win.strideW, win.padTop, win.padLeft, win.dilationH, win.dilationW, oh, ow,
              c0, c1, acc + g * outPerGroup * outPlane * 4],
          })));
        }
        wasm.run(splitRange(outChannels, parts).map(([r0, r1]): KernelTask => ({
          kernel: "requantizeRows",
          args: [acc, outPlane, r0, r1, stages.at, stages.stride, stages.short, stages.signed,
            outAt + n * outChannels * outPlane, table.pointer],
        })));
      }
    } finally {
      wasm.endCall();
    }
    return y;
  }, table);
}
