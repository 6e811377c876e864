/**
 * Whole models: octet's integer-only engine against onnxruntime-node running the same QDQ model.
 *
 * ONNX Runtime fuses the QDQ groups into its QLinear* kernels, which requantize in float
 * (acc·s_x·s_w/s_y rounded half to even, docs/integer-arithmetic.md §11), where octet uses the
 * fixed-point multiplier, the 20-bit Add scheme and integer rounding. A one-step difference in one
 * layer can grow through the following layers, so a whole model is compared on its final
 * quantized output: the fraction of elements within one quantization step (the scale of the
 * model's final DequantizeLinear) must be ≥ 99 %.
 *
 * Also: the engine's two kernel backends (reference TypeScript, WebAssembly SIMD) give identical
 * integers on whole models, and the compile report says what ran on integers.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { quantizeModel } from "../../src/api/quantize.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Feeds } from "../../src/data/feeds.js";
import { readNpy } from "../../src/data/npy.js";
import type { Model } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { loadModel } from "../../src/onnx/files.js";
import { createIntegerSession } from "../../src/runtime/index.js";
import { type Tensor, toFloat32 } from "../../src/tensor/tensor.js";
import { randomTensor, rng, smallCnn } from "../helpers/models.js";

const repo = join(import.meta.dirname, "..", "..");
const assets = join(repo, "node_modules", "@gutenye", "ocr-models", "assets");

async function* source(feeds: Feeds[]): AsyncGenerator<Feeds> {
  yield* feeds;
}

/** The scale of the DequantizeLinear that produces graph output `name`: one step of the output. */
function outputStep(model: Model, name: string): number {
  const dq = model.graph.nodes.find((n) => n.outputs.includes(name) && n.opType === "DequantizeLinear");
  assert.ok(dq, `output ${name} comes from a DequantizeLinear`);
  return toFloat32(model.graph.initializers.get(dq.inputs[1]!)!)[0]!;
}

async function runOrt(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  const ortFeeds: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) ortFeeds[k] = new ort.Tensor("float32", t.data as Float32Array, t.dims);
  const out = await session.run(ortFeeds);
  await session.release();
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
}

interface Agreement {
  elements: number;
  withinOneStep: number;
  maxSteps: number;
}

function agreement(ours: Float32Array, theirs: Float32Array, step: number): Agreement {
  assert.equal(ours.length, theirs.length, "output sizes");
  let within = 0;
  let maxSteps = 0;
  for (let i = 0; i < ours.length; i++) {
    const steps = Math.abs(ours[i]! - theirs[i]!) / step;
    if (steps <= 1 + 1e-3) within++;
    maxSteps = Math.max(maxSteps, steps);
  }
  return { elements: ours.length, withinOneStep: within, maxSteps };
}

function assertAgreement(a: Agreement, what: string): void {
  const fraction = a.withinOneStep / a.elements;
  assert.ok(fraction >= 0.99, `${what}: only ${(100 * fraction).toFixed(3)} % of ${a.elements} outputs within one step of onnxruntime (max ${a.maxSteps.toFixed(1)} steps)`);
}

function sameData(a: Tensor, b: Tensor, what: string): void {
  assert.deepEqual(a.dims, b.dims, `${what}: dims`);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.fail(`${what}: element ${i} differs (${x[i]} vs ${y[i]})`);
}

test("small CNN (octet QDQ): integer engine within one step of onnxruntime, both kernel backends identical", async (t) => {
  const r = rng(11);
  const calib = Array.from({ length: 4 }, () => ({ x: randomTensor([8, 1, 8, 8], 1, r) }));
  const { model } = await quantizeModel(smallCnn(), source(calib), { createExecutor: (m) => createOrtNodeExecutor(m), method: "minmax" });
  const x = randomTensor([64, 1, 8, 8], 1, rng(12));
  const reference = createIntegerSession(model, { kernels: "reference" });
  const wasm = createIntegerSession(model, { kernels: "wasm" });
  try {
    // Everything between the input's QuantizeLinear and the output's DequantizeLinear is integer.
    assert.equal(reference.report.counts.float, 0, JSON.stringify(reference.report.floatNodes));
    assert.equal(reference.report.counts.boundary, 2);
    assert.ok(reference.report.counts.integer >= 6);
    const ours = reference.run({ x });
    sameData(wasm.run({ x }).logits!, ours.logits!, "wasm vs reference kernels");
    // The first run with a shape prepares what depends on it (the GEMM packing of fully connected
    // weights kept as bytes for batch 1) and keeps that; activations live in WebAssembly memory
    // during a run and are all freed by its end.
    const prepared = wasm.bytesInUse();
    sameData(wasm.run({ x }).logits!, ours.logits!, "wasm vs reference kernels, second run");
    assert.equal(wasm.bytesInUse(), prepared, "memory held after a second run");
    wasm.run({ x });
    assert.equal(wasm.bytesInUse(), prepared, "memory held after a third run");
    const theirs = await runOrt(encodeModel(model), { x });
    const a = agreement(ours.logits!.data as Float32Array, theirs.logits!, outputStep(model, "logits"));
    t.diagnostic(`small CNN: ${a.withinOneStep}/${a.elements} outputs within one step, max ${a.maxSteps.toFixed(2)} steps`);
    assertAgreement(a, "small CNN");
  } finally {
    reference.dispose();
    wasm.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// PP-OCRv4 detector, recogniser and direction classifier, quantized by octet from rendered data.

const work = mkdtempSync(join(tmpdir(), "octet-runtime-ppocr-"));
let inputsWritten = false;

function calibrationInputs(kind: "det" | "rec" | "cls"): string {
  if (!inputsWritten) {
    const r = spawnSync(process.execPath, [
      "--import", "tsx", join(repo, "examples", "ppocr", "evaluate.ts"), "--write-inputs", join(work, "inputs"), "--seed", "5",
      "--lines", "12", "--directions", "12", "--pages", "3",
    ], { encoding: "utf8", cwd: repo });
    assert.equal(r.status, 0, `evaluate.ts --write-inputs failed: ${r.stderr}`);
    inputsWritten = true;
  }
  const dir = join(work, "inputs", kind);
  assert.ok(existsSync(dir), `${dir} was not written`);
  return dir;
}

async function quantizePpocr(kind: "det" | "rec" | "cls", file: string): Promise<Model> {
  const dir = calibrationInputs(kind);
  const float = loadModel(join(assets, file));
  const files = readdirSync(dir).filter((f) => f.endsWith(".npy")).sort();
  const feeds: Feeds[] = [];
  for (const f of files.slice(0, 8)) feeds.push({ x: await readNpy(join(dir, f)) });
  const { model } = await quantizeModel(float, source(feeds), { createExecutor: (m) => createOrtNodeExecutor(m), method: "minmax" });
  return model;
}

const PPOCR = [
  { kind: "cls", file: "ch_ppocr_mobile_v2.0_cls_infer.onnx", samples: 4, output: "softmax_0.tmp_0", bothBackends: true },
  { kind: "det", file: "ch_PP-OCRv4_det_infer.onnx", samples: 1, output: "sigmoid_0.tmp_0", bothBackends: false },
  { kind: "rec", file: "ch_PP-OCRv4_rec_infer.onnx", samples: 2, output: "softmax_11.tmp_0", bothBackends: false },
] as const;

for (const c of PPOCR) {
  test(`PP-OCR ${c.kind} (octet QDQ): integer engine within one step of onnxruntime on ≥ 99 % of outputs`, async (t) => {
    const model = await quantizePpocr(c.kind, c.file);
    const bytes = encodeModel(model);
    const session = createIntegerSession(model, { kernels: "wasm" });
    const reference = c.bothBackends ? createIntegerSession(model, { kernels: "reference" }) : undefined;
    // The same model with every node compiled on its own: fusions must not change a value.
    const unfused = createIntegerSession(model, { kernels: "wasm", fusions: { layerNorm: false, softmax: false, maxPool: false } });
    try {
      const dir = calibrationInputs(c.kind);
      const files = readdirSync(dir).filter((f) => f.endsWith(".npy")).sort().slice(-c.samples); // not the calibration ones first
      const step = outputStep(model, c.output);
      const total: Agreement = { elements: 0, withinOneStep: 0, maxSteps: 0 };
      // The first run with a shape prepares what depends on it (Resize tables) and keeps that;
      // after it, runs free every activation they allocate.
      session.run({ x: await readNpy(join(dir, files[0]!)) });
      const prepared = session.bytesInUse();
      for (const f of files) {
        const x = await readNpy(join(dir, f));
        const ours = session.run({ x })[c.output]!;
        assert.equal(session.bytesInUse(), prepared, `${c.kind}: WebAssembly memory held after a run`);
        if (reference) sameData(reference.run({ x })[c.output]!, ours, `${c.kind} ${f}: wasm vs reference kernels`);
        sameData(unfused.run({ x })[c.output]!, ours, `${c.kind} ${f}: fused vs unfused steps`);
        const theirs = (await runOrt(bytes, { x }))[c.output]!;
        const a = agreement(ours.data as Float32Array, theirs, step);
        total.elements += a.elements;
        total.withinOneStep += a.withinOneStep;
        total.maxSteps = Math.max(total.maxSteps, a.maxSteps);
      }
      const counts = session.report.counts;
      t.diagnostic(`${c.kind}: ${total.withinOneStep}/${total.elements} (${(100 * total.withinOneStep / total.elements).toFixed(3)} %) within one step, max ${total.maxSteps.toFixed(1)} steps; steps ${counts.integer} integer, ${counts.float} float, ${counts.boundary} boundary, ${counts.shape} shape`);
      assertAgreement(total, `PP-OCR ${c.kind}`);
      // The only float compute left is what the quantizer left in float: rec's LayerNorm statistics,
      // one fused step per LayerNorm (its 5 in the SVTR neck), or their pieces when not fused.
      for (const f of session.report.floatNodes) assert.equal(f.opType, "LayerNorm", `unexpected float op ${f.opType} (${f.node}): ${f.reason}`);
      for (const f of unfused.report.floatNodes) assert.match(f.opType, /^(ReduceMean|Pow|Sqrt|Div)$/, `unexpected float op ${f.opType} (${f.node}): ${f.reason}`);
      if (c.kind === "rec") assert.equal(session.report.floatNodes.length, 5, "one LayerNorm step per LayerNorm");
    } finally {
      session.dispose();
      reference?.dispose();
      unfused.dispose();
    }
  });
}
