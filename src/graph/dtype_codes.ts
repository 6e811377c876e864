/**
 * ONNX TensorProto.DataType codes as they appear inside graph attributes (Cast `to`,
 * EyeLike/RandomNormal `dtype`). The graph layer needs them to reason about Cast without
 * depending on the protobuf module (onnx/ sits below graph/ in the module order); onnx/dtype.ts
 * uses this same table.
 * Codes from onnx.proto (IR version 10).
 */
import type { DType } from "../tensor/tensor.js";

const CODE_TO_DTYPE: Record<number, DType> = {
  1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
  8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
  21: "uint4", 22: "int4",
};

/** ONNX types octet reads nothing of, named in errors. */
const UNSUPPORTED_NAMES: Record<number, string> = {
  14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
  19: "float8e5m2", 20: "float8e5m2fnuz", 23: "float4e2m1",
};

export function dtypeOfCode(code: number, where: string): DType {
  const dt = CODE_TO_DTYPE[code];
  if (!dt) throw new Error(`${where}: ONNX data type ${UNSUPPORTED_NAMES[code] ?? `code ${code}`} is not supported by octet`);
  return dt;
}

export function codeOfDType(dtype: DType): number {
  for (const [code, dt] of Object.entries(CODE_TO_DTYPE)) if (dt === dtype) return Number(code);
  throw new Error(`dtype ${dtype} has no ONNX code`);
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64" || dtype === "float16";
}
