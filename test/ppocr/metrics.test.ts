import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDictionary } from "../../examples/ppocr/dictionary.js";
import {
  argmaxRows, binarize, boxIoU, classificationAccuracy, connectedComponents, countMatched, ctcBestPath, ctcDecode,
  dbBoxes, editDistance, maskOverlap, normalizeSpaces, probabilityMapIoU, textAccuracy,
} from "../../examples/ppocr/metrics.js";

/** [steps, classes] one-hot-ish scores: step t puts 0.9 on classes[t], the rest spread evenly. */
function scoresFor(classes: number[], classCount: number): Float32Array {
  const out = new Float32Array(classes.length * classCount).fill(0.1 / (classCount - 1));
  classes.forEach((k, t) => (out[t * classCount + k] = 0.9));
  return out;
}

// Dictionary a, b, c → classes 1, 2, 3; space → 4; blank 0.
const abc = parseDictionary("a\nb\nc\n");

test("CTC: repeats collapse, blanks separate, blanks vanish", () => {
  // a a _ a b b _ _ c  → "aabc"
  const path = ctcBestPath(scoresFor([1, 1, 0, 1, 2, 2, 0, 0, 3], 5), 9, 5);
  assert.deepEqual(path.labels, [1, 1, 2, 3]);
  assert.equal(ctcDecode(scoresFor([1, 1, 0, 1, 2, 2, 0, 0, 3], 5), 9, abc).text, "aabc");
  // _ _ _ → ""
  const empty = ctcDecode(scoresFor([0, 0, 0], 5), 3, abc);
  assert.equal(empty.text, "");
  assert.equal(empty.confidence, 0);
  // a space space b → "a b" (space is the class after the dictionary)
  assert.equal(ctcDecode(scoresFor([1, 4, 4, 2], 5), 4, abc).text, "a b");
  // no steps at all
  assert.equal(ctcDecode(new Float32Array(0), 0, abc).text, "");
});

test("CTC: confidence is the mean score of the kept steps", () => {
  const s = new Float32Array([
    0.1, 0.7, 0.1, 0.05, 0.05, // a (0.7)
    0.1, 0.6, 0.1, 0.1, 0.1, //   a again: collapsed, not counted
    0.8, 0.05, 0.05, 0.05, 0.05, // blank
    0.1, 0.1, 0.5, 0.2, 0.1, //   b (0.5)
  ]);
  const d = ctcDecode(s, 4, abc);
  assert.equal(d.text, "ab");
  assert.ok(Math.abs(d.confidence - (0.7 + 0.5) / 2) < 1e-6);
});

test("CTC: arg-max ties go to the lower class, like numpy", () => {
  assert.deepEqual(ctcBestPath(new Float32Array([0.2, 0.4, 0.4, 0, 0]), 1, 5).labels, [1]);
});

test("CTC: bad shapes are rejected with a clear error", () => {
  assert.throws(() => ctcBestPath(new Float32Array(7), 2, 4), /7 values, expected 2 steps × 4 classes/);
  assert.throws(() => ctcDecode(new Float32Array(8), 2, abc), /expected 2 steps × 5 classes/);
});

test("dictionary layout: blank, the file's lines, then space", () => {
  assert.deepEqual(abc.characters, ["", "a", "b", "c", " "]);
  assert.equal(abc.classCount, 5);
  assert.equal(abc.classOf.get(" "), 4);
  assert.deepEqual(parseDictionary("x\r\ny", false).characters, ["", "x", "y"]);
  assert.throws(() => parseDictionary("a\n\nb\n"), /line 2 is empty/);
});

test("edit distance: textbook cases", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("", "ab"), 2);
  assert.equal(editDistance("kitten", "sitting"), 3);
  assert.equal(editDistance("flaw", "lawn"), 2);
  assert.equal(editDistance("abc", "abc"), 0);
  assert.equal(editDistance("abc", "acb"), 2); // no transpositions in Levenshtein
  assert.equal(editDistance("中文字", "中字"), 1);
  assert.equal(editDistance("𣇉a", "a"), 1); // one code point, two UTF-16 units
});

test("text accuracy: exact lines and 1 − Σ distance / Σ length", () => {
  const a = textAccuracy(["hello", "wrld", "ok"], ["hello", "world", "no"]);
  assert.equal(a.count, 3);
  assert.equal(a.lineAccuracy, 1 / 3);
  // distances 0, 1, 2 over lengths 5 + 5 + 2
  assert.ok(Math.abs(a.charAccuracy - (1 - 3 / 12)) < 1e-12);
  assert.equal(textAccuracy(["completely different"], ["ab"]).charAccuracy, 0);
  assert.throws(() => textAccuracy(["a"], ["a", "b"]), /1 predictions for 2 truth strings/);
});

test("text accuracy: space handling", () => {
  assert.equal(normalizeSpaces("  a b  ", "trim"), "a b");
  assert.equal(normalizeSpaces("  a b  ", "ignore"), "ab");
  assert.equal(normalizeSpaces("  a b  ", "exact"), "  a b  ");
  assert.equal(textAccuracy([" No. 9 "], ["No. 9"]).lineAccuracy, 1);
  assert.equal(textAccuracy(["No.9"], ["No. 9"]).lineAccuracy, 0);
  assert.equal(textAccuracy(["No.9"], ["No. 9"], "ignore").lineAccuracy, 1);
  assert.equal(textAccuracy([" No. 9"], ["No. 9"], "exact").lineAccuracy, 0);
});

test("probability-map IoU at 0.3 on hand-made maps", () => {
  const a = [0.1, 0.3, 0.9, 0.5, 0.0, 0.29];
  const b = [0.4, 0.2, 0.8, 0.6, 0.0, 0.31];
  // text in a: {1, 2, 3}; in b: {0, 2, 3, 5}; both: {2, 3}; either: {0, 1, 2, 3, 5}
  assert.deepEqual([...binarize(a)], [0, 1, 1, 1, 0, 0]);
  assert.deepEqual(maskOverlap(a, b), { intersection: 2, union: 5 });
  assert.equal(probabilityMapIoU(a, b), 2 / 5);
  assert.equal(probabilityMapIoU(a, a), 1);
  assert.equal(probabilityMapIoU([0, 0.1], [0.2, 0]), 1); // no text anywhere: perfect agreement
  assert.equal(probabilityMapIoU([1, 0], [0, 1]), 0);
  assert.throws(() => probabilityMapIoU([1], [1, 1]), /differ in size/);
});

test("connected components: 8-connectivity on a tiny map", () => {
  const mask = [
    1, 1, 0, 0, 0,
    0, 1, 0, 1, 1,
    0, 0, 1, 0, 0, // touches the first blob diagonally and the second diagonally too
    0, 0, 0, 0, 0,
    1, 0, 0, 0, 1,
  ];
  const cs = connectedComponents(mask, 5, 5);
  assert.deepEqual(cs, [
    { x0: 0, y0: 0, x1: 4, y1: 2, area: 6 },
    { x0: 0, y0: 4, x1: 0, y1: 4, area: 1 },
    { x0: 4, y0: 4, x1: 4, y1: 4, area: 1 },
  ]);
  // (0,0) and (2,0) are apart, but (1,1) touches both diagonally: one component (three if 4-connected).
  assert.equal(connectedComponents([1, 0, 1, 0, 1, 0], 3, 2).length, 1);
  assert.equal(connectedComponents([1, 0, 1, 0, 0, 0], 3, 2).length, 2);
  assert.equal(connectedComponents([], 0, 0).length, 0);
  assert.throws(() => connectedComponents([1, 1, 1], 2, 2), /expected 2×2/);
});

test("DB boxes: a solid block is grown by area·1.5/perimeter and scaled to the image", () => {
  // 40×20 map with a block of 1.0 over x 10..29, y 5..14: centre-to-centre 19×9.
  const w = 40;
  const h = 20;
  const map = new Float32Array(w * h);
  for (let y = 5; y <= 14; y++) for (let x = 10; x <= 29; x++) map[y * w + x] = 1;
  const d = (19 * 9 * 1.5) / (2 * (19 + 9));
  assert.deepEqual(dbBoxes(map, w, h), [
    { x0: Math.round(10 - d), y0: Math.round(5 - d), x1: Math.round(29 + d), y1: Math.round(14 + d) },
  ]);
  // Same map, from an image twice as large: coordinates double, clipped to 80×40.
  const [b] = dbBoxes(map, w, h, { ratioW: 0.5, ratioH: 0.5 });
  assert.deepEqual(b, { x0: Math.round((10 - d) * 2), y0: Math.round((5 - d) * 2), x1: Math.round((29 + d) * 2), y1: Math.round((14 + d) * 2) });
  // A weak block (mean 0.4 < box threshold 0.6) and a sliver (2 px tall) are dropped.
  const weak = map.map((v) => v * 0.4);
  assert.deepEqual(dbBoxes(weak, w, h), []);
  const sliver = new Float32Array(w * h);
  for (let x = 5; x < 35; x++) sliver[3 * w + x] = sliver[4 * w + x] = 1;
  assert.deepEqual(dbBoxes(sliver, w, h), []);
});

test("box IoU and matching", () => {
  const a = { x0: 0, y0: 0, x1: 10, y1: 10 };
  assert.equal(boxIoU(a, a), 1);
  assert.equal(boxIoU(a, { x0: 5, y0: 0, x1: 15, y1: 10 }), 50 / 150);
  assert.equal(boxIoU(a, { x0: 10, y0: 0, x1: 20, y1: 10 }), 0);
  assert.equal(boxIoU(a, { x0: 2, y0: 2, x1: 7, y1: 7 }), 25 / 100);
  const truth = [a, { x0: 100, y0: 0, x1: 110, y1: 10 }];
  const found = [{ x0: 1, y0: 0, x1: 10, y1: 10 }, { x0: 50, y0: 50, x1: 60, y1: 60 }];
  assert.deepEqual(countMatched(truth, found), { matched: 1, total: 2 }); // recall 1/2
  assert.deepEqual(countMatched(found, truth), { matched: 1, total: 2 }); // precision 1/2
  assert.deepEqual(countMatched(truth, []), { matched: 0, total: 2 });
});

test("classifier accuracy", () => {
  assert.deepEqual(argmaxRows([0.9, 0.1, 0.2, 0.8, 0.5, 0.5], 3, 2), [0, 1, 0]);
  assert.equal(classificationAccuracy([0, 1, 0], [0, 1, 1]), 2 / 3);
  assert.throws(() => classificationAccuracy([], []), /empty/);
});
