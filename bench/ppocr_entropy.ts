/**
 * Does entropy (KL) calibration behave on the PP-OCR models? For every calibrated tensor: how many
 * values the histogram saw, the share of exact zeros, the MinMax range and the entropy threshold,
 * and the accuracy of the model quantized with entropy ranges computed in three variants on the
 * same histograms:
 *
 *   tensorrt   octet's EntropyObserver (TensorRT's algorithm: 128 levels, search from bin 128);
 *   damp-zero  pytorch-quantization's tweak: bins[0] = bins[1] before the search, so a spike of
 *              exact zeros (after ReLU, or sparse tensors) does not dominate P;
 *   unsigned   one-sided tensors (min ≥ 0, quantized to uint8 [0, T]) searched with 256 levels from
 *              bin 256: TensorRT's 128 levels assume a sign bit that an asymmetric uint8 range does
 *              not spend, so the search trades resolution it does not actually lose for clipping;
 *   both       damp-zero and unsigned together;
 *   both+offset  and tensors whose values all lie away from 0 (min > 0 or max < 0, e.g. a
 *              LayerNorm variance) keep their MinMax range: the search over |x| assumes mass near 0
 *              and otherwise returns a threshold at or below the smallest value, a degenerate range.
 *
 *   node --import tsx bench/ppocr_entropy.ts --model cls [--calib 64] [--show 25]
 */
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import type { CalibrationMethod } from "../src/calibrate/calibrate.js";
import { calibratedTensors } from "../src/calibrate/calibrate.js";
import { exportQdq } from "../src/export/qdq.js";
import { encodeModel } from "../src/onnx/encode.js";
import { loadModel } from "../src/onnx/files.js";
import { entropyCalibration } from "../src/observe/entropy.js";
import type { HistogramObserver } from "../src/observe/histogram_observer.js";
import { presetByName } from "../src/plan/preset.js";
import { resolveActivationParams, type Range } from "../src/plan/resolve.js";
import { buildEvaluationSet, type ModelKind } from "../examples/ppocr/dataset.js";
import { ortRunner, packagedModelPaths } from "../examples/ppocr/evaluate.js";
import {
  calibrateEveryMethod, calibrationFeeds, memoizedRunner, openQuietSession, preparedPlan, scoreModel,
} from "../examples/ppocr/quantize_all.js";

type Variant = "tensorrt" | "damp-zero" | "unsigned" | "both" | "both+offset";
const VARIANTS: Variant[] = ["tensorrt", "damp-zero", "unsigned", "both", "both+offset"];

function entropyRange(h: ReturnType<HistogramObserver["snapshot"]>, variant: Variant): Range {
  if (variant === "both+offset" && (h.min > 0 || h.max < 0)) return { min: h.min, max: h.max };
  if (variant === "both+offset") variant = "both";
  const counts = h.absoluteCounts();
  if (variant === "damp-zero" || variant === "both") counts[0] = counts[1]!;
  const oneSided = h.min >= 0;
  const levels = (variant === "unsigned" || variant === "both") && oneSided ? 256 : 128;
  const { threshold } = entropyCalibration(counts, h.binWidth, levels, Math.max(128, levels));
  const t = Math.min(threshold, h.maxAbs);
  return { min: Math.max(-t, h.min), max: Math.min(t, h.max) };
}

async function main(): Promise<void> {
  const o = new Command()
    .option("--model <kind>", "det | rec | cls", "cls")
    .option("--calib <n>", "calibration samples", "64")
    .option("--show <n>", "tensors listed (most clipped first)", "25")
    .parse()
    .opts<{ model: ModelKind; calib: string; show: string }>();
  const kind = o.model;
  const path = packagedModelPaths()[kind];
  const model = loadModel(path);
  const n = Number(o.calib);
  const feeds = calibrationFeeds(kind, model.graph.inputs[0]!.name, { lines: n, directions: n, pages: n });
  const { prepared, plan } = preparedPlan(model, "ort");
  const names = calibratedTensors(plan);
  const multi = await calibrateEveryMethod(prepared, names, feeds);
  const producer = new Map(prepared.graph.nodes.flatMap((x) => x.outputs.map((y) => [y, x.opType] as const)));

  const rows = names.map((name) => {
    const h = (multi.histogram.get(name) as HistogramObserver).snapshot();
    const abs = h.absoluteCounts();
    const ranges = Object.fromEntries(VARIANTS.map((v) => [v, entropyRange(h, v)])) as Record<Variant, Range>;
    const span = (r: Range) => Math.max(r.max, 0) - Math.min(r.min, 0);
    const minmax = { min: h.min, max: h.max };
    return { name, op: producer.get(name) ?? "input", values: h.total, zeros: abs[0]! / h.total, minmax, ranges, kept: span(ranges.tensorrt) / span(minmax) };
  });
  rows.sort((a, b) => a.kept - b.kept);
  console.log(`${kind}: ${names.length} calibrated tensors, ${multi.samples} samples. Entropy range as a fraction of the MinMax range (most clipped first):`);
  console.log("kept   values/sample  |x| bin 0  op          tensor                          minmax → tensorrt | damp-zero | unsigned | both (upper end)");
  for (const r of rows.slice(0, Number(o.show))) {
    const f = (x: number) => x.toPrecision(3);
    console.log(`${r.kept.toFixed(3)}  ${String(Math.round(r.values / multi.samples)).padStart(12)}  ${(100 * r.zeros).toFixed(1).padStart(8)}%  ${r.op.padEnd(10)}  ${r.name.padEnd(30)}  [${f(r.minmax.min)}, ${f(r.minmax.max)}] → ${VARIANTS.map((v) => f(r.ranges[v].max)).join(" | ")}`);
  }
  const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`median kept fraction ${median(rows.map((r) => r.kept)).toFixed(3)}; tensors clipped to < 25% of their MinMax range: ${rows.filter((r) => r.kept < 0.25).length}`);

  // Accuracy of each variant, through the real integer kernels.
  const preset = presetByName("ort");
  const set = buildEvaluationSet({ lineCount: kind === "rec" ? 200 : 0, directionCount: kind === "cls" ? 100 : 0, pageCount: kind === "det" ? 20 : 0 });
  const floatSession = await openQuietSession(path);
  const reference = memoizedRunner(ortRunner(floatSession));
  const pct = (x: number | undefined) => (x === undefined ? "–" : `${(100 * x).toFixed(1)}%`);
  const floatScores = await scoreModel(kind, reference, set);
  console.log(`\nfloat: ${pct(floatScores.primary)}`);
  const configs: { name: string; range: (name: string) => Range }[] = [
    ...(["minmax"] as CalibrationMethod[]).map((m) => ({ name: m, range: (t: string) => multi.minmax.get(t)!.range() })),
    ...VARIANTS.map((v) => ({ name: `entropy ${v}`, range: (t: string) => rows.find((r) => r.name === t)!.ranges[v] })),
  ];
  for (const c of configs) {
    const ranges = new Map(names.map((t) => [t, c.range(t)]));
    const params = resolveActivationParams(prepared.graph, plan, ranges, preset);
    const bytes = encodeModel(exportQdq(prepared, plan, params).model);
    const session = await openQuietSession(bytes);
    const s = await scoreModel(kind, session, set, reference);
    await session.release();
    console.log(`${c.name.padEnd(20)} primary ${pct(s.primary)}, secondary ${pct(s.secondary)}, vs float ${s.vsFloat === undefined ? "–" : kind === "det" ? s.vsFloat.toFixed(3) : pct(s.vsFloat)}`);
  }
  await floatSession.release();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  });
}
