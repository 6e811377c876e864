/**
 * Quantizes the three PP-OCR models (det, rec, cls) with every calibration method and evaluates
 * float against int8 on the rendered evaluation set:
 *
 *   node --import tsx examples/ppocr/quantize_all.ts [--models det,rec,cls]
 *        [--methods minmax,moving-average,percentile,entropy,mse] [--preset ort] [--exclude names,OpTypes]
 *        [--calib-lines 64] [--calib-directions 64] [--calib-pages 16] [--calib-seed 7]
 *        [--out /tmp/octet-ppocr] [--tag s] [--doc docs/ppocr.md] [--json results.json]
 *        [--excluded-read-float] [--bias-correction] [--compose-folds]
 *
 * The last three are experiments of the recogniser investigation (docs/ppocr.md): excluded nodes
 * reading float tensors, empirical bias correction, and bench/compose_folds.ts's prototype rule.
 *
 * Calibration data is rendered with a seed different from the evaluation set's (DEFAULT_SEED), so
 * the models are never calibrated on the lines they are scored on.
 *
 * One float pass per model serves all five methods: every calibrated tensor streams into a MinMax,
 * a moving-average MinMax and one histogram observer, and the percentile, entropy and MSE
 * calibrations are read from copies of that same histogram (they differ only in how `range()`
 * reads it; histogram.ts makes the counts independent of batch order). The result is exactly what
 * `octet quantize --method <m>` computes on the same samples in the same order, for a fifth of
 * the inference. The float reference's outputs are memoised, so it runs once per model too.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import * as ort from "onnxruntime-node";
import { quantizeModel, resolvePreset } from "../../src/api/quantize.js";
import { exportWithComposedFolds } from "../../bench/compose_folds.js";
import { exportQdq } from "../../src/export/qdq.js";
import { correctBiases } from "../../src/optimize/bias_correction.js";
import { resolveActivationParams } from "../../src/plan/resolve.js";
import { prepareForQuantization } from "../../src/api/prepare.js";
import { calibratedTensors, type Calibration, type CalibrationMethod } from "../../src/calibrate/calibrate.js";
import type { Executor, Feeds } from "../../src/calibrate/executor.js";
import { withExtraOutputs } from "../../src/calibrate/expose.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import { onnxOpset, type Model } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { loadModel } from "../../src/onnx/files.js";
import { createObserver, observerFromState, type Observer } from "../../src/observe/index.js";
import type { HistogramObserverState } from "../../src/observe/observer.js";
import { planQuantization, type QuantPlan } from "../../src/plan/plan.js";
import { presetByName, type PresetName } from "../../src/plan/preset.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { buildEvaluationSet, DEFAULT_SEED, type EvaluationSet, type ModelKind, modelInputs } from "./dataset.js";
import {
  evaluateClassifier, evaluateDetector, evaluateRecognizer, type ModelRunner, ortRunner, packagedModelPaths,
} from "./evaluate.js";

export const ALL_METHODS: readonly CalibrationMethod[] = ["minmax", "moving-average", "percentile", "entropy", "mse"];
export const MODEL_KINDS: readonly ModelKind[] = ["det", "rec", "cls"];

/** Calibration data seed: anything but the evaluation set's DEFAULT_SEED. */
export const CALIBRATION_SEED = 7;

// ─── Calibration data ──────────────────────────────────────────────────────────────────────────

export interface CalibrationCounts {
  lines: number;
  directions: number;
  pages: number;
}

/** Rendered calibration inputs of one model, one sample per batch, as feeds for `inputName`. */
export function calibrationFeeds(kind: ModelKind, inputName: string, counts: CalibrationCounts, seed = CALIBRATION_SEED): Feeds[] {
  if (seed === DEFAULT_SEED) throw new Error(`calibration seed ${seed} is the evaluation set's seed: pick another one`);
  const set = buildEvaluationSet({
    seed,
    lineCount: kind === "rec" ? counts.lines : 0,
    directionCount: kind === "cls" ? counts.directions : 0,
    pageCount: kind === "det" ? counts.pages : 0,
  });
  return modelInputs(set, kind).map((t) => ({ [inputName]: t }));
}

export async function* iterate(feeds: readonly Feeds[]): AsyncGenerator<Feeds> {
  for (const f of feeds) yield f;
}

// ─── One float pass, every method ──────────────────────────────────────────────────────────────

/** The prepared float model and the plan quantizeModel will build for these options. */
export function preparedPlan(model: Model, preset: PresetName, exclude: string[] = []): { prepared: Model; plan: QuantPlan } {
  const p = presetByName(preset);
  const needsOpset = p.weight.perChannel ? 13 : 10;
  const { model: prepared } = prepareForQuantization(model, { minOpset: Math.max(needsOpset, onnxOpset(model)) });
  return { prepared, plan: planQuantization(prepared.graph, { preset: p, exclude }) };
}

export interface MultiCalibration {
  samples: number;
  /** Wall time of the pass: inference with the tensors exposed plus every observer update. */
  seconds: number;
  minmax: Map<string, Observer>;
  movingAverage: Map<string, Observer>;
  /** Histogram observers (recorded as "percentile"); entropy and MSE read the same histograms. */
  histogram: Map<string, Observer>;
}

export interface MultiCalibrationOptions {
  /** Symmetric ranges for these tensors (the plan's formats); default asymmetric. */
  symmetric?: (name: string) => boolean;
  threads?: number;
  createExecutor?: (model: Model) => Promise<Executor>;
}

/**
 * Runs the prepared float model once over `feeds` with `names` exposed and records every tensor
 * in a MinMax, a moving-average and a histogram observer (8 bits, as calibrate() configures them).
 */
export async function calibrateEveryMethod(
  prepared: Model, names: readonly string[], feeds: readonly Feeds[], options: MultiCalibrationOptions = {},
): Promise<MultiCalibration> {
  if (feeds.length === 0) throw new Error("calibrateEveryMethod: no calibration samples");
  const symmetric = options.symmetric ?? (() => false);
  const result: MultiCalibration = { samples: 0, seconds: 0, minmax: new Map(), movingAverage: new Map(), histogram: new Map() };
  for (const name of names) {
    const o = { symmetric: symmetric(name), bits: 8 };
    result.minmax.set(name, createObserver("minmax", o));
    result.movingAverage.set(name, createObserver("moving-average", o));
    result.histogram.set(name, createObserver("percentile", o));
  }
  const inputNames = new Set(prepared.graph.inputs.map((i) => i.name));
  const create = options.createExecutor ?? ((m: Model) => createOrtNodeExecutor(m, { threads: options.threads ?? 1 }));
  const start = performance.now();
  const executor = await create(withExtraOutputs(prepared, names.filter((n) => !inputNames.has(n))));
  try {
    for (const f of feeds) {
      const outputs = await executor.run(f);
      for (const name of names) {
        const t: Tensor | undefined = inputNames.has(name) ? f[name] : outputs.get(name);
        if (!t || t.dtype !== "float32") throw new Error(`calibration: tensor ${name} is missing or not float32`);
        const values = t.data as Float32Array;
        result.minmax.get(name)!.update(values);
        result.movingAverage.get(name)!.update(values);
        result.histogram.get(name)!.update(values);
      }
      result.samples += 1;
    }
  } finally {
    await executor.dispose();
  }
  result.seconds = (performance.now() - start) / 1000;
  return result;
}

/** The calibration `method` would have produced, restricted to `names` (default: all recorded). */
export function calibrationFor(multi: MultiCalibration, method: CalibrationMethod, names?: Iterable<string>): Calibration {
  const source = method === "minmax" ? multi.minmax : method === "moving-average" ? multi.movingAverage : multi.histogram;
  const wanted = names ? [...names] : [...source.keys()];
  const observers = new Map<string, Observer>();
  for (const name of wanted) {
    const o = source.get(name);
    if (!o) throw new Error(`calibration: tensor ${name} was not recorded`);
    const state = o.state();
    observers.set(name, observerFromState(state.method === "percentile" ? ({ ...(state as HistogramObserverState), method } as HistogramObserverState) : state));
  }
  return { method, samples: multi.samples, observers };
}

export interface FromCalibrationOptions {
  preset?: PresetName;
  exclude?: string[];
  /** Post-process the export so excluded nodes read float tensors (see excludedNodesReadFloat). */
  excludedReadFloat?: boolean;
  /** Prototype planner rule: scale folds extended over the scalar Mul/Add chains after them (bench/compose_folds.ts). */
  composeFolds?: boolean;
  /** Empirical bias correction (src/optimize/bias_correction.ts) over these samples, input quantization included. */
  biasCorrection?: readonly Feeds[];
  threads?: number;
}

/** quantizeModel from a finished calibration (no data, no executor needed). */
export async function quantizeFromCalibration(
  model: Model, calibration: Calibration, options: FromCalibrationOptions = {},
): ReturnType<typeof quantizeModel> {
  const { plan } = preparedPlan(model, options.preset ?? "ort", options.exclude ?? []);
  const names = calibratedTensors(plan);
  const restricted: Calibration = { ...calibration, observers: new Map(names.map((n) => {
    const o = calibration.observers.get(n);
    if (!o) throw new Error(`calibration has no observer for tensor ${n}`);
    return [n, o] as const;
  })) };
  const result = await quantizeModel(model, undefined, {
    method: calibration.method,
    preset: options.preset ?? "ort",
    exclude: options.exclude ?? [],
    calibrations: [restricted],
    createExecutor: () => Promise.reject(new Error("quantizeFromCalibration runs no calibration")),
  });
  let out = result;
  const preset = resolvePreset({ preset: options.preset ?? "ort" });
  const range = (t: string) => restricted.observers.get(t)!.range();
  let floatModel = result.prepared;
  let floatPlan = result.plan;
  if (options.biasCorrection) {
    const bc = await correctBiases(result.prepared, result.plan, iterate(options.biasCorrection), {
      createExecutor: (m) => createOrtNodeExecutor(m, { threads: options.threads ?? 1 }),
      activationParams: result.params,
    });
    floatModel = bc.model;
    floatPlan = bc.plan;
  }
  if (options.composeFolds) {
    const c = exportWithComposedFolds(floatModel, floatPlan, range, preset);
    if (c.misaligned.length) throw new Error(`composed folds: offsets of ${c.misaligned.join(", ")} fall outside the integer range`);
    out = { ...result, model: c.model, plan: c.plan, params: c.params };
  } else if (options.biasCorrection) {
    const ranges = new Map(calibratedTensors(floatPlan).map((t) => [t, range(t)]));
    const exported = exportQdq(floatModel, floatPlan, resolveActivationParams(floatModel.graph, floatPlan, ranges, preset));
    out = { ...result, model: exported.model, plan: floatPlan, params: exported.params };
  }
  if (!options.excludedReadFloat) return out;
  const excluded = out.plan.floatNodes.filter((f) => f.reason === "excluded by the user").map((f) => f.name);
  return { ...out, model: excludedNodesReadFloat(out.model, excluded).model };
}

/**
 * Makes nodes kept in float read float tensors: every input of `nodes` that is the output of an
 * activation Q → DQ pair is replaced by the Q's float input (the tensor before quantization).
 *
 * Why: exportQdq rewires every reader of a quantized tensor to its DQ output, the excluded ones
 * too. ONNX Runtime (≥ 1.20, level 1 "basic") then runs WeightBiasQuantization on any Conv,
 * ConvTranspose or Gemm whose input comes from a per-tensor DQ and whose weight is a float
 * initializer: it quantizes that weight itself, per tensor (onnxruntime/core/optimizer/
 * qdq_transformer/weight_bias_quantization.cc). An "excluded" Conv is then not float at all, and
 * per-tensor weights are far worse than octet's per-channel ones. Pairs whose Q has its own
 * (folded) scale or zero point are left alone: their Q input is not the tensor the DQ stands for.
 */
export function excludedNodesReadFloat(model: Model, nodes: Iterable<string>): { model: Model; rewired: number } {
  const names = new Set(nodes);
  const producer = new Map(model.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const floatSource = new Map<string, string>();
  for (const dq of model.graph.nodes) {
    if (dq.opType !== "DequantizeLinear") continue;
    const q = producer.get(dq.inputs[0]!);
    if (q?.opType !== "QuantizeLinear" || q.inputs[1] !== dq.inputs[1] || q.inputs[2] !== dq.inputs[2]) continue;
    floatSource.set(dq.outputs[0]!, q.inputs[0]!);
  }
  let rewired = 0;
  const nodesOut = model.graph.nodes.map((n) => {
    if (!names.has(n.name)) return n;
    const inputs = n.inputs.map((i) => {
      const source = floatSource.get(i);
      if (source === undefined) return i;
      rewired++;
      return source;
    });
    return { ...n, inputs };
  });
  return { model: { ...model, graph: { ...model.graph, nodes: nodesOut } }, rewired };
}

// ─── Evaluation helpers ────────────────────────────────────────────────────────────────────────

/** evaluate.ts's session settings, without ONNX Runtime's warnings about unused initializers. */
export function openQuietSession(
  pathOrBytes: string | Uint8Array, threads = 1, level: "disabled" | "basic" | "extended" | "all" = "all",
): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: level,
    logSeverityLevel: 3,
  };
  return typeof pathOrBytes === "string" ? ort.InferenceSession.create(pathOrBytes, options) : ort.InferenceSession.create(pathOrBytes, options);
}

/**
 * A runner that remembers its outputs by input content, so a float reference evaluated against
 * several quantized models runs once per input.
 */
export function memoizedRunner(runner: ModelRunner): ModelRunner {
  const cache = new Map<string, Tensor>();
  return async (input) => {
    const data = input.data as Float32Array;
    const key = `${input.dims.join("x")}:${createHash("sha1").update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).digest("hex")}`;
    const hit = cache.get(key);
    if (hit) return hit;
    const out = await runner(input);
    cache.set(key, out);
    return out;
  };
}

export interface ModelScores {
  /** rec: line accuracy; cls: accuracy; det: box recall. */
  primary: number;
  /** rec: char accuracy; det: precision. */
  secondary?: number;
  /** rec, cls: agreement with float; det: map IoU at 0.3 (pooled), with the worst page in `worst`. */
  vsFloat?: number;
  worst?: number;
  evalSeconds: number;
}

export async function scoreModel(kind: ModelKind, model: ModelRunner | ort.InferenceSession, set: EvaluationSet, reference?: ModelRunner): Promise<ModelScores> {
  const ref = reference ? { reference } : {};
  switch (kind) {
    case "rec": {
      const r = await evaluateRecognizer(model, set, ref);
      return { primary: r.lineAccuracy, secondary: r.charAccuracy, ...(r.agreementWithReference !== undefined ? { vsFloat: r.agreementWithReference } : {}), evalSeconds: r.seconds };
    }
    case "cls": {
      const r = await evaluateClassifier(model, set, ref);
      return { primary: r.accuracy, ...(r.agreementWithReference !== undefined ? { vsFloat: r.agreementWithReference } : {}), evalSeconds: r.seconds };
    }
    case "det": {
      const r = await evaluateDetector(model, set, ref);
      return {
        primary: r.recall, secondary: r.precision,
        ...(r.mapIoU !== undefined ? { vsFloat: r.mapIoU, worst: r.minPageMapIoU! } : {}),
        evalSeconds: r.seconds,
      };
    }
    default: throw new Error(`unknown model kind ${String(kind)}`);
  }
}

// ─── The run ───────────────────────────────────────────────────────────────────────────────────

export interface ResultRow {
  kind: ModelKind;
  /** "float" or a calibration method. */
  method: string;
  scores: ModelScores;
  bytes: number;
  /** Resolving ranges and exporting (the calibration pass is shared, see calibrationSeconds). */
  quantizeSeconds?: number;
  path: string;
}

export interface RunSummary {
  date: string;
  command: string;
  preset: PresetName;
  exclude: string[];
  calibration: Record<string, { samples: number; seconds: number; seed: number }>;
  rows: ResultRow[];
}

interface RunOptions {
  models: ModelKind[];
  methods: CalibrationMethod[];
  preset: PresetName;
  exclude: string[];
  excludedReadFloat: boolean;
  composeFolds: boolean;
  biasCorrection: boolean;
  counts: CalibrationCounts;
  calibSeed: number;
  out: string;
  threads: number;
  tag: string;
  log: (s: string) => void;
}

export async function runAll(o: RunOptions): Promise<Omit<RunSummary, "date" | "command">> {
  mkdirSync(o.out, { recursive: true });
  const paths = packagedModelPaths();
  const evaluation = buildEvaluationSet({
    lineCount: o.models.includes("rec") ? 200 : 0,
    directionCount: o.models.includes("cls") ? 100 : 0,
    pageCount: o.models.includes("det") ? 20 : 0,
  });
  const rows: ResultRow[] = [];
  const calibrationInfo: RunSummary["calibration"] = {};
  for (const kind of o.models) {
    const floatPath = paths[kind];
    const model = loadModel(floatPath);
    const inputName = model.graph.inputs[0]!.name;
    const floatSession = await openQuietSession(floatPath, o.threads);
    const floatRunner = memoizedRunner(ortRunner(floatSession));
    const floatScores = await scoreModel(kind, floatRunner, evaluation);
    rows.push({ kind, method: "float", scores: floatScores, bytes: readFileSync(floatPath).byteLength, path: floatPath });
    o.log(`${kind} float: ${describe(kind, floatScores)}`);

    const feeds = calibrationFeeds(kind, inputName, o.counts, o.calibSeed);
    const { prepared, plan } = preparedPlan(model, o.preset, o.exclude);
    const names = calibratedTensors(plan);
    const multi = await calibrateEveryMethod(prepared, names, feeds, {
      threads: o.threads,
      symmetric: (n) => plan.activations.get(n)!.format.symmetric,
    });
    calibrationInfo[kind] = { samples: multi.samples, seconds: multi.seconds, seed: o.calibSeed };
    o.log(`${kind}: calibrated ${names.length} tensors on ${multi.samples} samples in ${multi.seconds.toFixed(1)} s (all methods, one pass)`);

    for (const method of o.methods) {
      const start = performance.now();
      const result = await quantizeFromCalibration(model, calibrationFor(multi, method, names), {
        preset: o.preset, exclude: o.exclude, excludedReadFloat: o.excludedReadFloat, composeFolds: o.composeFolds,
        ...(o.biasCorrection ? { biasCorrection: feeds } : {}), threads: o.threads,
      });
      const bytes = encodeModel(result.model);
      const quantizeSeconds = (performance.now() - start) / 1000;
      const path = join(o.out, `${kind}.${method}${o.tag ? `.${o.tag}` : ""}.onnx`);
      writeFileSync(path, bytes);
      const session = await openQuietSession(path, o.threads);
      const scores = await scoreModel(kind, session, evaluation, floatRunner);
      await session.release();
      rows.push({ kind, method, scores, bytes: bytes.byteLength, quantizeSeconds, path });
      o.log(`${kind} ${method}: ${describe(kind, scores)}; ${(bytes.byteLength / 1e6).toFixed(2)} MB`);
    }
    await floatSession.release();
  }
  return { preset: o.preset, exclude: o.exclude, calibration: calibrationInfo, rows };
}

const pct = (x: number | undefined) => (x === undefined ? "–" : `${(100 * x).toFixed(1)}%`);

function describe(kind: ModelKind, s: ModelScores): string {
  switch (kind) {
    case "rec": return `line ${pct(s.primary)}, char ${pct(s.secondary)}${s.vsFloat !== undefined ? `, agreement ${pct(s.vsFloat)}` : ""}`;
    case "cls": return `accuracy ${pct(s.primary)}${s.vsFloat !== undefined ? `, agreement ${pct(s.vsFloat)}` : ""}`;
    default: return `recall ${pct(s.primary)}, precision ${pct(s.secondary)}${s.vsFloat !== undefined ? `, map IoU ${s.vsFloat.toFixed(3)} (worst page ${s.worst!.toFixed(3)})` : ""}`;
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** The results as markdown tables, one per model. */
export function markdownTables(summary: RunSummary): string {
  const out: string[] = [];
  const floatBytes = (kind: ModelKind) => summary.rows.find((r) => r.kind === kind && r.method === "float")!.bytes;
  const sizeCell = (r: ResultRow) => (r.method === "float" ? mb(r.bytes) : `${mb(r.bytes)} (${(r.bytes / floatBytes(r.kind)).toFixed(2)}×)`);
  const calib = (kind: ModelKind) => {
    const c = summary.calibration[kind];
    return c ? `calibration: ${c.samples} samples rendered with seed ${c.seed}, one float pass ${c.seconds.toFixed(1)} s for all methods` : "";
  };
  const section = (kind: ModelKind, title: string, header: string, cells: (r: ResultRow) => string[]) => {
    const rows = summary.rows.filter((r) => r.kind === kind);
    if (!rows.length) return;
    out.push(`**${title}** (${calib(kind)})`, "", header, header.replace(/[^|]+/g, "---"));
    for (const r of rows) out.push(`| ${[r.method, ...cells(r), sizeCell(r)].join(" | ")} |`);
    out.push("");
  };
  section("rec", "Recogniser, 200 lines", "| method | line accuracy | char accuracy | lines read as float reads them | size |",
    (r) => [pct(r.scores.primary), pct(r.scores.secondary), r.method === "float" ? "–" : pct(r.scores.vsFloat)]);
  section("det", "Detector, 20 pages (185 lines)", "| method | box recall | box precision | map IoU at 0.3 vs float (worst page) | size |",
    (r) => [pct(r.scores.primary), pct(r.scores.secondary), r.method === "float" ? "–" : `${r.scores.vsFloat!.toFixed(3)} (${r.scores.worst!.toFixed(3)})`]);
  section("cls", "Direction classifier, 100 samples", "| method | accuracy | agreement with float | size |",
    (r) => [pct(r.scores.primary), r.method === "float" ? "–" : pct(r.scores.vsFloat)]);
  return out.join("\n");
}

export const DOC_BEGIN = "<!-- quantize_all:begin -->";
export const DOC_END = "<!-- quantize_all:end -->";

/** Replaces the generated section of a doc (between DOC_BEGIN and DOC_END), or appends one. */
export function writeDocSection(path: string, body: string): void {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    text = "";
  }
  const section = `${DOC_BEGIN}\n${body}\n${DOC_END}`;
  const a = text.indexOf(DOC_BEGIN);
  const b = text.indexOf(DOC_END);
  if (a >= 0 && b > a) text = text.slice(0, a) + section + text.slice(b + DOC_END.length);
  else text = `${text}${text && !text.endsWith("\n") ? "\n" : ""}\n${section}\n`;
  writeFileSync(path, text);
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${value}`);
  return n;
}

function listOf<T extends string>(allowed: readonly T[], what: string) {
  return (value: string): T[] => {
    const items = value.split(",").map((s) => s.trim()).filter(Boolean);
    for (const i of items) if (!(allowed as readonly string[]).includes(i)) throw new InvalidArgumentError(`unknown ${what} ${i} (${allowed.join(", ")})`);
    return items as T[];
  };
}

export async function main(argv = process.argv): Promise<void> {
  const o = new Command()
    .name("quantize_all")
    .description("Quantize det/rec/cls with every calibration method and evaluate float vs int8.")
    .option("--models <list>", "det,rec,cls", listOf(MODEL_KINDS, "model"), [...MODEL_KINDS])
    .option("--methods <list>", "calibration methods", listOf(ALL_METHODS, "method"), [...ALL_METHODS])
    .option("--preset <name>", "ort | tensorrt | tflite", "ort")
    .option("--exclude <list>", "node names or op types kept in float", (v) => v.split(",").map((s) => s.trim()).filter(Boolean), [] as string[])
    .option("--bias-correction", "empirical bias correction (src/optimize/bias_correction.ts) on the calibration samples")
    .option("--compose-folds", "prototype: compose scale folds with the scalar Mul/Add chains after them (bench/compose_folds.ts)")
    .option("--excluded-read-float", "excluded nodes read the float tensors, not the dequantized ones (see excludedNodesReadFloat)")
    .option("--calib-lines <n>", "recogniser calibration lines", positiveInt, 64)
    .option("--calib-directions <n>", "classifier calibration samples", positiveInt, 64)
    .option("--calib-pages <n>", "detector calibration pages", positiveInt, 16)
    .option("--calib-seed <n>", "calibration data seed (not the evaluation seed)", positiveInt, CALIBRATION_SEED)
    .option("--threads <n>", "onnxruntime intra-op threads", positiveInt, 1)
    .option("--out <dir>", "where the quantized models go", "/tmp/octet-ppocr")
    .option("--tag <s>", "suffix for the model files", "")
    .option("--doc <path>", "write the tables into this markdown file's generated section")
    .option("--json <path>", "write the full results as JSON")
    .parse(argv)
    .opts<{
      models: ModelKind[]; methods: CalibrationMethod[]; preset: PresetName; exclude: string[]; excludedReadFloat?: boolean; composeFolds?: boolean; biasCorrection?: boolean; calibLines: number;
      calibDirections: number; calibPages: number; calibSeed: number; threads: number; out: string; tag: string;
      doc?: string; json?: string;
    }>();
  presetByName(o.preset);
  const started = performance.now();
  const run = await runAll({
    models: o.models, methods: o.methods, preset: o.preset, exclude: o.exclude, excludedReadFloat: o.excludedReadFloat ?? false, composeFolds: o.composeFolds ?? false, biasCorrection: o.biasCorrection ?? false,
    counts: { lines: o.calibLines, directions: o.calibDirections, pages: o.calibPages },
    calibSeed: o.calibSeed, out: o.out, threads: o.threads, tag: o.tag,
    log: (s) => console.log(s),
  });
  const summary: RunSummary = {
    date: new Date().toISOString().slice(0, 10),
    command: `node --import tsx examples/ppocr/quantize_all.ts ${argv.slice(2).join(" ")}`.trim(),
    ...run,
  };
  const tables = markdownTables(summary);
  console.log(`\n${tables}\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (o.json) writeFileSync(o.json, JSON.stringify(summary, null, 2));
  if (o.doc) {
    writeDocSection(o.doc, [
      `Measured ${summary.date}, preset \`${summary.preset}\`${summary.exclude.length ? `, ${summary.exclude.length} nodes or op types excluded` : ""}, onnxruntime-node 1.30, ${o.threads} thread(s):`,
      "", "```", summary.command, "```", "", tables,
    ].join("\n"));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  });
}
