/** ONNX TensorProto.DataType codes ⇄ octet DTypes (the table is graph/dtype_codes.ts) and raw sizes. */
import type { DType } from "../tensor/tensor.js";

export { dtypeOfCode as dtypeFromOnnx, codeOfDType as onnxFromDType } from "../graph/dtype_codes.js";

/** Bytes per element in raw_data (sub-byte types are packed two per byte). */
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
