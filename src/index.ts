/** octet's library API on Node: the browser-safe core plus files, data readers and onnxruntime-node. */
export * from "./core.js";
export { loadModel, saveModel } from "./onnx/files.js";
export { createOrtNodeExecutor } from "./calibrate/ort_node.js";
export { openDataSource, type DataSourceOptions } from "./data/source.js";
export { loadMnist, mnistFeeds } from "./data/mnist.js";
export { readNpy, writeNpy, parseNpy, encodeNpy } from "./data/npy.js";
export { quantizeFile, type QuantizeFileOptions } from "./api/node.js";
export { compareModels, type Comparison } from "./api/compare.js";
export { createIntegerSession, formatReport } from "./runtime/index.js";
