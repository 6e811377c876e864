// The pure parts of examples/mnist/optimize_results.ts (the runner of the CLE / bias correction /
// AdaRound measurements on the MNIST models): argument parsing, the configurations of each
// experiment, the CLI command and label of a configuration, number formatting, merging and the
// markdown tables. Expected values are written by hand; no quantization or training runs here.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  apiOptions, cleSpreadMarkdown, configurationLabel, experimentConfigurations, formatDb, formatDrop, formatPercent, mergeResults, parseRunnerArgs,
  quantizeCommand, resultsMarkdown, type Configuration, type ResultRow, type Results,
} from "../../examples/mnist/optimize_results.js";

test("parseRunnerArgs: defaults", () => {
  assert.deepEqual(parseRunnerArgs([]), {
    experiments: ["mobilenet-int8", "mobilenet-w4", "lenet-w4", "lenet-w4-default"], samples: 512, method: "percentile", out: "out/mnist/optimize", renderOnly: false,
  });
});

test("parseRunnerArgs: every flag", () => {
  assert.deepEqual(
    parseRunnerArgs(["--experiments", "lenet-w4,mobilenet-int8,lenet-w4", "--samples", "256", "--method", "mse", "--adaround-iterations", "200", "--out", "/tmp/x"]),
    { experiments: ["lenet-w4", "mobilenet-int8"], samples: 256, method: "mse", adaroundIterations: 200, out: "/tmp/x", renderOnly: false },
  );
  assert.equal(parseRunnerArgs(["--render-only"]).renderOnly, true);
  assert.deepEqual(parseRunnerArgs(["--samples=64"]).samples, 64);
});

test("parseRunnerArgs: bad input names the problem", () => {
  assert.throws(() => parseRunnerArgs(["--experiments", "resnet"]), /unknown experiment "resnet"/);
  assert.throws(() => parseRunnerArgs(["--experiments", ","]), /--experiments needs at least one name/);
  for (const bad of ["0", "-3", "1.5", "abc", ""]) assert.throws(() => parseRunnerArgs([`--samples=${bad}`]), /--samples must be a positive integer/);
  assert.throws(() => parseRunnerArgs(["--adaround-iterations", "0"]), /--adaround-iterations must be a positive integer/);
  assert.throws(() => parseRunnerArgs(["--method", "kl"]), /--method must be one of/);
  assert.throws(() => parseRunnerArgs(["--threads", "2"]), /Unknown option '--threads'/);
  assert.throws(() => parseRunnerArgs(["mobilenet"]), /positional/i);
});

test("experimentConfigurations: the rows of each experiment, unique ids", () => {
  const int8 = experimentConfigurations("mobilenet-int8");
  // nearest, bias correction, 3 Relu6 policies × (CLE, CLE + bias correction), per-channel without and with CLE.
  assert.equal(int8.length, 10);
  assert.ok(int8.every((c) => c.model === "mobilenet" && c.weightType === "int8"));
  assert.deepEqual(int8.filter((c) => c.cle).map((c) => c.cle), ["skip", "skip", "relu-if-unreached", "relu-if-unreached", "relu", "relu", "relu-if-unreached"]);
  assert.equal(int8.filter((c) => c.perChannel).length, 2);
  const all = (["mobilenet-int8", "mobilenet-w4", "lenet-w4", "lenet-w4-default"] as const).flatMap((e) => experimentConfigurations(e));
  assert.equal(new Set(all.map((c) => c.id)).size, all.length);
  for (const c of all) assert.match(c.id, /^[a-z0-9.-]+$/);
});

test("experimentConfigurations: LeNet's AdaRound steps, and --adaround-iterations replacing them", () => {
  const steps = (e: "lenet-w4" | "lenet-w4-default" | "mobilenet-w4", override?: number) =>
    experimentConfigurations(e, override).filter((c) => c.adaround).map((c) => c.adaround!.iterations);
  assert.deepEqual(steps("lenet-w4"), [200, 200, 200, 200]);
  assert.deepEqual(steps("lenet-w4-default"), [undefined, undefined]);
  assert.deepEqual(steps("lenet-w4", 50), [50, 50, 50, 50]);
  assert.deepEqual(steps("lenet-w4-default", 50), [50, 50]);
  assert.ok(steps("mobilenet-w4").every((n) => n === undefined));
  assert.ok(steps("mobilenet-w4", 7).every((n) => n === 7));
});

const lenetAdaround: Configuration = { id: "lenet-w4a8-pt-adaround", experiment: "lenet-w4", model: "lenet", weightType: "int4", perChannel: false, adaround: {} };

test("quantizeCommand: the octet quantize line, or undefined where the CLI has no flag", () => {
  assert.equal(quantizeCommand(lenetAdaround, 512, "percentile"),
    "octet quantize out/mnist/lenet.onnx -o lenet-w4a8-pt-adaround.onnx --calib mnist --samples 512 --per-tensor --weight-type int4 --adaround");
  const mobile: Configuration = { id: "m", experiment: "mobilenet-int8", model: "mobilenet", weightType: "int8", perChannel: true, cle: "skip", biasCorrection: true };
  assert.equal(quantizeCommand(mobile, 128, "mse"), "octet quantize out/mnist/mobilenet.onnx -o m.onnx --calib mnist --samples 128 --method mse --cle --bias-correction");
  assert.equal(quantizeCommand({ ...lenetAdaround, adaround: { iterations: 200 } }, 512, "percentile"),
    "octet quantize out/mnist/lenet.onnx -o lenet-w4a8-pt-adaround.onnx --calib mnist --samples 512 --per-tensor --weight-type int4 --adaround --adaround-iterations 200");
  assert.equal(quantizeCommand({ ...mobile, perChannel: false, cle: "relu" }, 512, "percentile"),
    "octet quantize out/mnist/mobilenet.onnx -o m.onnx --calib mnist --samples 512 --per-tensor --cle --cle-clip relu --bias-correction");
  assert.equal(quantizeCommand({ ...lenetAdaround, adaround: { lambda: 0.1 } }, 512, "percentile"), undefined);
  assert.equal(quantizeCommand({ ...lenetAdaround, adaround: { inputs: "float" } }, 512, "percentile"), undefined);
});

test("apiOptions and configurationLabel", () => {
  assert.deepEqual(apiOptions(lenetAdaround), { adaround: true });
  assert.deepEqual(apiOptions({ ...lenetAdaround, cle: "relu", biasCorrection: true, adaround: { iterations: 200, inputs: "float" } }),
    { cle: { clip: "relu" }, adaround: { iterations: 200, inputs: "float" }, biasCorrection: true });
  assert.deepEqual(apiOptions({ ...lenetAdaround, adaround: undefined }), {});
  assert.equal(configurationLabel({ ...lenetAdaround, adaround: undefined }), "per-tensor, nearest");
  assert.equal(configurationLabel({ ...lenetAdaround, perChannel: true, cle: "relu", biasCorrection: true, adaround: { iterations: 200, lambda: 0.1, inputs: "float" } }),
    "per-channel, CLE (relu) + AdaRound (200 it., λ 0.1, float inputs) + bias correction");
});

test("formatting: percent, signed points, dB", () => {
  assert.equal(formatPercent(0.9885), "98.85");
  assert.equal(formatDrop(0.9878, 0.9885), "−0.07");
  assert.equal(formatDrop(0.9932, 0.9932), "±0.00");
  assert.equal(formatDrop(0.9935, 0.9932), "+0.03");
  assert.equal(formatDrop(0.8313, 0.9885), "−15.72");
  assert.equal(formatDb(23.456), "23.5");
  assert.equal(formatDb(Infinity), "∞");
});

function row(c: Configuration, accuracy: number, sqnrDb: number, seconds: number, optimization: "all" | "basic" = "all"): ResultRow {
  return { configuration: c, label: configurationLabel(c), accuracy, optimization, sqnrDb, seconds };
}

const lenetNearest: Configuration = { id: "lenet-w4a8-pt", experiment: "lenet-w4", model: "lenet", weightType: "int4", perChannel: false };
const mobileNearest: Configuration = { id: "mobilenet-w8a8-pt", experiment: "mobilenet-int8", model: "mobilenet", weightType: "int8", perChannel: false };

test("resultsMarkdown: one table per experiment in a fixed order, float line, basic level marked", () => {
  const results: Results = {
    date: "2026-11-21", environment: "test", samples: 512, method: "percentile", float: { lenet: 0.9932, mobilenet: 0.9885 },
    rows: [row(lenetNearest, 0.9922, 20.04, 0.6), row(lenetAdaround, 0.993, 25.55, 61.25, "basic"), row(mobileNearest, 0.9878, 30, 0.7)],
    equalizedFloat: [{ model: "mobilenet", clip: "relu", clipsReplaced: 9, accuracy: 0.9885, sqnrDb: Infinity }],
  };
  assert.equal(resultsMarkdown(results), [
    "#### MobileNet-style, W8A8 (int8 weights, uint8 activations)",
    "",
    "float: 98.85%",
    "",
    "| configuration | test accuracy (%) | vs float (points) | logits SQNR (dB) | time (s) |",
    "|---|---:|---:|---:|---:|",
    "| per-tensor, nearest | 98.78 | −0.07 | 30.0 | 0.7 |",
    "",
    "#### LeNet, W4A8 (int4 weights, uint8 activations)",
    "",
    "float: 99.32%",
    "",
    "| configuration | test accuracy (%) | vs float (points) | logits SQNR (dB) | time (s) |",
    "|---|---:|---:|---:|---:|",
    "| per-tensor, nearest | 99.22 | −0.10 | 20.0 | 0.6 |",
    "| per-tensor, AdaRound | 99.30 (basic) | −0.02 | 25.6 | 61.3 |",
    "",
    "#### The float model after CLE (before quantization)",
    "",
    "| model | Relu6 policy | Clips → Relu | test accuracy (%) | logits SQNR vs original (dB) |",
    "|---|---|---:|---:|---:|",
    "| mobilenet | relu | 9 | 98.85 | ∞ |",
    "",
  ].join("\n"));
});

test("mergeResults: rows of the experiments run replace theirs, the others stay", () => {
  const base = { date: "2026-11-20", environment: "e", samples: 512, method: "percentile" as const };
  const old: Results = { ...base, float: { lenet: 0.99, mobilenet: 0.98 }, rows: [row(mobileNearest, 0.5, 1, 1), row(lenetNearest, 0.6, 2, 1)], equalizedFloat: [{ model: "mobilenet", clip: "relu", clipsReplaced: 9, accuracy: 0.9, sqnrDb: 50 }] };
  const fresh: Results = { ...base, date: "2026-11-21", float: { lenet: 0.9932 }, rows: [row(lenetAdaround, 0.7, 3, 1)], equalizedFloat: [] };
  const merged = mergeResults(old, fresh, ["lenet-w4"]);
  assert.equal(merged.date, "2026-11-21");
  assert.deepEqual(merged.float, { lenet: 0.9932, mobilenet: 0.98 });
  assert.deepEqual(merged.rows.map((r) => r.configuration.id), ["mobilenet-w8a8-pt", "lenet-w4a8-pt-adaround"]);
  assert.equal(merged.equalizedFloat.length, 1);
  // Different calibration: earlier rows are not comparable, so they are dropped.
  assert.deepEqual(mergeResults(old, { ...fresh, samples: 256 }, ["lenet-w4"]).rows.map((r) => r.configuration.id), ["lenet-w4a8-pt-adaround"]);
  assert.equal(mergeResults(undefined, fresh, ["lenet-w4"]), fresh);
});

test("cleSpreadMarkdown: one column per policy that equalized, layers in first-seen order, unconverged flagged", () => {
  const cleRow = (cle: "skip" | "relu-if-unreached" | "relu", layers: { node: string; spreadBefore: number; spreadAfter: number }[], converged = true): ResultRow => ({
    ...row({ ...mobileNearest, id: `m-${cle}`, cle }, 0.98, 30, 1),
    cle: { pairs: layers.length ? layers.length - 1 : 0, clipsReplaced: cle === "skip" ? 0 : layers.length - 1, sweeps: layers.length ? 7 : 0, converged, layers },
  });
  assert.equal(cleSpreadMarkdown([row(mobileNearest, 0.98, 30, 1), cleRow("skip", [])]), undefined);
  const text = cleSpreadMarkdown([
    cleRow("skip", []),
    cleRow("relu", [{ node: "A", spreadBefore: 4, spreadAfter: 1.5 }, { node: "B", spreadBefore: 8.276, spreadAfter: 1.899 }, { node: "C", spreadBefore: 2, spreadAfter: 1.2 }], false),
    cleRow("relu-if-unreached", [{ node: "A", spreadBefore: 4, spreadAfter: 2 }, { node: "B", spreadBefore: 8.276, spreadAfter: 2.5 }]),
    cleRow("relu", [{ node: "A", spreadBefore: 4, spreadAfter: 99 }]), // a later row of the same policy is ignored
  ]);
  assert.equal(text, [
    "#### Largest / smallest per-channel weight range, before and after CLE",
    "",
    "| layer | before | after CLE (relu-if-unreached) | after CLE (relu) |",
    "|---|---:|---:|---:|",
    "| A | 4.00 | 2.00 | 1.50 |",
    "| B | 8.28 | 2.50 | 1.90 |",
    "| C | 2.00 | – | 1.20 |",
    "",
    "relu-if-unreached: 1 pairs, 1 Clips → Relu, 7 sweeps; relu: 2 pairs, 2 Clips → Relu, 7 sweeps (not converged).",
  ].join("\n"));
});
