/**
 * What calibration costs next to plain float inference, per method, on a PP-OCR model:
 *
 *   ratio = calibration wall time ÷ float inference wall time over the same samples,
 *
 * both with onnxruntime-node, 1 intra-op thread, the same session options (calibrate/ort_node.ts),
 * session creation included on both sides. Calibration is src/calibrate/calibrate.ts's `calibrate`
 * (the float model with every calibrated tensor exposed as an output, each output streamed into
 * its observer) plus `observer.range()` for every tensor (where entropy and MSE do their search).
 * Its time is split into: session creation, ONNX Runtime runs with the extra outputs, observer
 * updates (the rest of the loop), and range().
 *
 *   node --import tsx bench/calibration_cost.ts [--model rec] [--samples 32] [--methods ...] [--rounds 2]
 *
 * Float runs are interleaved with the methods (float, m1, float, m2, …) and the float time used is
 * the median of those runs, so a noisy machine hits both sides alike. Compare ratios, not seconds.
 */
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { calibrate, type CalibrationMethod } from "../src/calibrate/calibrate.js";
import type { Executor, Feeds } from "../src/calibrate/executor.js";
import { createOrtNodeExecutor } from "../src/calibrate/ort_node.js";
import type { Model } from "../src/graph/ir.js";
import { loadModel } from "../src/onnx/files.js";
import { median } from "../src/analyze/metrics.js";
import type { ModelKind } from "../examples/ppocr/dataset.js";
import { packagedModelPaths } from "../examples/ppocr/evaluate.js";
import { ALL_METHODS, calibrationFeeds, iterate, preparedPlan } from "../examples/ppocr/quantize_all.js";

export interface FloatTiming {
  /** Session creation + runs. */
  total: number;
  create: number;
  run: number;
}

export interface CalibrationTiming {
  method: CalibrationMethod;
  total: number;
  create: number;
  /** ONNX Runtime runs with the calibrated tensors exposed (including copying them out). */
  run: number;
  /** The rest of calibrate(): observer updates, feed validation, bookkeeping. */
  observe: number;
  /** observer.range() over every calibrated tensor. */
  range: number;
  tensors: number;
  /** Values the executor handed back per sample (every exposed tensor, plus the graph outputs). */
  valuesPerSample: number;
}

const now = () => performance.now() / 1000;

export async function timeFloat(model: Model, feeds: readonly Feeds[], threads = 1): Promise<FloatTiming> {
  const t0 = now();
  const executor = await createOrtNodeExecutor(model, { threads });
  const t1 = now();
  for (const f of feeds) await executor.run(f);
  const t2 = now();
  await executor.dispose();
  return { total: t2 - t0, create: t1 - t0, run: t2 - t1 };
}

export async function timeCalibration(
  prepared: Model, plan: ReturnType<typeof preparedPlan>["plan"], feeds: readonly Feeds[], method: CalibrationMethod, threads = 1,
): Promise<CalibrationTiming> {
  let create = 0;
  let run = 0;
  let values = 0;
  let runs = 0;
  const createExecutor = async (m: Model): Promise<Executor> => {
    const t = now();
    const inner = await createOrtNodeExecutor(m, { threads });
    create += now() - t;
    return {
      async run(f) {
        const s = now();
        const out = await inner.run(f);
        run += now() - s;
        runs++;
        for (const t of out.values()) values += (t.data as ArrayLike<number>).length;
        return out;
      },
      dispose: () => inner.dispose(),
    };
  };
  const t0 = now();
  const calibration = await calibrate(prepared, plan, iterate(feeds), { method, createExecutor });
  const t1 = now();
  for (const o of calibration.observers.values()) o.range();
  const t2 = now();
  return {
    method, total: t2 - t0, create, run, observe: t1 - t0 - create - run, range: t2 - t1, tensors: calibration.observers.size,
    valuesPerSample: values / runs,
  };
}

async function main(): Promise<void> {
  const o = new Command()
    .option("--model <kind>", "det | rec | cls", "rec")
    .option("--samples <n>", "calibration samples", "32")
    .option("--methods <list>", "methods", ALL_METHODS.join(","))
    .option("--rounds <n>", "repeat the whole interleaved sequence", "1")
    .option("--threads <n>", "intra-op threads", "1")
    .option("--json", "print the results as JSON too")
    .parse()
    .opts<{ model: ModelKind; samples: string; methods: string; rounds: string; threads: string; json?: boolean }>();
  const kind = o.model;
  const n = Number(o.samples);
  const threads = Number(o.threads);
  const model = loadModel(packagedModelPaths()[kind]);
  const feeds = calibrationFeeds(kind, model.graph.inputs[0]!.name, { lines: n, directions: n, pages: n });
  const { prepared, plan } = preparedPlan(model, "ort");
  const methods = o.methods.split(",") as CalibrationMethod[];

  await timeFloat(prepared, feeds.slice(0, 2), threads); // warm-up: first session creation pays one-time costs
  const floats: FloatTiming[] = [];
  const results = new Map<CalibrationMethod, CalibrationTiming[]>();
  for (let round = 0; round < Number(o.rounds); round++) {
    for (const method of methods) {
      floats.push(await timeFloat(prepared, feeds, threads));
      const r = await timeCalibration(prepared, plan, feeds, method, threads);
      results.set(method, [...(results.get(method) ?? []), r]);
      process.stderr.write(`${method}: ${r.total.toFixed(2)} s (float ${floats[floats.length - 1]!.total.toFixed(2)} s)\n`);
    }
  }
  floats.push(await timeFloat(prepared, feeds, threads));
  const floatTotal = median(floats.map((f) => f.total));
  const floatRun = median(floats.map((f) => f.run));
  const floatCreate = median(floats.map((f) => f.create));
  const tensors = results.get(methods[0]!)![0]!.tensors;
  const perSample = results.get(methods[0]!)![0]!.valuesPerSample;
  console.log(`${kind}: ${feeds.length} samples, ${tensors} calibrated tensors (${(perSample / 1e6).toFixed(1)} M values per sample), onnxruntime-node ${threads} thread(s)`);
  console.log(`float inference (prepared model): ${floatTotal.toFixed(2)} s = session ${floatCreate.toFixed(2)} s + runs ${floatRun.toFixed(2)} s (median of ${floats.length}), ${((1e9 * floatRun) / (perSample * feeds.length)).toFixed(2)} ns per observed value`);
  console.log("");
  console.log("| method | calibration | ÷ float | session | ORT runs with outputs exposed | observer updates | range() | runs-only ÷ float runs |");
  console.log("|---|---|---|---|---|---|---|---|");
  const rows: Record<string, unknown>[] = [];
  for (const method of methods) {
    const rs = results.get(method)!;
    const pick = (f: (r: CalibrationTiming) => number) => median(rs.map(f));
    const r = { method, total: pick((x) => x.total), create: pick((x) => x.create), run: pick((x) => x.run), observe: pick((x) => x.observe), range: pick((x) => x.range) };
    rows.push({ ...r, ratio: r.total / floatTotal, floatTotal, floatRun });
    const s = (x: number) => `${x.toFixed(2)} s`;
    const ns = (x: number) => ((1e9 * x) / (perSample * feeds.length)).toFixed(1);
    console.log(`| ${method} | ${s(r.total)} | **${(r.total / floatTotal).toFixed(2)}×** | ${s(r.create)} | ${s(r.run)} (${(r.run / floatRun).toFixed(2)}× float runs) | ${s(r.observe)} (${ns(r.observe)} ns/value) | ${s(r.range)} | ${((r.run + r.observe) / floatRun).toFixed(2)}× |`);
  }
  if (o.json) console.log(JSON.stringify({ kind, samples: feeds.length, tensors, threads, floatTotal, floatRun, floatCreate, rows }, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  });
}
