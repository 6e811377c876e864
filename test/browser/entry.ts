// Bundled for the browser by core.test.ts: quantizes a model with octet's core and onnxruntime-web.
import { quantizeModel, decodeModel, encodeModel, type Feeds } from "../../src/core.js";
import { createOrtWebExecutor } from "../../src/calibrate/ort_web.js";
import { randomTensor, rng } from "../helpers/models.js";
import * as ort from "onnxruntime-web";

declare global {
  interface Window {
    quantizeInBrowser(modelBytes: number[]): Promise<number[]>;
  }
}

window.quantizeInBrowser = async (modelBytes) => {
  ort.env.wasm.wasmPaths = "/ort/";
  const model = decodeModel(Uint8Array.from(modelBytes));
  const r = rng(42);
  const batches: Feeds[] = Array.from({ length: 3 }, () => ({ x: randomTensor([4, 1, 8, 8], 1, r) }));
  const result = await quantizeModel(model, (async function* () { yield* batches; })(), {
    method: "entropy",
    createExecutor: (m) => createOrtWebExecutor(m),
  });
  return Array.from(encodeModel(result.model));
};
