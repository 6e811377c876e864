/** The graph module's public surface: the IR, passes, shape inference and fusion queries. */
export * from "./ir.js";
export * from "./passes/index.js";
export { inferShapes, inferValueFacts, hasShapeRule, type ShapeInferenceOptions, type ShapeInferenceReport, type ValueFacts } from "./shape_inference.js";
export { findActivationFusions, findHardSwishPatterns, clipRange, type ActivationFusion, type ActivationKind, type HardSwishPattern } from "./fusion.js";
export { constantOf, constantNodeValue, tensorFromNumbers, numbersOf, int64Tensor, float32Tensor, addInitializer, pruneUnusedInitializers } from "./constants.js";
export { opVersions, opVersionAt, minimumIrVersion, MAX_KNOWN_OPSET } from "./opset_history.js";
export { evaluateNode, canEvaluate, CannotEvaluate } from "./eval/index.js";
