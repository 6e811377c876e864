/**
 * The weight-adjusting PTQ algorithms (src/optimize: cross-layer equalization, bias correction,
 * AdaRound) measured on the trained MNIST models, for docs/optimize.md:
 *
 *   node --import tsx examples/mnist/optimize_results.ts [--experiments mobilenet-int8,mobilenet-w4,lenet-w4,lenet-w4-default]
 *       [--samples 512] [--method percentile] [--adaround-iterations n] [--out out/mnist/optimize] [--render-only]
 *
 * Every configuration is quantized by api/node.quantizeFile, the function behind `octet quantize`
 * (with --cle/--bias-correction/--adaround it runs quantizeWithOptimizations), from the first
 * `samples` MNIST training images, and measured in onnxruntime-node on the 10 000 test images:
 * top-1 accuracy (examples/mnist/evaluate.ts, the figure of the PTQ tables in docs/mnist.md) and
 * the SQNR of the logits against the float model's logits.
 *
 * Experiments (times on the shared 2-core machine):
 * - mobilenet-int8: the MobileNet-style model at W8A8, per-tensor weights without and with CLE
 *   under each Relu6 policy, with and without bias correction; per-channel references;
 * - mobilenet-w4:   the same model at W4A8 per-tensor, where per-tensor weights collapse, with
 *   CLE, bias correction and AdaRound (both MobileNet experiments together: 5–7 minutes);
 * - lenet-w4:       LeNet at W4A8, per-tensor and per-channel, nearest rounding vs AdaRound at
 *   200 steps (quantized or float inputs, with bias correction): about 16 minutes;
 * - lenet-w4-default: LeNet W4A8 AdaRound with the default 1000 steps, per-tensor and
 *   per-channel: about 35 minutes (LeNet's FC 800 → 500 takes over 90% of it).
 * With the CLE policies that change the float model (Relu6 → Relu), that float model's own
 * accuracy and SQNR are measured too.
 *
 * Results go to <out>/results.json and <out>/results.md; running some experiments replaces their
 * rows and keeps the others', so experiments can run separately. Models go to <out>/models/, and
 * the rows measured so far to <out>/partial.json after each configuration.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs as parseNodeArgs } from "node:util";
import * as ort from "onnxruntime-node";
import { ErrorAccumulator } from "../../src/analyze/metrics.js";
import { quantizeFile, type QuantizeFileResult } from "../../src/api/node.js";
import { clipInputRanges } from "../../src/api/optimized_quantize.js";
import { prepareForQuantization } from "../../src/api/prepare.js";
import type { CalibrationMethod } from "../../src/calibrate/calibrate.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import { openDataSource } from "../../src/data/source.js";
import type { Model } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { loadModel } from "../../src/onnx/files.js";
import { equalizeCrossLayer } from "../../src/optimize/cle.js";
import type { ClipPolicy } from "../../src/optimize/cle_pairs.js";
import type { LabelledImages } from "../../src/train/classifier.js";
import { ortAccuracy } from "./evaluate.js";
import { mnistSet } from "./train_model.js";

export const EXPERIMENTS = ["mobilenet-int8", "mobilenet-w4", "lenet-w4", "lenet-w4-default"] as const;
export type ExperimentName = (typeof EXPERIMENTS)[number];
export const METHOD_NAMES: CalibrationMethod[] = ["minmax", "moving-average", "percentile", "entropy", "mse"];
const CLIP_POLICIES: ClipPolicy[] = ["skip", "relu-if-unreached", "relu"];

export interface RunnerArgs {
  experiments: ExperimentName[];
  samples: number;
  method: CalibrationMethod;
  /** AdaRound steps per layer, replacing the default 1000 and lenet-w4's 200. */
  adaroundIterations?: number;
  out: string;
  /** Only rewrite <out>/results.md from <out>/results.json. */
  renderOnly: boolean;
}

export const USAGE = `usage: node --import tsx examples/mnist/optimize_results.ts [options]
  --experiments <list>       comma-separated: ${EXPERIMENTS.join(", ")} (default: all)
  --samples <n>              MNIST training images for calibration (default 512)
  --method <name>            calibration method: ${METHOD_NAMES.join(", ")} (default percentile)
  --adaround-iterations <n>  AdaRound steps per layer: replaces the default 1000 steps, and lenet-w4's 200
  --out <dir>                output directory (default out/mnist/optimize)
  --render-only              only rewrite <out>/results.md from <out>/results.json
  --help`;

/** Parses the runner's flags; throws an Error naming the bad flag or value. */
export function parseRunnerArgs(argv: readonly string[]): RunnerArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseNodeArgs({
      args: [...argv],
      options: {
        experiments: { type: "string" },
        samples: { type: "string" },
        method: { type: "string" },
        "adaround-iterations": { type: "string" },
        out: { type: "string" },
        "render-only": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${USAGE}`);
  }
  const experiments = values.experiments === undefined ? [...EXPERIMENTS] : parseExperiments(String(values.experiments));
  const samples = values.samples === undefined ? 512 : positiveInteger("--samples", String(values.samples));
  const method = (values.method ?? "percentile") as string;
  if (!(METHOD_NAMES as string[]).includes(method)) throw new Error(`--method must be one of ${METHOD_NAMES.join(", ")}, got "${method}"`);
  const args: RunnerArgs = {
    experiments, samples, method: method as CalibrationMethod, out: String(values.out ?? "out/mnist/optimize"), renderOnly: values["render-only"] === true,
  };
  if (values["adaround-iterations"] !== undefined) args.adaroundIterations = positiveInteger("--adaround-iterations", String(values["adaround-iterations"]));
  return args;
}

function parseExperiments(text: string): ExperimentName[] {
  const names = text.split(",").map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw new Error("--experiments needs at least one name");
  for (const n of names) {
    if (!(EXPERIMENTS as readonly string[]).includes(n)) throw new Error(`unknown experiment "${n}" (expected ${EXPERIMENTS.join(", ")})`);
  }
  return [...new Set(names)] as ExperimentName[];
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got "${text}"`);
  return n;
}

/** AdaRound settings of one configuration; unset fields are octet's defaults. */
export interface AdaRoundSetting {
  iterations?: number;
  lambda?: number;
  inputs?: "float" | "quantized";
}

export interface Configuration {
  /** Unique, file-safe. */
  id: string;
  experiment: ExperimentName;
  model: "lenet" | "mobilenet";
  weightType: "int8" | "int4";
  perChannel: boolean;
  /** CLE with this Relu6 policy; absent: no CLE. */
  cle?: ClipPolicy;
  biasCorrection?: boolean;
  adaround?: AdaRoundSetting;
}

/** The configurations of one experiment. `adaroundIterations` replaces the default 1000 steps (and lenet-w4's 200). */
export function experimentConfigurations(experiment: ExperimentName, adaroundIterations?: number): Configuration[] {
  const ada = (s: AdaRoundSetting = {}): AdaRoundSetting => (s.iterations === undefined && adaroundIterations !== undefined ? { ...s, iterations: adaroundIterations } : s);
  const make = (c: Omit<Configuration, "id" | "experiment">): Configuration => ({ id: configurationId(c), experiment, ...c });
  if (experiment === "mobilenet-int8") {
    const base = { model: "mobilenet", weightType: "int8", perChannel: false } as const;
    return [
      make({ ...base }),
      make({ ...base, biasCorrection: true }),
      ...CLIP_POLICIES.flatMap((cle) => [make({ ...base, cle }), make({ ...base, cle, biasCorrection: true })]),
      make({ ...base, perChannel: true }),
      // Per-channel weights need no equalization: what CLE still changes here is on the activations' side.
      make({ ...base, perChannel: true, cle: "relu-if-unreached" }),
    ];
  }
  if (experiment === "mobilenet-w4") {
    const base = { model: "mobilenet", weightType: "int4", perChannel: false } as const;
    return [
      make({ ...base }),
      make({ ...base, biasCorrection: true }),
      ...CLIP_POLICIES.flatMap((cle) => [make({ ...base, cle }), make({ ...base, cle, biasCorrection: true })]),
      make({ ...base, adaround: ada() }),
      make({ ...base, adaround: ada(), biasCorrection: true }),
      make({ ...base, adaround: ada({ inputs: "float" }) }),
      make({ ...base, adaround: ada({ inputs: "float" }), biasCorrection: true }),
      make({ ...base, cle: "relu-if-unreached", adaround: ada(), biasCorrection: true }),
      make({ ...base, cle: "relu", adaround: ada() }),
      make({ ...base, cle: "relu", adaround: ada(), biasCorrection: true }),
      make({ ...base, perChannel: true }),
      make({ ...base, perChannel: true, adaround: ada() }),
    ];
  }
  // LeNet's FC 800 → 500 dominates AdaRound's time (M·K² = 500·800² multiply-adds a step, about
  // a second a step on the loaded 2-core machine), so the settings are compared at 200 steps and
  // the default 1000 steps have an experiment of their own.
  if (experiment === "lenet-w4") {
    const short = (s: AdaRoundSetting = {}) => ({ iterations: adaroundIterations ?? 200, ...s });
    const pt = { model: "lenet", weightType: "int4", perChannel: false } as const;
    const pc = { ...pt, perChannel: true } as const;
    return [
      make({ ...pt }),
      make({ ...pt, biasCorrection: true }),
      make({ ...pt, adaround: short() }),
      make({ ...pt, adaround: short({ inputs: "float" }) }),
      make({ ...pt, adaround: short(), biasCorrection: true }),
      make({ ...pc }),
      make({ ...pc, biasCorrection: true }),
      make({ ...pc, adaround: short() }),
    ];
  }
  if (experiment === "lenet-w4-default") {
    const pt = { model: "lenet", weightType: "int4", perChannel: false } as const;
    return [make({ ...pt, adaround: ada() }), make({ ...pt, perChannel: true, adaround: ada() })];
  }
  throw new Error(`unknown experiment "${String(experiment)}"`);
}

function configurationId(c: Omit<Configuration, "id" | "experiment">): string {
  const parts = [c.model, c.weightType === "int4" ? "w4a8" : "w8a8", c.perChannel ? "pc" : "pt"];
  if (c.cle) parts.push(`cle-${c.cle}`);
  if (c.adaround) {
    parts.push("adaround");
    if (c.adaround.iterations !== undefined) parts.push(`it${c.adaround.iterations}`);
    if (c.adaround.lambda !== undefined) parts.push(`lambda${c.adaround.lambda}`);
    if (c.adaround.inputs) parts.push(`${c.adaround.inputs}-inputs`);
  }
  if (c.biasCorrection) parts.push("bc");
  return parts.join("-");
}

/** What the table shows in its first column: the algorithms applied, in pipeline order. */
export function configurationLabel(c: Configuration): string {
  const steps: string[] = [];
  if (c.cle) steps.push(`CLE (${c.cle})`);
  if (c.adaround) {
    const settings = [
      c.adaround.iterations !== undefined ? `${c.adaround.iterations} it.` : "",
      c.adaround.lambda !== undefined ? `λ ${c.adaround.lambda}` : "",
      c.adaround.inputs === "float" ? "float inputs" : "",
    ].filter(Boolean);
    steps.push(settings.length ? `AdaRound (${settings.join(", ")})` : "AdaRound");
  }
  if (c.biasCorrection) steps.push("bias correction");
  return `${c.perChannel ? "per-channel" : "per-tensor"}, ${steps.length ? steps.join(" + ") : "nearest"}`;
}

/**
 * The `octet quantize` command that makes the same model, or undefined when the CLI cannot express
 * it (it has no AdaRound λ or input flags: those need the API).
 */
export function quantizeCommand(c: Configuration, samples: number, method: CalibrationMethod): string | undefined {
  if (c.adaround && (c.adaround.lambda !== undefined || c.adaround.inputs !== undefined)) return undefined;
  return [
    "octet quantize", `out/mnist/${c.model}.onnx`, "-o", `${c.id}.onnx`, `--calib mnist --samples ${samples}`,
    method === "percentile" ? "" : `--method ${method}`,
    c.perChannel ? "" : "--per-tensor",
    c.weightType === "int4" ? "--weight-type int4" : "",
    c.cle ? "--cle" : "",
    c.cle && c.cle !== "skip" ? `--cle-clip ${c.cle}` : "",
    c.biasCorrection ? "--bias-correction" : "",
    c.adaround ? "--adaround" : "",
    c.adaround?.iterations !== undefined ? `--adaround-iterations ${c.adaround.iterations}` : "",
  ].filter(Boolean).join(" ");
}

/** The options of quantizeWithOptimizations (through quantizeFile) for one configuration. */
export function apiOptions(c: Configuration): { cle?: { clip: ClipPolicy }; biasCorrection?: true; adaround?: AdaRoundSetting | true } {
  return {
    ...(c.cle ? { cle: { clip: c.cle } } : {}),
    ...(c.adaround ? { adaround: Object.keys(c.adaround).length ? { ...c.adaround } : true } : {}),
    ...(c.biasCorrection ? { biasCorrection: true as const } : {}),
  };
}

export interface ResultRow {
  configuration: Configuration;
  label: string;
  accuracy: number;
  /** onnxruntime's optimization level the model ran at. */
  optimization: "all" | "basic";
  /** Logits SQNR against the float model on the test images, dB. */
  sqnrDb: number;
  /** quantizeFile's wall time, seconds. */
  seconds: number;
  command?: string;
  cle?: {
    pairs: number; clipsReplaced: number; sweeps: number; converged: boolean;
    /** Per touched layer: max/min of its per-output-channel weight ranges before and after CLE. */
    layers: { node: string; spreadBefore: number; spreadAfter: number }[];
  };
  biasCorrectedLayers?: number;
  adaround?: { layers: { node: string; weights: number; changed: number; lossNearest: number; lossAdaRound: number; seconds: number }[] };
}

/** The float model after CLE with a policy that changes it (Relu6 → Relu). */
export interface EqualizedFloatRow {
  model: "lenet" | "mobilenet";
  clip: ClipPolicy;
  clipsReplaced: number;
  accuracy: number;
  sqnrDb: number;
}

export interface Results {
  date: string;
  environment: string;
  samples: number;
  method: CalibrationMethod;
  float: Partial<Record<"lenet" | "mobilenet", number>>;
  rows: ResultRow[];
  equalizedFloat: EqualizedFloatRow[];
}

/** Merges new rows into earlier results: rows of the experiments just run replace theirs. */
export function mergeResults(old: Results | undefined, fresh: Results, ran: readonly ExperimentName[]): Results {
  if (!old || old.samples !== fresh.samples || old.method !== fresh.method) return fresh;
  const kept = old.rows.filter((r) => !ran.includes(r.configuration.experiment));
  const freshModels = new Set(fresh.equalizedFloat.map((e) => e.model));
  return {
    ...fresh,
    float: { ...old.float, ...fresh.float },
    rows: [...kept, ...fresh.rows].sort((a, b) => EXPERIMENTS.indexOf(a.configuration.experiment) - EXPERIMENTS.indexOf(b.configuration.experiment)),
    equalizedFloat: [...old.equalizedFloat.filter((e) => !freshModels.has(e.model)), ...fresh.equalizedFloat],
  };
}

const TITLES: Record<ExperimentName, string> = {
  "mobilenet-int8": "MobileNet-style, W8A8 (int8 weights, uint8 activations)",
  "mobilenet-w4": "MobileNet-style, W4A8 (int4 weights, uint8 activations)",
  "lenet-w4": "LeNet, W4A8 (int4 weights, uint8 activations)",
  "lenet-w4-default": "LeNet, W4A8, AdaRound with its default 1000 steps",
};

/** Percent with two decimals ("98.85"), signed point difference ("-0.07"), dB with one decimal. */
export function formatPercent(x: number): string {
  return (100 * x).toFixed(2);
}
export function formatDrop(x: number, float: number): string {
  const d = Math.round(10000 * (x - float)) / 100;
  return `${d > 0 ? "+" : d < 0 ? "−" : "±"}${Math.abs(d).toFixed(2)}`;
}
export function formatDb(x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : "∞";
}

/** One markdown table per experiment present in the results, in EXPERIMENTS order. */
export function resultsMarkdown(results: Results): string {
  const parts: string[] = [];
  for (const experiment of EXPERIMENTS) {
    const rows = results.rows.filter((r) => r.configuration.experiment === experiment);
    if (!rows.length) continue;
    const model = rows[0]!.configuration.model;
    const float = results.float[model];
    parts.push(`#### ${TITLES[experiment]}`, "");
    if (float !== undefined) parts.push(`float: ${formatPercent(float)}%`, "");
    parts.push("| configuration | test accuracy (%) | vs float (points) | logits SQNR (dB) | time (s) |", "|---|---:|---:|---:|---:|");
    for (const r of rows) {
      const acc = `${formatPercent(r.accuracy)}${r.optimization === "basic" ? " (basic)" : ""}`;
      parts.push(`| ${r.label} | ${acc} | ${float === undefined ? "–" : formatDrop(r.accuracy, float)} | ${formatDb(r.sqnrDb)} | ${r.seconds.toFixed(1)} |`);
    }
    parts.push("");
  }
  const spread = cleSpreadMarkdown(results.rows);
  if (spread) parts.push(spread, "");
  if (results.equalizedFloat.length) {
    parts.push("#### The float model after CLE (before quantization)", "", "| model | Relu6 policy | Clips → Relu | test accuracy (%) | logits SQNR vs original (dB) |", "|---|---|---:|---:|---:|");
    for (const e of results.equalizedFloat) parts.push(`| ${e.model} | ${e.clip} | ${e.clipsReplaced} | ${formatPercent(e.accuracy)} | ${formatDb(e.sqnrDb)} |`);
    parts.push("");
  }
  return parts.join("\n");
}

/**
 * Per layer, the ratio of its largest to its smallest per-channel weight range before CLE and after
 * it under each Relu6 policy that equalized something (from the first row of each policy).
 */
export function cleSpreadMarkdown(rows: readonly ResultRow[]): string | undefined {
  const byPolicy = new Map<ClipPolicy, NonNullable<ResultRow["cle"]>>();
  for (const r of rows) {
    const policy = r.configuration.cle;
    if (policy && r.cle && r.cle.layers.length && !byPolicy.has(policy)) byPolicy.set(policy, r.cle);
  }
  if (!byPolicy.size) return undefined;
  const policies = CLIP_POLICIES.filter((p) => byPolicy.has(p));
  const nodes: string[] = [];
  const before = new Map<string, number>();
  for (const p of policies) {
    for (const l of byPolicy.get(p)!.layers) {
      if (!before.has(l.node)) nodes.push(l.node);
      before.set(l.node, l.spreadBefore);
    }
  }
  const lines = [
    "#### Largest / smallest per-channel weight range, before and after CLE",
    "",
    `| layer | before | ${policies.map((p) => `after CLE (${p})`).join(" | ")} |`,
    `|---|---:|${policies.map(() => "---:").join("|")}|`,
  ];
  for (const node of nodes) {
    const after = policies.map((p) => {
      const l = byPolicy.get(p)!.layers.find((x) => x.node === node);
      return l ? l.spreadAfter.toFixed(2) : "–";
    });
    lines.push(`| ${node} | ${before.get(node)!.toFixed(2)} | ${after.join(" | ")} |`);
  }
  const sweeps = policies.map((p) => {
    const c = byPolicy.get(p)!;
    return `${p}: ${c.pairs} pairs, ${c.clipsReplaced} Clips → Relu, ${c.sweeps} sweeps${c.converged ? "" : " (not converged)"}`;
  });
  lines.push("", sweeps.join("; ") + ".");
  return lines.join("\n");
}

/** Logits of a model over a labelled set in onnxruntime-node at the given optimization level. */
export async function ortLogits(model: string | Uint8Array, set: LabelledImages, level: "all" | "basic", batchSize = 1000): Promise<Float32Array> {
  const options = { graphOptimizationLevel: level, intraOpNumThreads: 1, logSeverityLevel: 3 } as const;
  const session = typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  const per = set.sampleDims.reduce((s, d) => s * d, 1);
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  const chunks: Float32Array[] = [];
  for (let from = 0; from < set.count; from += batchSize) {
    const n = Math.min(batchSize, set.count - from);
    const x = set.images.slice(from * per, (from + n) * per);
    chunks.push(new Float32Array((await session.run({ [input]: new ort.Tensor("float32", x, [n, ...set.sampleDims]) }))[output]!.data as Float32Array));
  }
  await session.release();
  const all = new Float32Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return all;
}

function sqnr(reference: Float32Array, approx: Float32Array): number {
  const acc = new ErrorAccumulator();
  acc.add(reference, approx);
  return acc.sqnr;
}

function summarize(r: QuantizeFileResult): Pick<ResultRow, "cle" | "biasCorrectedLayers" | "adaround"> {
  const o = r.optimizations ?? {};
  return {
    ...(o.cle ? {
      cle: {
        pairs: o.cle.pairs.length, clipsReplaced: o.cle.clipsReplaced.length, sweeps: o.cle.sweeps, converged: o.cle.converged,
        layers: o.cle.layers.map((l) => ({ node: l.node, spreadBefore: l.channelRangeSpreadBefore, spreadAfter: l.channelRangeSpreadAfter })),
      },
    } : {}),
    ...(o.biasCorrection ? { biasCorrectedLayers: o.biasCorrection.layers.length } : {}),
    ...(o.adaround ? {
      adaround: {
        layers: o.adaround.layers.map((l) => ({ node: l.node, weights: l.weights, changed: l.changed, lossNearest: l.lossNearest, lossAdaRound: l.lossAdaRound, seconds: l.seconds })),
      },
    } : {}),
  };
}

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    console.log(USAGE);
    return;
  }
  const args = parseRunnerArgs(process.argv.slice(2));
  const started = performance.now();
  if (args.renderOnly) {
    const jsonPath = join(args.out, "results.json");
    if (!existsSync(jsonPath)) throw new Error(`${jsonPath} does not exist: run some experiments first`);
    writeFileSync(join(args.out, "results.md"), resultsMarkdown(JSON.parse(readFileSync(jsonPath, "utf8")) as Results));
    console.log(`wrote ${join(args.out, "results.md")}`);
    return;
  }
  const modelsDir = join(args.out, "models");
  mkdirSync(modelsDir, { recursive: true });
  const test = mnistSet("test");
  const floatPath = (m: "lenet" | "mobilenet") => `out/mnist/${m}.onnx`;
  const configurations = args.experiments.flatMap((e) => experimentConfigurations(e, args.adaroundIterations));
  const models = [...new Set(configurations.map((c) => c.model))];
  for (const m of models) if (!existsSync(floatPath(m))) throw new Error(`${floatPath(m)} does not exist: train it with npm run example:mnist`);

  const floatLogits = new Map<string, Float32Array>();
  const fresh: Results = {
    date: new Date().toISOString().slice(0, 10),
    environment: `${cpus().length} cores (${cpus()[0]?.model.trim() ?? "unknown CPU"}), Node ${process.version}, onnxruntime-node ${ort.env.versions.common}`,
    samples: args.samples, method: args.method, float: {}, rows: [], equalizedFloat: [],
  };
  for (const m of models) {
    fresh.float[m] = (await ortAccuracy(floatPath(m), test)).accuracy;
    floatLogits.set(m, await ortLogits(floatPath(m), test, "all"));
    console.log(`${m} float: ${formatPercent(fresh.float[m]!)}%`);
  }

  // The float model CLE hands to calibration, for the policies that change it.
  if (models.includes("mobilenet") && configurations.some((c) => c.cle === "relu" || c.cle === "relu-if-unreached")) {
    const original = loadModel(floatPath("mobilenet"));
    const prepared = prepareForQuantization(original, { minOpset: 13 }).model;
    const createExecutor = (m: Model) => createOrtNodeExecutor(m, { threads: 1 });
    for (const clip of ["relu-if-unreached", "relu"] as const) {
      const data = await openDataSource("mnist", prepared.graph.inputs, { samples: args.samples, warn: () => {} });
      const observedRanges = clip === "relu-if-unreached" ? await clipInputRanges(prepared, data, createExecutor) : undefined;
      const { model, report } = equalizeCrossLayer(prepared, { clip, ...(observedRanges ? { observedRanges } : {}) });
      const bytes = encodeModel(model);
      const accuracy = (await ortAccuracy(bytes, test)).accuracy;
      const row: EqualizedFloatRow = { model: "mobilenet", clip, clipsReplaced: report.clipsReplaced.length, accuracy, sqnrDb: sqnr(floatLogits.get("mobilenet")!, await ortLogits(bytes, test, "all")) };
      fresh.equalizedFloat.push(row);
      console.log(`mobilenet float after CLE (${clip}): ${row.clipsReplaced} Clips → Relu, ${formatPercent(accuracy)}%, SQNR ${formatDb(row.sqnrDb)} dB`);
    }
  }

  for (const c of configurations) {
    const label = configurationLabel(c);
    const output = join(modelsDir, `${c.id}.onnx`);
    const start = performance.now();
    const r = await quantizeFile(floatPath(c.model), output, {
      method: args.method, perChannel: c.perChannel, weightType: c.weightType, activationType: "uint8",
      calib: "mnist", data: { samples: args.samples, label: "calibration data", warn: () => {} }, force: true,
      ...apiOptions(c),
    });
    const seconds = (performance.now() - start) / 1000;
    const a = await ortAccuracy(output, test);
    const row: ResultRow = {
      configuration: c, label, accuracy: a.accuracy, optimization: a.optimization,
      sqnrDb: sqnr(floatLogits.get(c.model)!, await ortLogits(output, test, a.optimization)), seconds,
      ...summarize(r),
    };
    const command = quantizeCommand(c, args.samples, args.method);
    if (command) row.command = command;
    fresh.rows.push(row);
    // Written after every row, so that a long run that fails late keeps what it measured.
    writeFileSync(join(args.out, "partial.json"), JSON.stringify(fresh, null, 1));
    console.log(`${c.experiment} | ${label.padEnd(60)} ${formatPercent(row.accuracy)}%${a.optimization === "basic" ? " (basic)" : ""}  SQNR ${formatDb(row.sqnrDb)} dB  (${seconds.toFixed(1)} s)`);
  }

  const jsonPath = join(args.out, "results.json");
  const old = existsSync(jsonPath) ? (JSON.parse(readFileSync(jsonPath, "utf8")) as Results) : undefined;
  const merged = mergeResults(old, fresh, args.experiments);
  writeFileSync(jsonPath, JSON.stringify(merged, null, 1));
  writeFileSync(join(args.out, "results.md"), resultsMarkdown(merged));
  console.log(`wrote ${jsonPath} and ${join(args.out, "results.md")} (${((performance.now() - started) / 60000).toFixed(1)} min in all)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
