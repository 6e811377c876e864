export { decodeModel, MIN_OPSET, MAX_OPSET } from "./decode.js";
export { encodeModel } from "./encode.js";
export { tensorFromProto, tensorToProto } from "./tensor_proto.js";
export { dtypeFromOnnx, onnxFromDType } from "./dtype.js";
