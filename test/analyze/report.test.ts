import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Model } from "../../src/graph/ir.js";
import { analysisJson, registerAnalyze, registerReport } from "../../src/cli/analyze.js";
import { analyzeQuantization } from "../../src/analyze/analysis.js";
import { quantizeWithOptimizations } from "../../src/api/optimized_quantize.js";
import { collectReportData, tensorRanges } from "../../src/analyze/report_data.js";
import { embedJson, renderReport } from "../../src/analyze/report_html.js";
import { analyzeFile, plotlySource } from "../../src/api/analyze_file.js";
import { createObserver } from "../../src/observe/index.js";
import { saveModel } from "../../src/onnx/files.js";
import { rng } from "../helpers/models.js";
import { depthwiseNet, inputBatches, sourceOf } from "../optimize/nets.js";

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

test("one recorded histogram gives each method's range exactly as that method's own observer does", () => {
  const r = rng(3);
  const values = Float32Array.from({ length: 20000 }, () => (r() < 0.999 ? r() * 2 - 0.5 : 8 * r()));
  const recorder = createObserver("entropy", { bits: 8 });
  recorder.update(values);
  const { ranges, histogram } = tensorRanges(recorder.state());
  for (const method of ["percentile", "entropy", "mse"] as const) {
    const own = createObserver(method, { bits: 8 });
    own.update(values);
    assert.deepEqual(ranges[method], [own.range().min, own.range().max], method);
  }
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.deepEqual(ranges.minmax, [min, max]);
  // The plotted bars hold every value.
  assert.equal(histogram!.counts.reduce((a, b) => a + b, 0), values.length);
  assert.ok(histogram!.counts.length <= 160);
  assert.ok(histogram!.start <= min && histogram!.start + histogram!.width * histogram!.counts.length >= max);
});

test("the page embeds the data (±Infinity kept, no early </script>) and the plotting library", async () => {
  const model = depthwiseNet();
  const data = sourceOf(inputBatches(2, 8, 51));
  const pipeline = await quantizeWithOptimizations(model, data, { createExecutor, method: "percentile", weightType: "int4" });
  const analysis = await analyzeQuantization(pipeline.setup, data, { createExecutor });
  const report = collectReportData({ title: "t </script><b>", pipeline, analysis, histograms: pipeline.calibration });
  assert.equal(report.tensors.length, 7);
  assert.ok(report.tensors.every((t) => t.ranges.minmax));
  assert.equal(report.weights.length, 4);
  assert.deepEqual(report.weights[1]!.mins.length, 8); // dwconv: 8 channels
  const html = renderReport(report, "/* plotly */ window.Plotly = {};");
  assert.ok(html.includes("/* plotly */"));
  assert.ok(!html.includes("t </script><b>"), "the title is escaped");
  const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
  const parsed = JSON.parse(json) as { tensors: { name: string }[]; layers: { sqnr: unknown }[]; title: string };
  assert.equal(parsed.title, "t </script><b>");
  assert.deepEqual(parsed.tensors.map((t) => t.name), report.tensors.map((t) => t.name));
  assert.equal(JSON.parse(embedJson({ a: Infinity, b: -Infinity })).a, "Infinity");
  assert.ok(plotlySource().length > 500_000, "the plotly.js bundle is installed");
});

test("octet analyze --json and octet report run end to end on a model file", async () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-analyze-"));
  const modelPath = join(dir, "net.onnx");
  saveModel(depthwiseNet({ spread: 1.5 }), modelPath);
  const program = new Command("octet").exitOverride();
  registerAnalyze(program);
  registerReport(program);
  await program.parseAsync(["analyze", modelPath, "--calib", "random", "--samples", "16", "--batch", "8", "--weight-type", "int4",
    "--cle", "--bias-correction", "--target-sqnr", "25", "-q", "-o", join(dir, "q.onnx")], { from: "user" });
  assert.ok(existsSync(join(dir, "q.onnx")));
  const r = await analyzeFile(modelPath, { calib: "random", calibOptions: { samples: 16, batch: 8, warn: () => {} }, quantize: { weightType: "int4", cle: true }, targetSqnr: 25 });
  const out = JSON.parse(analysisJson(r)) as { ranking: { unit: string }[]; mixedPrecision: { met: boolean; exclude: string[] }; optimizations: { cle: { pairs: unknown[] } }; scores: { float: unknown } };
  assert.equal(out.ranking.length, 6);
  assert.equal(out.optimizations.cle.pairs.length, 3);
  assert.equal(typeof out.mixedPrecision.met, "boolean");
  assert.equal(out.scores.float, "Infinity");

  const html = join(dir, "report.html");
  await program.parseAsync(["report", modelPath, "-o", html, "--calib", "random", "--samples", "16", "--batch", "8", "-q"], { from: "user" });
  const page = readFileSync(html, "utf8");
  assert.ok(page.startsWith("<!DOCTYPE html>"));
  assert.ok(page.length > 500_000, "plotly is inlined");
  await assert.rejects(program.parseAsync(["report", modelPath, "-o", html, "--calib", "random", "-q"], { from: "user" }), /already exists/);
  await assert.rejects(program.parseAsync(["analyze", modelPath, "--calib", "random", "--target-drop", "1", "-q"], { from: "user" }), /--target-drop needs labels/);
});

test("the report lists high-bias absorption among the optimizations, with the channels it moved", async () => {
  const model = depthwiseNet();
  const data = sourceOf(inputBatches(2, 8, 52));
  const pipeline = await quantizeWithOptimizations(model, data, { createExecutor, method: "minmax", cle: { highBiasAbsorption: true } });
  const analysis = await analyzeQuantization(pipeline.setup, data, { createExecutor, layerwise: false });
  const report = collectReportData({ title: "hba", pipeline, analysis, histograms: pipeline.calibration });
  const section = report.optimizations.find((o) => o.name === "High-bias absorption");
  assert.ok(section, report.optimizations.map((o) => o.name).join(", "));
  const moved = pipeline.optimizations.highBiasAbsorption!.channelsMoved;
  assert.match(section.lines[0]!, new RegExp(`^${moved} channels? moved`));
});
