/**
 * Quantized MatMul on the WebAssembly GEMM, equal bit for bit to the reference matMul
 * (src/kernels/reference/matmul.ts) for the same plan.
 *
 * With constant weights B [K, N] (fully connected layers, Gemm), the GEMM computes the transposed
 * product Yᵀ[N, M] = Bᵀ[N, K] · Aᵀ[K, M]: the weights are the packed "rows", so their per-column
 * (per output feature) zero points and multipliers become per-row ones, as the kernel wants them;
 * A is transposed into the arena and Yᵀ back into place. With at most GEMV_MAX_ROWS rows of A
 * (batch 1), Yᵀ would have too few columns for the GEMM's 8-column panels: each row of A then goes
 * through the matrix × vector kernel (assembly/int8/gemv.ts), which reads the same packed
 * weights (or, for symmetric int8 weights, a byte packing of them) and output stages.
 *
 * With two runtime operands (attention), each batch matrix of A is packed at run time and
 * multiplied by B as it is: Y[M, N] = A[M, K] · B[K, N], per-tensor params.
 */
import { type Int8Tensor, type MatMulPlan, int8Data, matMulLayout } from "../reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import type { KernelTask } from "./thread_pool.js";
import { PARALLEL_MIN_MACS, TASKS_PER_THREAD, foldedBias, packRowsPersistent, prepareStages, splitColumns } from "./conv.js";
import { type FusableKernel, type Int8Wasm, OutputTable, fusable } from "./wasm.js";

/** Bᵀ of a [K, N] matrix: [N, K], row-major. */
function transposed(b: ArrayLike<number>, k: number, n: number): Int32Array {
  const t = new Int32Array(k * n);
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) t[j * k + i] = b[i * n + j]!;
  return t;
}

/** packNarrowRows (assembly/int8/gemv.ts) of the columns of B [K, N] as rows, in memory that lives as long as the kernels. */
function packNarrowPersistent(wasm: Int8Wasm, b: Int8Array, n: number, k: number): number {
  const packed = wasm.persistent(wasm.exports.narrowRowsBytes(n, k));
  wasm.beginCall();
  try {
    wasm.exports.packNarrowRows(wasm.putBytes(b), n, k, 1, n, packed);
  } finally {
    wasm.endCall();
  }
  return packed;
}

/**
 * Up to this many rows of A, a fully connected layer runs one matrix × vector product per row
 * (assembly/int8/gemv.ts): the GEMM's 8-column panels would be mostly empty.
 */
export const GEMV_MAX_ROWS = 4;

export function wasmLinear(wasm: Int8Wasm, plan: MatMulPlan, b: Tensor, bias: Int32Array | undefined): FusableKernel<[Tensor], Int8Tensor> {
  const bData = int8Data(b, "matMul B");
  if (b.dims.length !== 2) throw new Error(`linear: B must be [K, N], got [${b.dims.join(", ")}]`);
  const [k, n] = b.dims as [number, number];
  const zps = plan.bZeroPoints;
  if (zps.length !== 1 && zps.length !== n) throw new Error(`linear: ${zps.length} zero points for ${n} columns`);
  if (bias && bias.length !== n) throw new Error(`linear: bias has ${bias.length} values for ${n} columns`);
  // Row m of the packed matrices is column m of B: element (m, j) at m + j·N. Symmetric int8
  // weights stay bytes for the matrix × vector kernel (gemv.ts packNarrowRows: half the memory it
  // reads); the GEMM's i16 packing of them is then made at the first call with more rows.
  const narrow = bData instanceof Int8Array && Array.prototype.every.call(zps, (z: number) => z === 0);
  let packed = narrow ? 0 : packRowsPersistent(wasm, bData, n, k, 1, n, Array.from(zps));
  const gemvWeights = narrow ? packNarrowPersistent(wasm, bData as Int8Array, n, k) : packed;
  // The GEMM uses A raw (no subtraction while it packs): −z_A·Σ_k (B[k, n] − z_B[n]) joins column n's bias.
  const stages = prepareStages(wasm, plan.outputStage, n, foldedBias(transposed(bData, k, n), n, k, zps, plan.aZeroPoint, bias));
  const aSigned = plan.aDType === "int8" ? 1 : 0;
  const table = new OutputTable(wasm);
  // Each thread's widened input vector for the matrix × vector kernel, made at its first call and
  // kept: small layers are dominated by per-call costs.
  let gemvScratch: number[] | undefined;
  // The layout of the last input shape (the same at every call of a model with fixed shapes).
  let lastDims: readonly number[] = [];
  let lastLayout: ReturnType<typeof matMulLayout> | undefined;
  return fusable((a: Tensor): Int8Tensor => {
    if (a.dtype !== plan.aDType) throw new Error(`matMul: A is ${a.dtype} but the plan was prepared for ${plan.aDType}`);
    const aData = int8Data(a, "matMul A");
    if (!lastLayout || a.dims.length !== lastDims.length || a.dims.some((d, i) => d !== lastDims[i])) {
      lastLayout = matMulLayout(a.dims, b.dims);
      lastDims = [...a.dims];
    }
    const layout = lastLayout;
    const rows = aData.length / k;
    const y = wasm.newTensor(table.dtype ?? plan.outputStage.outputDType, layout.outDims);
    if (y.data.length === 0) return y;
    if (rows <= GEMV_MAX_ROWS) gemvScratch ??= Array.from({ length: wasm.threads }, () => wasm.persistent(wasm.exports.gemvScratchBytes(k)));
    else if (packed === 0) packed = packRowsPersistent(wasm, bData, n, k, 1, n, Array.from(zps));
    wasm.beginCall();
    try {
      if (rows <= GEMV_MAX_ROWS) {
        // Yᵀ would have `rows` columns, too few for the GEMM's 8-column panels: one matrix × vector
        // product per row of A (gemv.ts), threads splitting the output features in blocks of 4.
        const parts = n * k * rows >= PARALLEL_MIN_MACS && wasm.threads > 1 ? wasm.threads * TASKS_PER_THREAD : 1;
        const per = Math.ceil(n / parts / 4) * 4;
        const aAt = wasm.putBytes(aData);
        const outAt = wasm.offsetOf(y.data)!;
        const tasks: KernelTask[] = [];
        for (let r0 = 0; r0 < n; r0 += per) {
          tasks.push({
            kernel: "gemvRequantize",
            args: [
              n, k, gemvWeights, narrow ? 1 : 0, aAt, k, aSigned, rows, r0, Math.min(n, r0 + per), stages.at, stages.stride, outAt, n, table.pointer, 0,
            ],
          });
        }
        wasm.run(tasks, gemvScratch);
        return y;
      }
      // Aᵀ [K, rows] (for one row, A itself) and Yᵀ [N, rows] (for one row, Y itself).
      let at: number;
      if (rows === 1) {
        at = wasm.putBytes(aData);
      } else {
        at = wasm.arena(k * rows);
        wasm.exports.transposeBytes(wasm.putBytes(aData), rows, k, at);
      }
      const outAt = rows === 1 ? wasm.offsetOf(y.data)! : wasm.arena(n * rows);
      const parts = n * k * rows >= PARALLEL_MIN_MACS && wasm.threads > 1 ? wasm.threads * TASKS_PER_THREAD : 1;
      const columns = splitColumns(rows, parts);
      const panels = wasm.scratchPerThread(wasm.exports.panelBytes(k));
      wasm.run(columns.map(([c0, c1]): KernelTask => ({
        kernel: "gemmRequantize",
        args: [
          n, k, packed, at, rows, plan.aZeroPoint, 1, aSigned, c0, c1,
          stages.at, stages.stride, stages.short, stages.signed, outAt, rows, table.pointer, 0, 0,
        ],
      })), panels);
      // Yᵀ [N, rows] → Y [rows, N]
      if (rows > 1) wasm.exports.transposeBytes(outAt, n, rows, wasm.offsetOf(y.data)!);
    } finally {
      wasm.endCall();
    }
    return y;
  }, table);
}

export function wasmMatMul(wasm: Int8Wasm, plan: MatMulPlan): FusableKernel<[Tensor, Tensor], Int8Tensor> {
  if (plan.bZeroPoints.length !== 1 || plan.outputStage.multipliers.length !== 1) {
    throw new Error("matMul of two runtime tensors needs per-tensor params for B");
  }
  // Per-tensor params and no bias: one stage for every row.
  const stages = prepareStages(wasm, plan.outputStage, 1);
  const zpA = wasm.persistentInt32([plan.aZeroPoint]);
  const aSigned = plan.aDType === "int8" ? 1 : 0;
  const table = new OutputTable(wasm);
  return fusable((a: Tensor, b: Tensor): Int8Tensor => {
    if (a.dtype !== plan.aDType) throw new Error(`matMul: A is ${a.dtype} but the plan was prepared for ${plan.aDType}`);
    const aData = int8Data(a, "matMul A");
    const bData = int8Data(b, "matMul B");
    const layout = matMulLayout(a.dims, b.dims);
    const { m, k, n } = layout;
    const y = wasm.newTensor(table.dtype ?? plan.outputStage.outputDType, layout.outDims);
    if (y.data.length === 0) return y;
    wasm.beginCall();
    try {
      const aAt = wasm.putBytes(aData);
      const bAt = wasm.putBytes(bData);
      const outAt = wasm.offsetOf(y.data)!;
      const packed = wasm.arena(wasm.exports.packedRowsBytes(m, k));
      const parts = m * k * n >= PARALLEL_MIN_MACS && wasm.threads > 1 ? wasm.threads * TASKS_PER_THREAD : 1;
      const columns = splitColumns(n, parts);
      const panels = wasm.scratchPerThread(wasm.exports.panelBytes(k));
      const bSigned = b.dtype === "int8" ? 1 : 0;
      for (let t = 0; t < layout.aBatchIndex.length; t++) {
        wasm.exports.packRows(aAt + layout.aBatchIndex[t]! * m * k, m, k, k, 1, zpA, 0, aSigned, packed);
        wasm.run(columns.map(([c0, c1]): KernelTask => ({
          kernel: "gemmRequantize",
          args: [
            m, k, packed, bAt + layout.bBatchIndex[t]! * k * n, n, plan.bZeroPoints[0]!, 0, bSigned, c0, c1,
            stages.at, 0, stages.short, stages.signed, outAt + t * m * n, n, table.pointer, 0, 0,
          ],
        })), panels);
      }
    } finally {
      wasm.endCall();
    }
    return y;
  }, table);
}
