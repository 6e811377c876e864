/**
 * A convolution and the MaxPool that reads it, as one kernel: the GEMM's int32 sums are pooled
 * first and only the pooled ones requantized (assembly/int8/accumulators.ts maxPoolRequantize).
 * Equal bit for bit to the reference conv2d followed by the reference maxPool2d, because the
 * output stage is non-decreasing in the accumulator — as long as no int32 arithmetic on the way
 * wraps, which is checked per output channel when the pair is prepared:
 *
 *   the raw sums Σ_k (w − z_w)·x (x up to 255 in magnitude), and
 *   the true accumulator Σ_k (w − z_w)·(x − z_x) + bias, shifted left by the stage's left shift,
 *
 * must stay inside int32. max(f(a), f(b)) = f(max(a, b)) for a non-decreasing f, and adding a
 * channel's constant (the folded bias) commutes with the max. The MaxPool's own requantization,
 * if its params differ from the convolution's output, is a byte table after the max, as in the
 * unfused MaxPool kernel (kernels/int8/pooling.ts).
 *
 * Saves the requantization of all but one accumulator per window (3 of 4 for the common 2×2
 * pool), the 8-bit plane between the two ops and a step. Depthwise convolutions (group > 1), pools whose
 * windows may see only padding, and layers that fail the range check return undefined (the
 * caller keeps the two steps).
 */
import {
  type Conv2dPlan, type Int8Tensor, type MaxPool2dPlan, conv2dShape, int8Data,
} from "../reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import { type GemmConv, TASKS_PER_THREAD, prepareGemmConv, runGemmConv, splitRange } from "./conv.js";
import { requantizeByteTable } from "./movement.js";
import { alwaysSeesInput, outputSize } from "./pooling.js";
import type { KernelTask } from "./thread_pool.js";
import { type FusableKernel, type Int8Wasm, OutputTable, fusable } from "./wasm.js";

const INT32_LIMIT = 2 ** 31;

/** True when no int32 arithmetic of any output channel can wrap (see the file comment). */
function accumulatorsFit(plan: Conv2dPlan, weight: Int8Array | Uint8Array, k: number, bias: Int32Array | undefined): boolean {
  const rows = weight.length / k;
  const zps = plan.weightZeroPoints;
  const zx = plan.inputZeroPoint;
  const [qmin, qmax] = plan.inputDType === "int8" ? [-128, 127] : [0, 255];
  const centred = Math.max(zx - qmin, qmax - zx);
  const stage = plan.outputStage;
  for (let r = 0; r < rows; r++) {
    const zw = zps[zps.length === 1 ? 0 : r]!;
    let magnitude = 0;
    for (let j = 0; j < k; j++) magnitude += Math.abs(weight[r * k + j]! - zw);
    const shift = stage.shifts[stage.shifts.length === 1 ? 0 : r]!;
    const left = shift > 0 ? 2 ** shift : 1;
    if (magnitude * 255 >= INT32_LIMIT) return false;
    if ((magnitude * centred + Math.abs(bias ? bias[r]! : 0)) * left >= INT32_LIMIT) return false;
  }
  return true;
}

export function wasmConvMaxPool(
  wasm: Int8Wasm, conv: Conv2dPlan, weight: Tensor, bias: Int32Array | undefined, pool: MaxPool2dPlan,
): FusableKernel<[Tensor], Int8Tensor> | undefined {
  if (weight.dims.length !== 4) return undefined;
  const [outChannels, groupChannels, kh, kw] = weight.dims as [number, number, number, number];
  if (outChannels % conv.group !== 0) return undefined;
  // Depthwise layers have their own kernel (one GEMM row per group would be slow here).
  const depthwise = conv.group > 1 && groupChannels === 1 && outChannels / conv.group === 1;
  if (depthwise || !alwaysSeesInput(pool)) return undefined;
  if (pool.requantize.inputDType !== conv.outputStage.outputDType) return undefined;
  if (bias && bias.length !== outChannels) return undefined;
  const wData = int8Data(weight, "conv2d weight");
  if (!accumulatorsFit(conv, wData, groupChannels * kh * kw, bias)) return undefined;

  const gemm: GemmConv = prepareGemmConv(wasm, conv, weight, bias);
  const table = new OutputTable(wasm);
  const requantize = requantizeByteTable(pool.requantize);
  if (requantize) table.fuse(requantize, pool.requantize.outputDType);
  const pw = pool.window;
  return fusable((x: Tensor): Int8Tensor => {
    if (x.dtype !== conv.inputDType) throw new Error(`conv2d: input is ${x.dtype} but the plan was prepared for ${conv.inputDType}`);
    const xData = int8Data(x, "conv2d input");
    if (x.dims.length !== 4) throw new Error(`conv2d input must have rank 4 (N, C, H, W), got dims [${x.dims.join(", ")}]`);
    const s = conv2dShape(x.dims, weight.dims, conv.window, conv.group);
    const [oh, ow] = outputSize(pool, s.outHeight, s.outWidth);
    const y = wasm.newTensor(table.dtype ?? conv.outputStage.outputDType, [s.batch, outChannels, oh, ow]);
    if (y.data.length === 0) return y;
    wasm.beginCall();
    try {
      const xAt = wasm.putBytes(xData);
      const planes = s.batch * outChannels;
      const plane = s.outHeight * s.outWidth;
      // The sums of every image, with slack for the pool's 8-accumulator reads past a row.
      const sums = wasm.arena(4 * (planes * plane + 8));
      runGemmConv(wasm, conv, gemm, s, xAt, { kind: "int32", at: sums });
      const parts = wasm.threads > 1 && planes * plane >= 1 << 15 ? wasm.threads * TASKS_PER_THREAD : 1;
      const outAt = wasm.offsetOf(y.data)!;
      const st = gemm.stages;
      const tasks: KernelTask[] = [];
      for (let n = 0; n < s.batch; n++) {
        for (const [c0, c1] of splitRange(outChannels, parts)) {
          tasks.push({
            kernel: "maxPoolRequantize",
            args: [
              sums + 4 * n * outChannels * plane, s.outHeight, s.outWidth, pool.kernelH, pool.kernelW, pw.strideH, pw.strideW,
              pw.padTop, pw.padLeft, pw.dilationH, pw.dilationW, oh, ow, c0, c1,
              st.at, st.stride, st.short, st.signed, outAt + n * outChannels * oh * ow, table.pointer, 0,
            ],
          });
        }
      }
      wasm.run(tasks, wasm.scratchPerThread(4 * (oh * ow + 8)));
    } finally {
      wasm.endCall();
    }
    return y;
  }, table);
}
