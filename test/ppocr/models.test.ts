/**
 * The pipeline against independent truth: the packaged float models must read the strings we
 * rendered, find the lines we placed, and tell upright from upside-down lines.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildEvaluationSet } from "../../examples/ppocr/dataset.js";
import { defaultDictionaryPath, loadDictionary } from "../../examples/ppocr/dictionary.js";
import {
  evaluateClassifier, evaluateDetector, evaluateRecognizer, type ModelRunner, openSession, packagedModelPaths,
} from "../../examples/ppocr/evaluate.js";

const paths = packagedModelPaths();

test("the recogniser's class axis is blank + dictionary lines + space", async () => {
  const session = await openSession(paths.rec);
  const meta = session.outputMetadata[0];
  assert.ok(meta && meta.isTensor);
  const lines = readFileSync(defaultDictionaryPath(), "utf8").split("\n").filter((l) => l !== "").length;
  assert.equal(meta.shape[2], 1 + lines + 1);
  assert.equal(loadDictionary().classCount, meta.shape[2]);
});

test("the float recogniser reads at least 90% of 20 rendered lines exactly", async () => {
  const set = buildEvaluationSet({ lineCount: 20, directionCount: 0, pageCount: 0 });
  const report = await evaluateRecognizer(await openSession(paths.rec), set);
  assert.equal(report.count, 20);
  assert.ok(report.lineAccuracy >= 0.9, `line accuracy ${report.lineAccuracy}: ${JSON.stringify(report.predicted)}`);
  assert.ok(report.charAccuracy >= 0.97, `char accuracy ${report.charAccuracy}`);
});

test("the float classifier tells 0° from 180° on at least 85% of 20 lines", async () => {
  const set = buildEvaluationSet({ lineCount: 0, directionCount: 20, pageCount: 0 });
  const report = await evaluateClassifier(await openSession(paths.cls), set);
  assert.ok(report.accuracy >= 0.85, `accuracy ${report.accuracy}`);
});

test("the float detector finds at least 90% of the lines on 2 pages; map IoU against itself is 1", async () => {
  const set = buildEvaluationSet({ lineCount: 0, directionCount: 0, pageCount: 2 });
  const session = await openSession(paths.det);
  const report = await evaluateDetector(session, set, { reference: session });
  assert.ok(report.truthBoxes >= 6);
  assert.ok(report.recall >= 0.9, `recall ${report.recall}`);
  assert.equal(report.mapIoU, 1);
  assert.equal(report.minPageMapIoU, 1);
});

test("a model that sees no text finds nothing and has map IoU 0 against the float detector", async () => {
  const set = buildEvaluationSet({ lineCount: 0, directionCount: 0, pageCount: 1 });
  const blind: ModelRunner = async (input) => {
    const [n, , h, w] = input.dims as [number, number, number, number];
    return { dtype: "float32", dims: [n, 1, h, w], data: new Float32Array(n * h * w) };
  };
  const report = await evaluateDetector(blind, set, { reference: await openSession(paths.det) });
  assert.equal(report.recall, 0);
  assert.equal(report.predictedBoxes, 0);
  assert.equal(report.mapIoU, 0);
});

test("a recogniser output with the wrong class count is rejected", async () => {
  const set = buildEvaluationSet({ lineCount: 1, directionCount: 0, pageCount: 0 });
  const wrong: ModelRunner = async () => ({ dtype: "float32", dims: [1, 40, 6624], data: new Float32Array(40 * 6624) });
  await assert.rejects(evaluateRecognizer(wrong, set), /expected \[1, steps, 6625\]/);
});
