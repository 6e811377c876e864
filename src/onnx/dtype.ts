/** ONNX TensorProto.DataType codes ⇄ octet DTypes (codes from onnx.proto, IR version 10). */
import type { DType } from "../tensor/tensor.js";

const codeToDType: Record<number, DType> = {
  1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
  8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
  21: "uint4", 22: "int4",
};

const unsupportedNames: Record<number, string> = {
  14: "complex64", 15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz",
  19: "float8e5m2", 20: "float8e5m2fnuz", 23: "float4e2m1",
};

export function dtypeFromOnnx(code: number, where: string): DType {
  const dt = codeToDType[code];
  if (dt) return dt;
  const name = unsupportedNames[code];
  throw new Error(`${where}: ONNX data type ${name ?? `code ${code}`} is not supported by octet`);
}

export function onnxFromDType(dtype: DType): number {
  for (const [code, dt] of Object.entries(codeToDType)) if (dt === dtype) return Number(code);
  throw new Error(`dtype ${dtype} has no ONNX code`);
}

/** Bytes per element in raw_data (sub-byte types are packed: see packedByteLength). */
export function rawElementSize(dtype: DType): number {
  switch (dtype) {
    case "float64": case "int64": case "uint64": return 8;
    case "float32": case "int32": case "uint32": return 4;
    case "float16": case "int16": case "uint16": return 2;
    case "int8": case "uint8": case "bool": return 1;
    case "int4": case "uint4": return 0.5;
    case "string": throw new Error("string tensors have no raw element size");
  }
}
