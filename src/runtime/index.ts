/**
 * octet's integer-only inference engine (Jacob et al. 2018): compiles a quantized ONNX model — QDQ
 * (octet's own output or any other quantizer's) or QOperator — into integer kernels and runs it.
 */
export { createIntegerSession, type IntegerSession, type IntegerSessionOptions, type KernelChoice } from "./session.js";
export type { CompileFusions, CompileReport, FloatNode, StepSummary } from "./compile/compiler.js";
export { formatReport } from "./report.js";
export type { Int8Backend } from "./backend.js";
