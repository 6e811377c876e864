/**
 * Mixed precision for the PP-OCRv4 recogniser, with octet's own analysis and search:
 *
 *   node --import tsx examples/ppocr/mixed_precision.ts [--method mse] [--no-bias-correction]
 *        [--calib-lines 64] [--rank-lines 16] [--search-lines 1000] [--confirm-lines 1000]
 *        [--granularity node|block] [--max-drop 0.5] [--candidates all|weighted] [--max-candidates 40]
 *        [--float-accuracy-top 15]
 *        [--latency-lines 100] [--out out/ppocr] [--threads 1]
 *
 * 1. Quantize with the pipeline of `octet quantize` (src/api/optimized_quantize.ts): `ort` preset,
 *    every tensor calibrated once on lines rendered with seed 7, bias correction.
 * 2. Rank the quantization units by layer-wise sensitivity (src/analyze/layer_errors.ts): one
 *    unit quantized at a time, output SQNR against float on `--rank-lines` calibration lines.
 *    `--granularity node` (default): octet's units (a node, or a node with its fused activation);
 *    `block`: the recogniser's blocks (RECOGNISER_BLOCKS), each one unit.
 * 3. Score the top units kept in float one at a time (line accuracy), for the table.
 * 4. Search (src/analyze/mixed_precision.ts): keep units in float in ranking order until line
 *    accuracy is within `--max-drop` points of float, then quantize back every float unit that
 *    is not needed. Candidates are the `--max-candidates` most sensitive units.
 * 5. Confirm on `--confirm-lines` lines the search never saw, and time float / int8 / mixed.
 *
 * The evaluation lines are the evaluation set's (seed 20261101): the search set is its first
 * `--search-lines` lines (so the docs' 200- and 1000-line figures are prefixes of it), the
 * confirmation set the next `--confirm-lines`. Line accuracy is the docs' metric: the CTC
 * best-path reading equals the truth after trimming outer spaces. Lines run one at a time
 * (batch 1, as evaluate.ts does): their widths differ, and padding a batch to one width would
 * change what the model reads.
 */
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError } from "commander";
import type { Evaluator } from "../../src/analyze/evaluators.js";
import { layerwiseErrors, sensitivityRanking, type LayerError, type QuantUnit } from "../../src/analyze/layer_errors.js";
import { mixedPrecision } from "../../src/analyze/mixed_precision.js";
import { buildQdq, buildWithExclusions, floatReference } from "../../src/analyze/quantized_model.js";
import { quantizeWithOptimizations } from "../../src/api/optimized_quantize.js";
import type { CalibrationMethod } from "../../src/calibrate/calibrate.js";
import type { Feeds } from "../../src/calibrate/executor.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import { topologicalOrder, type Model } from "../../src/graph/ir.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { loadModel } from "../../src/onnx/files.js";
import type { MixedPrecisionStep } from "../../src/optimize/mixed_precision.js";
import { buildEvaluationSet, type TextLineSample } from "./dataset.js";
import { type CtcDictionary, loadDictionary } from "./dictionary.js";
import { packagedModelPaths } from "./evaluate.js";
import { ctcDecode, normalizeSpaces } from "./metrics.js";
import { recognizerInput } from "./preprocess.js";
import { CALIBRATION_SEED, calibrationFeeds } from "./quantize_all.js";

// ─── Where a node is in the recogniser ─────────────────────────────────────────────────────────

/**
 * Labels every node by the last landmark at or before it in `order` (a topological order of node
 * names): landmarks are [first node of a region, label], in any order. Nodes before the first
 * landmark get `before`.
 */
export function regionLabels(order: readonly string[], landmarks: readonly (readonly [string, string])[], before = "input"): Map<string, string> {
  const index = new Map(order.map((n, i) => [n, i]));
  const starts = landmarks.map(([node, label]) => {
    const i = index.get(node);
    if (i === undefined) throw new Error(`region landmark ${node} is not a node of the graph`);
    return { i, label };
  }).sort((a, b) => a.i - b.i);
  for (let k = 1; k < starts.length; k++) {
    if (starts[k]!.i === starts[k - 1]!.i) throw new Error(`two regions start at node ${order[starts[k]!.i]}`);
  }
  const labels = new Map<string, string>();
  let k = -1;
  for (const [i, n] of order.entries()) {
    while (k + 1 < starts.length && starts[k + 1]!.i <= i) k++;
    labels.set(n, k < 0 ? before : starts[k]!.label);
  }
  return labels;
}

/**
 * ch_PP-OCRv4_rec_infer.onnx's parts, by the first node of each (PaddleOCR's PPLCNetV3 with
 * NET_CONFIG_rec, ppocr/modeling/backbones/rec_lcnetv3.py: stem conv, then stages blocks2–blocks6
 * of depthwise + pointwise conv blocks, the first two blocks of blocks6 with squeeze-excite, and
 * an average pool; EncoderWithSVTR, ppocr/modeling/necks/rnn.py: conv1, conv2, two SVTR
 * transformer blocks, conv3, concat with the neck's input, conv4, conv1x1; CTCHead: one FC and
 * a Softmax). Conv k is p2o.Conv.k; which convs open which stage was read off the graph (the
 * channel counts change there: 16→32, →64, →128, →240, →480).
 */
export const RECOGNISER_LANDMARKS: readonly (readonly [string, string])[] = [
  ["p2o.Conv.0", "stem (3×3 conv, 3→16)"],
  ["p2o.Conv.1", "backbone blocks2 (16→32)"],
  ["p2o.Conv.3", "backbone blocks3 (32→64)"],
  ["p2o.Conv.7", "backbone blocks4 (64→128)"],
  ["p2o.Conv.11", "backbone blocks5 (128→240, 5×5 dw)"],
  ["p2o.Conv.21", "backbone blocks6 (240→480, SE)"],
  ["p2o.Conv.33", "neck SVTR conv1/conv2 (480→60→120)"],
  ["p2o.Reshape.64", "neck SVTR transformer blocks"],
  ["p2o.Conv.35", "neck SVTR conv3/concat/conv4/conv1x1"],
  ["p2o.MatMul.24", "head (FC 120→6625, Softmax)"],
];

/**
 * The recogniser's blocks, the units of `--granularity block`: the stem conv; each LCNetV3 block
 * of the backbone (depthwise conv, its HardSwish and learnable affine, squeeze-excite where there
 * is one, pointwise conv and its chain: from one depthwise conv to the next); each conv of the
 * SVTR neck with its swish; each transformer block (the second with the final LayerNorm); the
 * CTC head.
 */
export const RECOGNISER_BLOCKS: readonly (readonly [string, string])[] = [
  ["p2o.Conv.0", "stem Conv.0"],
  ["p2o.Conv.1", "blocks2.1 Conv.1–2"],
  ["p2o.Conv.3", "blocks3.1 Conv.3–4"],
  ["p2o.Conv.5", "blocks3.2 Conv.5–6"],
  ["p2o.Conv.7", "blocks4.1 Conv.7–8"],
  ["p2o.Conv.9", "blocks4.2 Conv.9–10"],
  ["p2o.Conv.11", "blocks5.1 Conv.11–12"],
  ["p2o.Conv.13", "blocks5.2 Conv.13–14"],
  ["p2o.Conv.15", "blocks5.3 Conv.15–16"],
  ["p2o.Conv.17", "blocks5.4 Conv.17–18"],
  ["p2o.Conv.19", "blocks5.5 Conv.19–20"],
  ["p2o.Conv.21", "blocks6.1 Conv.21–24 (SE)"],
  ["p2o.Conv.25", "blocks6.2 Conv.25–28 (SE)"],
  ["p2o.Conv.29", "blocks6.3 Conv.29–30"],
  ["p2o.Conv.31", "blocks6.4 Conv.31–32 + pool"],
  ["p2o.Conv.33", "neck conv1 Conv.33"],
  ["p2o.Conv.34", "neck conv2 Conv.34"],
  ["p2o.Reshape.64", "neck SVTR block 1"],
  ["p2o.ReduceMean.8", "neck SVTR block 2 + LayerNorm"],
  ["p2o.Conv.35", "neck conv3 Conv.35 + concat"],
  ["p2o.Conv.36", "neck conv4 Conv.36"],
  ["p2o.Conv.37", "neck conv1x1 Conv.37"],
  ["p2o.MatMul.24", "head MatMul.24 + Softmax"],
];

// ─── Line accuracy as an Evaluator ─────────────────────────────────────────────────────────────

export interface LineScore {
  /** Percent of lines read exactly (outer spaces trimmed). */
  percent: number;
  /** 1 per line read exactly, 0 otherwise, in line order. */
  correct: Uint8Array;
  seconds: number;
}

/** Percent of the first `count` lines read correctly (all when count is omitted). */
export function prefixPercent(correct: Uint8Array, count = correct.length): number {
  if (!Number.isInteger(count) || count < 1 || count > correct.length) {
    throw new Error(`prefix of ${count} lines asked from ${correct.length}`);
  }
  let n = 0;
  for (let i = 0; i < count; i++) n += correct[i]!;
  return (100 * n) / count;
}

/**
 * Line accuracy in percent (so a target drop of 0.5 means half a point) of any recogniser model
 * on `lines`. Scores are memoised by the encoded model's hash: the search, the ranking table and
 * the confirmation may ask for the same model more than once.
 */
export function lineAccuracyEvaluator(lines: readonly TextLineSample[], options: { threads?: number; dictionary?: CtcDictionary } = {}) {
  if (lines.length === 0) throw new Error("line accuracy: no lines to read");
  const dictionary = options.dictionary ?? loadDictionary();
  const truth = lines.map((l) => normalizeSpaces(l.text, "trim"));
  const memo = new Map<string, LineScore>();
  const score = async (model: Model): Promise<LineScore> => {
    const bytes = encodeModel(model);
    const key = createHash("sha1").update(bytes).digest("hex");
    const known = memo.get(key);
    if (known) return known;
    const input = model.graph.inputs[0]?.name;
    const output = model.graph.outputs[0]?.name;
    if (!input || !output) throw new Error("line accuracy: the model needs an input and an output");
    const start = performance.now();
    const run = await createOrtNodeExecutor(bytes, { threads: options.threads ?? 1 });
    const correct = new Uint8Array(lines.length);
    try {
      for (const [i, line] of lines.entries()) {
        const y = (await run.run({ [input]: recognizerInput(line.image) })).get(output);
        if (!y || y.dims.length !== 3 || y.dims[2] !== dictionary.classCount) {
          throw new Error(`recogniser output is [${y?.dims.join(", ")}], expected [1, steps, ${dictionary.classCount}]`);
        }
        const text = ctcDecode(y.data as Float32Array, y.dims[1]!, dictionary).text;
        correct[i] = normalizeSpaces(text, "trim") === truth[i] ? 1 : 0;
      }
    } finally {
      await run.dispose();
    }
    const result = { percent: prefixPercent(correct), correct, seconds: (performance.now() - start) / 1000 };
    memo.set(key, result);
    return result;
  };
  const evaluator: Evaluator & { score: typeof score } = {
    metric: "line accuracy (%)",
    evaluate: async (model) => (await score(model)).percent,
    score,
  };
  return evaluator;
}

// ─── Inference cost ────────────────────────────────────────────────────────────────────────────

/**
 * Milliseconds per line of each model over the same lines, the models taking turns for `rounds`
 * rounds; the fastest round of each counts (the machine is shared: the minimum is the least
 * disturbed measurement).
 */
async function latencies(models: Record<string, Model>, lines: readonly TextLineSample[], rounds: number, threads: number): Promise<Record<string, number>> {
  const inputs = lines.map((l) => recognizerInput(l.image));
  const runs = await Promise.all(Object.entries(models).map(async ([name, m]) => [name, m.graph.inputs[0]!.name, await createOrtNodeExecutor(m, { threads })] as const));
  const best: Record<string, number> = {};
  try {
    for (const [, input, run] of runs) await run.run({ [input]: inputs[0]! }); // warm-up
    for (let r = 0; r < rounds; r++) {
      for (const [name, input, run] of runs) {
        const start = performance.now();
        for (const x of inputs) await run.run({ [input]: x });
        const ms = (performance.now() - start) / inputs.length;
        best[name] = Math.min(best[name] ?? Infinity, ms);
      }
    }
  } finally {
    for (const [, , run] of runs) await run.dispose();
  }
  return best;
}

// ─── The run ───────────────────────────────────────────────────────────────────────────────────

interface Options {
  method: CalibrationMethod;
  biasCorrection: boolean;
  calibLines: number;
  rankLines: number;
  granularity: "block" | "node";
  searchLines: number;
  confirmLines: number;
  maxDrop: number;
  candidates: "all" | "weighted";
  maxCandidates: number;
  floatAccuracyTop: number;
  latencyLines: number;
  out: string;
  threads: number;
}

interface RankedUnit {
  rank: number;
  unit: string;
  nodes: string[];
  opTypes: string[];
  weighted: boolean;
  region: string;
  /** Output SQNR (dB) with this unit alone quantized. */
  sqnr: number;
  /** Line accuracy (%) on the search set with everything quantized but this unit. */
  accuracyIfFloat?: number;
}

const pct = (x: number) => `${x.toFixed(1)}%`;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

function reusable(feeds: readonly Feeds[]): AsyncIterable<Feeds> {
  return { async *[Symbol.asyncIterator]() { yield* feeds; } };
}

export async function run(o: Options, command: string, log: (s: string) => void): Promise<void> {
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const phase: Record<string, number> = {};
  let mark = performance.now();
  const done = (name: string) => {
    phase[name] = (performance.now() - mark) / 1000;
    mark = performance.now();
  };
  mkdirSync(o.out, { recursive: true });
  const threads = o.threads;
  const createExecutor = (m: Model) => createOrtNodeExecutor(m, { threads });

  const model = loadModel(packagedModelPaths().rec);
  const inputName = model.graph.inputs[0]!.name;
  const calibration = calibrationFeeds("rec", inputName, { lines: Math.max(o.calibLines, o.rankLines), directions: 0, pages: 0 }, CALIBRATION_SEED);
  const set = buildEvaluationSet({ lineCount: o.searchLines + o.confirmLines, directionCount: 0, pageCount: 0 });
  const searchSet = set.lines.slice(0, o.searchLines);
  const confirmSet = set.lines.slice(o.searchLines);
  log(`${elapsed()}: rendered ${calibration.length} calibration lines (seed ${CALIBRATION_SEED}), ${searchSet.length} search + ${confirmSet.length} confirmation lines (seed ${set.seed})`);

  // 1. Quantize, keeping what bias correction changed so float layers can undo it.
  const pipeline = await quantizeWithOptimizations(model, reusable(calibration.slice(0, o.calibLines)), {
    preset: "ort", method: o.method, biasCorrection: o.biasCorrection, createExecutor, log: (s) => log(`  ${s}`),
  });
  const setup = pipeline.setup; // with the corrected biases, which float layers undo
  const float = floatReference(setup);
  const int8 = buildQdq(setup).model;
  log(`${elapsed()}: quantized (${o.method}${o.biasCorrection ? " + bias correction" : ""}), ${pipeline.plan.quantizedNodes.length} nodes quantized`);
  done("quantize");

  const searchEval = lineAccuracyEvaluator(searchSet, { threads });
  const floatScore = await searchEval.score(float);
  const int8Score = await searchEval.score(int8);
  const first200 = Math.min(200, searchSet.length);
  log(`${elapsed()}: search set: float ${pct(floatScore.percent)} (first ${first200}: ${pct(prefixPercent(floatScore.correct, first200))}), ` +
    `all int8 ${pct(int8Score.percent)} (first ${first200}: ${pct(prefixPercent(int8Score.correct, first200))}); ${floatScore.seconds.toFixed(1)} s / ${int8Score.seconds.toFixed(1)} s per pass`);
  done("float and int8 scores");

  // 2. Layer-wise ranking on calibration lines.
  const rankData = reusable(calibration.slice(0, o.rankLines));
  const order = topologicalOrder(setup.model.graph).map((n) => n.name);
  const blocks = regionLabels(order, RECOGNISER_BLOCKS);
  let lastLog = 0;
  const layers = await layerwiseErrors(setup, rankData, {
    createExecutor,
    ...(o.granularity === "block" ? { groupOf: (u: QuantUnit) => blocks.get(u.name) } : {}),
    onUnit: (i, total) => {
      if (performance.now() - lastLog > 30_000 || i === total) {
        lastLog = performance.now();
        log(`${elapsed()}: layer-wise ${i}/${total}`);
      }
    },
  });
  const regions = regionLabels(order, RECOGNISER_LANDMARKS);
  const ranking = sensitivityRanking(layers);
  const ranked: RankedUnit[] = ranking.map((l: LayerError, i) => ({
    rank: i + 1, unit: l.unit, nodes: l.nodes, opTypes: l.opTypes, weighted: l.weighted, region: regions.get(l.nodes[0]!) ?? "?", sqnr: l.sqnr,
  }));
  done("layer-wise ranking");

  // 3. Accuracy with each of the top units alone kept in float.
  for (const r of ranked.slice(0, o.floatAccuracyTop)) {
    r.accuracyIfFloat = await searchEval.evaluate(buildWithExclusions(setup, r.nodes).model);
    log(`${elapsed()}: #${r.rank} ${r.unit} [${r.opTypes.join("+")}] ${r.region}: SQNR ${r.sqnr.toFixed(1)} dB alone; float → ${pct(r.accuracyIfFloat)}`);
  }
  done("top units float one at a time");

  // 4. The search.
  const candidates = ranking.filter((u) => o.candidates === "all" || u.weighted).slice(0, o.maxCandidates);
  log(`${elapsed()}: search over the ${candidates.length} most sensitive ${o.candidates === "all" ? "" : "weighted "}units, target ≥ ${pct(floatScore.percent - o.maxDrop)}`);
  const steps: (MixedPrecisionStep & { seconds: number })[] = [];
  let stepStart = performance.now();
  const mp = await mixedPrecision(setup, {
    ranking: candidates, evaluator: searchEval, target: { maxDrop: o.maxDrop }, weightedOnly: false, referenceMetric: floatScore.percent,
    onStep: (s) => {
      steps.push({ ...s, seconds: (performance.now() - stepStart) / 1000 });
      stepStart = performance.now();
      log(`${elapsed()}: ${s.phase}${s.unit ? ` ${s.unit}` : ""}: ${s.float.length} float → ${pct(s.metric)}${s.meetsTarget ? " (meets target)" : ""}${s.phase === "prune" ? (s.kept ? ", stays float" : ", quantized again") : ""}`);
    },
  });
  const chosen = mp.built.model;
  const chosenScore = await searchEval.score(chosen);
  log(`${elapsed()}: decision: ${mp.decision.float.length} units float (${mp.exclude.length} nodes), ${pct(mp.decision.metric)}; target ${mp.decision.met ? "met" : "NOT met"}`);
  done("search");

  // 5. Confirmation on unseen lines, sizes, latency.
  const confirmation = confirmSet.length ? lineAccuracyEvaluator(confirmSet, { threads }) : undefined;
  const confirm = confirmation
    ? { float: (await confirmation.score(float)).percent, int8: (await confirmation.score(int8)).percent, mixed: (await confirmation.score(chosen)).percent }
    : undefined;
  if (confirm) log(`${elapsed()}: confirmation (${confirmSet.length} lines): float ${pct(confirm.float)}, all int8 ${pct(confirm.int8)}, mixed ${pct(confirm.mixed)}`);
  done("confirmation");
  const bytes = { float: encodeModel(float).byteLength, int8: encodeModel(int8).byteLength, mixed: encodeModel(chosen).byteLength };
  const ms = o.latencyLines > 0 ? await latencies({ float, int8, mixed: chosen }, searchSet.slice(0, o.latencyLines), 2, threads) : undefined;
  if (ms) log(`${elapsed()}: ms per line (1 of ${o.latencyLines} lines, best of 2 rounds): float ${ms.float!.toFixed(1)}, int8 ${ms.int8!.toFixed(1)}, mixed ${ms.mixed!.toFixed(1)}`);
  done("latency");

  const name = (ext: string) => join(o.out, `mixed_precision.${o.granularity}.${ext}`);
  writeFileSync(name("onnx"), encodeModel(chosen));
  writeFileSync(join(o.out, "rec.int8.onnx"), encodeModel(int8));
  const floatSet = new Set(mp.decision.float);
  const summary = {
    date: new Date().toISOString().slice(0, 10),
    command,
    options: o,
    seconds: { total: (performance.now() - started) / 1000, ...phase },
    quantizedNodes: pipeline.plan.quantizedNodes.length,
    units: layers.length,
    search: {
      lines: searchSet.length,
      float: floatScore.percent, int8: int8Score.percent, mixed: chosenScore.percent,
      first200: { float: prefixPercent(floatScore.correct, first200), int8: prefixPercent(int8Score.correct, first200), mixed: prefixPercent(chosenScore.correct, first200) },
    },
    confirmation: confirm ? { lines: confirmSet.length, ...confirm } : undefined,
    bytes,
    msPerLine: ms,
    ranking: ranked,
    decision: {
      met: mp.decision.met, threshold: mp.decision.threshold, metric: mp.decision.metric,
      float: ranked.filter((r) => floatSet.has(r.unit)), exclude: mp.exclude, reasons: mp.decision.reasons,
    },
    steps: steps.map((s) => ({ phase: s.phase, unit: s.unit, region: s.unit ? ranked.find((r) => r.unit === s.unit)?.region : undefined, floatUnits: s.float.length, metric: s.metric, meetsTarget: s.meetsTarget, kept: s.kept, seconds: s.seconds })),
  };
  writeFileSync(name("json"), JSON.stringify(summary, null, 2));
  writeFileSync(name("md"), markdown(summary));
  log(`${elapsed()}: wrote ${name("onnx")} (the chosen model), ${name("json")}, ${name("md")} and ${join(o.out, "rec.int8.onnx")}`);
}

type Summary = {
  date: string; command: string; search: { lines: number; float: number; int8: number; mixed: number; first200: { float: number; int8: number; mixed: number } };
  confirmation?: { lines: number; float: number; int8: number; mixed: number }; bytes: Record<string, number>; msPerLine?: Record<string, number>;
  ranking: RankedUnit[]; decision: { met: boolean; threshold: number; metric: number; float: RankedUnit[]; exclude: string[] };
  steps: { phase: string; unit?: string; region?: string; floatUnits: number; metric: number; meetsTarget: boolean; kept: boolean }[];
  seconds: Record<string, number>; options: Options;
};

/** The run as markdown: ranking, steps, decision. */
export function markdown(s: Summary): string {
  const out: string[] = [`Measured ${s.date}:`, "", "```", s.command, "```", ""];
  const top = s.ranking.filter((r) => r.accuracyIfFloat !== undefined || r.rank <= 15);
  out.push("| rank | unit | ops | where | output SQNR alone | line accuracy with it float |", "|---|---|---|---|---|---|");
  const ops = (r: RankedUnit) => r.opTypes.length <= 3 ? r.opTypes.join(" + ")
    : `${r.opTypes.length} nodes, ${r.opTypes.filter((t) => t === "Conv" || t === "MatMul").length} Conv/MatMul`;
  for (const r of top) out.push(`| ${r.rank} | ${r.unit} | ${ops(r)} | ${r.region} | ${r.sqnr.toFixed(1)} dB | ${r.accuracyIfFloat === undefined ? "–" : pct(r.accuracyIfFloat)} |`);
  out.push("", "| step | unit | where | units float | line accuracy | |", "|---|---|---|---|---|---|");
  for (const st of s.steps) {
    const notes = [...(st.meetsTarget ? ["meets target"] : []), ...(st.phase === "prune" ? [st.kept ? "stays float" : "quantized again"] : [])];
    out.push(`| ${st.phase} | ${st.unit ?? "–"} | ${st.region ?? "–"} | ${st.floatUnits} | ${pct(st.metric)} | ${notes.join(", ")} |`);
  }
  const c = s.confirmation;
  out.push("", `| model | ${s.search.lines} lines (search) | first 200 | ${c ? `${c.lines} other lines` : "–"} | size | ms per line |`, "|---|---|---|---|---|---|");
  for (const k of ["float", "int8", "mixed"] as const) {
    out.push(`| ${k} | ${pct(s.search[k])} | ${pct(s.search.first200[k])} | ${c ? pct(c[k]) : "–"} | ${mb(s.bytes[k]!)} | ${s.msPerLine ? s.msPerLine[k]!.toFixed(1) : "–"} |`);
  }
  out.push("", `Decision: ${s.decision.float.length} units float (${s.decision.exclude.length} nodes): ${s.decision.float.map((r) => `${r.unit} (${r.region})`).join(", ") || "none"}; ` +
    `target ${pct(s.decision.threshold)} ${s.decision.met ? "met" : "not met"}. Run time ${(s.seconds.total! / 60).toFixed(0)} min.`);
  return out.join("\n") + "\n";
}

// ─── Command line ──────────────────────────────────────────────────────────────────────────────

function count(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got ${value}`);
    return n;
  };
}

export async function main(argv = process.argv): Promise<void> {
  const o = new Command()
    .name("mixed_precision")
    .description("Layer-wise sensitivity and mixed-precision search for the PP-OCRv4 recogniser (line accuracy within a drop of float).")
    .option("--method <m>", "calibration method", "mse")
    .option("--no-bias-correction", "skip empirical bias correction")
    .option("--calib-lines <n>", "calibration lines (seed 7)", count(1), 64)
    .option("--rank-lines <n>", "calibration lines for the layer-wise SQNR ranking", count(1), 16)
    .option("--granularity <g>", "units of the ranking and the search: node (octet's units) or block (the recogniser's blocks)", (v) => {
      if (v !== "block" && v !== "node") throw new InvalidArgumentError(`expected node or block, got ${v}`);
      return v;
    }, "node")
    .option("--search-lines <n>", "evaluation lines the search scores candidates on", count(1), 1000)
    .option("--confirm-lines <n>", "further evaluation lines, unseen by the search, to confirm on", count(0), 1000)
    .option("--max-drop <points>", "allowed line-accuracy drop below float, in points", (v) => {
      const x = Number(v);
      if (!(x >= 0)) throw new InvalidArgumentError(`expected a number ≥ 0, got ${v}`);
      return x;
    }, 0.5)
    .option("--candidates <kind>", "all units, or weighted ones (Conv/MatMul) only", (v) => {
      if (v !== "all" && v !== "weighted") throw new InvalidArgumentError(`expected all or weighted, got ${v}`);
      return v;
    }, "all")
    .option("--max-candidates <n>", "the search considers this many of the most sensitive units", count(1), 40)
    .option("--float-accuracy-top <n>", "score this many top units kept float one at a time", count(0), 15)
    .option("--latency-lines <n>", "lines to time float, int8 and mixed on (0: no timing)", count(0), 100)
    .option("--out <dir>", "where the models and the summary go", "out/ppocr")
    .option("--threads <n>", "onnxruntime intra-op threads", count(1), 1)
    .parse(argv)
    .opts<Options>();
  const command = `node --import tsx examples/ppocr/mixed_precision.ts ${argv.slice(2).join(" ")}`.trim();
  await run(o, command, (s) => console.log(s));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  });
}
