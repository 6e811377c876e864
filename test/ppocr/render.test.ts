import { test } from "node:test";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { lineTexts, MAX_LINE_LENGTH, MIN_LINE_LENGTH } from "../../examples/ppocr/corpus.js";
import { buildEvaluationSet, DIRECTION_LABELS, writeModelInputs } from "../../examples/ppocr/dataset.js";
import { loadDictionary, missingCharacters } from "../../examples/ppocr/dictionary.js";
import { rotate180 } from "../../examples/ppocr/image.js";
import { boxIoU } from "../../examples/ppocr/metrics.js";
import { deriveSeed, Prng } from "../../examples/ppocr/prng.js";
import { type Box, randomLineStyle, renderTextLine, renderTextPage } from "../../examples/ppocr/render.js";
import type { Tensor } from "../../src/tensor/tensor.js";

test("PRNG: same seed, same sequence; draws stay in range", () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const xs = Array.from({ length: 100 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.nextUint32()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => c.nextUint32()));
  const r = new Prng(7);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    const k = r.int(-2, 3);
    assert.ok(Number.isInteger(k) && k >= -2 && k <= 3);
    seen.add(k);
  }
  assert.equal(seen.size, 6); // every value of a small range turns up
  assert.notEqual(deriveSeed(1, 1), deriveSeed(1, 2));
  assert.throws(() => r.int(3, 2), /lo <= hi/);
});

test("corpus: lengths 3–25 and every character in the recogniser's dictionary", () => {
  const dictionary = loadDictionary();
  const texts = lineTexts(123, 2000);
  assert.deepEqual(texts, lineTexts(123, 2000));
  for (const t of texts) {
    assert.ok(t.length >= MIN_LINE_LENGTH && t.length <= MAX_LINE_LENGTH, `length of ${JSON.stringify(t)}`);
    assert.deepEqual(missingCharacters(t, dictionary), [], JSON.stringify(t));
    assert.equal(t, t.trim(), "no leading or trailing spaces in the truth");
  }
  assert.ok(new Set(texts).size > 1000, "the strings vary");
  // The check itself catches characters the model cannot emit.
  assert.deepEqual(missingCharacters("ok ✓ é", dictionary).includes("✓"), true);
});

test("rendering is deterministic: two renders give identical pixels", () => {
  const styleA = randomLineStyle(new Prng(9));
  const styleB = randomLineStyle(new Prng(9));
  assert.deepEqual(styleA, styleB);
  const a = renderTextLine("Hello, 2026!", styleA);
  const b = renderTextLine("Hello, 2026!", styleB);
  assert.equal(a.image.width, b.image.width);
  assert.equal(a.image.height, b.image.height);
  assert.ok(Buffer.from(a.image.data).equals(Buffer.from(b.image.data)));
  const p = renderTextPage(5);
  const q = renderTextPage(5);
  assert.deepEqual(p.lines, q.lines);
  assert.ok(Buffer.from(p.image.data).equals(Buffer.from(q.image.data)));
  assert.ok(!Buffer.from(p.image.data).equals(Buffer.from(renderTextPage(6).image.data)));
});

test("a text line has ink inside its ink box and background outside", () => {
  const style = { font: "sans" as const, size: 30, background: 240, ink: 10, padX: 12, padY: 6, noise: 0, noiseSeed: 0 };
  const { image, inkBox } = renderTextLine("Moving 123", style);
  let darkInside = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const v = image.data[(y * image.width + x) * 3] as number;
      const inside = x >= Math.floor(inkBox.x0) - 1 && x < Math.ceil(inkBox.x1) + 1 && y >= Math.floor(inkBox.y0) - 1 && y < Math.ceil(inkBox.y1) + 1;
      if (!inside) assert.equal(v, 240, `background at (${x}, ${y})`);
      else if (v < 60) darkInside++;
    }
  }
  assert.ok(darkInside > 100, "the glyphs are drawn");
});

test("pages: ground-truth boxes lie in the page, do not overlap, and contain all the ink", () => {
  for (let seed = 0; seed < 5; seed++) {
    const page = renderTextPage(seed);
    const { width, height } = page.image;
    assert.ok(page.lines.length >= 3, "several lines per page");
    page.lines.forEach((l, i) => {
      assert.ok(l.box.x0 >= 0 && l.box.y0 >= 0 && l.box.x1 <= width && l.box.y1 <= height, `line ${i} inside`);
      assert.ok(l.box.y0 <= l.inkBox.y0 && l.box.y1 >= l.inkBox.y1, "the line box contains the ink box");
      for (let j = 0; j < i; j++) assert.equal(boxIoU(l.box, (page.lines[j] as { box: Box }).box), 0, `lines ${j}, ${i} overlap`);
    });
    // Independent check that the truth is where the text is: any pixel much darker than the
    // page's lightest level (background) minus noise lies within one pixel of some ink box.
    let background = 0;
    for (let i = 0; i < page.image.data.length; i += 3) background = Math.max(background, page.image.data[i] as number);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if ((page.image.data[(y * width + x) * 3] as number) >= background - 40) continue;
        const covered = page.lines.some(
          (l) => x >= l.inkBox.x0 - 1 && x < l.inkBox.x1 + 1 && y >= l.inkBox.y0 - 1 && y < l.inkBox.y1 + 1,
        );
        assert.ok(covered, `dark pixel (${x}, ${y}) of page ${seed} is in no ground-truth box`);
      }
    }
  }
});

test("rotate180 twice is the identity and moves the first pixel last", () => {
  const { image } = renderTextLine("abc", randomLineStyle(new Prng(1)));
  const r = rotate180(image);
  assert.deepEqual([...r.data.subarray(r.data.length - 3)], [...image.data.subarray(0, 3)]);
  assert.ok(Buffer.from(rotate180(r).data).equals(Buffer.from(image.data)));
});

test("evaluation set: sizes, labels, prefix property and model inputs", async () => {
  const small = buildEvaluationSet({ lineCount: 5, directionCount: 4, pageCount: 2 });
  const larger = buildEvaluationSet({ lineCount: 8, directionCount: 4, pageCount: 3 });
  assert.equal(small.lines.length, 5);
  assert.deepEqual(small.lines.map((l) => l.text), larger.lines.slice(0, 5).map((l) => l.text));
  assert.deepEqual(small.directions.map((d) => d.label), [0, 1, 0, 1]);
  assert.deepEqual(DIRECTION_LABELS, ["0", "180"]);
  assert.deepEqual(small.pages[1]?.lines, larger.pages[1]?.lines);
  const written: [string, Tensor][] = [];
  const paths = await writeModelInputs(small, "rec", join(tmpdir(), "octet-ppocr-test-inputs"), (p, t) => {
    written.push([p, t]);
  });
  assert.deepEqual(paths, written.map(([p]) => p));
  assert.equal(paths[0], join(tmpdir(), "octet-ppocr-test-inputs", "rec_0000.npy"));
  for (const [, t] of written) {
    assert.equal(t.dims.length, 4);
    assert.deepEqual(t.dims.slice(0, 3), [1, 3, 48]);
  }
  assert.throws(() => buildEvaluationSet({ lineCount: -1 }), /lineCount must be a non-negative integer/);
});
