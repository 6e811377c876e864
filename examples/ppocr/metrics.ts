/**
 * Accuracy measures for the PP-OCR example, float vs int8:
 *
 * - recogniser: CTC greedy decoding with the package's dictionary, line accuracy (exact string
 *   match) and character accuracy (1 − total edit distance / total truth length);
 * - detector: agreement of two probability maps (IoU of the pixels ≥ 0.3), and box recall of the
 *   boxes read off one map against the rendered ground truth;
 * - direction classifier: plain accuracy.
 */
import type { CtcDictionary } from "./dictionary.js";
import type { Box } from "./render.js";

// ─── Recogniser ────────────────────────────────────────────────────────────────────────────────

export interface CtcPath {
  /** Classes kept after collapsing repeats and dropping blanks. */
  labels: number[];
  /** The score (softmax probability) of each kept step. */
  scores: number[];
}

/**
 * Greedy (best-path) CTC decoding, as PaddleOCR's CTCLabelDecode: take the arg-max class of every
 * time step, drop a step whose class equals the previous step's class (so "a a" is one "a", but
 * "a blank a" is two), then drop the blank (class 0). `scores` is row-major [steps, classCount].
 * Ties in the arg-max go to the lower class, as numpy's argmax does.
 */
export function ctcBestPath(scores: ArrayLike<number>, steps: number, classCount: number): CtcPath {
  if (!Number.isInteger(steps) || !Number.isInteger(classCount) || steps < 0 || classCount < 1) {
    throw new Error(`CTC decoding needs integer steps ≥ 0 and classCount ≥ 1, got ${steps}, ${classCount}`);
  }
  if (scores.length !== steps * classCount) {
    throw new Error(`CTC scores hold ${scores.length} values, expected ${steps} steps × ${classCount} classes`);
  }
  const labels: number[] = [];
  const kept: number[] = [];
  let previous = -1;
  for (let t = 0; t < steps; t++) {
    let best = 0;
    let bestScore = scores[t * classCount] as number;
    for (let k = 1; k < classCount; k++) {
      const s = scores[t * classCount + k] as number;
      if (s > bestScore) {
        bestScore = s;
        best = k;
      }
    }
    if (best !== previous && best !== 0) {
      labels.push(best);
      kept.push(bestScore);
    }
    previous = best;
  }
  return { labels, scores: kept };
}

export interface DecodedText {
  text: string;
  /** Mean score of the kept steps (0 when nothing was read), PaddleOCR's line confidence. */
  confidence: number;
}

/** Best-path decoding of one line's [steps, classes] scores into text with the dictionary. */
export function ctcDecode(scores: ArrayLike<number>, steps: number, dictionary: CtcDictionary): DecodedText {
  const path = ctcBestPath(scores, steps, dictionary.classCount);
  const text = path.labels.map((k) => dictionary.characters[k] as string).join("");
  const confidence = path.scores.length === 0 ? 0 : path.scores.reduce((a, b) => a + b, 0) / path.scores.length;
  return { text, confidence };
}

/** Levenshtein distance (insert, delete, substitute each cost 1) between code-point sequences. */
export function editDistance(a: string, b: string): number {
  const s = Array.from(a);
  const t = Array.from(b);
  if (s.length === 0) return t.length;
  if (t.length === 0) return s.length;
  let previousRow = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const row = [i];
    for (let j = 1; j <= t.length; j++) {
      const substitute = (previousRow[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1);
      row.push(Math.min(substitute, (previousRow[j] as number) + 1, (row[j - 1] as number) + 1));
    }
    previousRow = row;
  }
  return previousRow[t.length] as number;
}

/**
 * How spaces count when comparing a reading with the truth.
 * - "trim" (default): leading and trailing spaces are dropped, inner ones must match. The
 *   PP-OCRv4 recogniser often reads the margin of a crop as a space (" Rocket! "); such a space
 *   says nothing about the text, while a lost or invented inner space changes it.
 * - "ignore": every space is removed first, as PaddleOCR's own RecMetric does (ignore_space=True,
 *   ppocr/metrics/rec_metric.py), so "ab cd" and "abcd" match.
 * - "exact": strings compared as they are.
 */
export type SpaceHandling = "trim" | "ignore" | "exact";

export function normalizeSpaces(text: string, spaces: SpaceHandling): string {
  switch (spaces) {
    case "trim": return text.replace(/^ +| +$/g, "");
    case "ignore": return text.replace(/ /g, "");
    case "exact": return text;
    default: throw new Error(`unknown space handling ${String(spaces)} (trim, ignore or exact)`);
  }
}

export interface TextAccuracy {
  count: number;
  /** Fraction of lines read exactly (after the space handling). */
  lineAccuracy: number;
  /** 1 − Σ editDistance(predicted, truth) / Σ length(truth), floored at 0 (after the space handling). */
  charAccuracy: number;
}

/** Line and character accuracy of predicted strings against the truth, pair by pair. */
export function textAccuracy(
  predicted: readonly string[],
  truth: readonly string[],
  spaces: SpaceHandling = "trim",
): TextAccuracy {
  if (predicted.length !== truth.length) {
    throw new Error(`${predicted.length} predictions for ${truth.length} truth strings`);
  }
  if (truth.length === 0) throw new Error("text accuracy of an empty set is undefined");
  let exact = 0;
  let distance = 0;
  let length = 0;
  truth.forEach((raw, i) => {
    const t = normalizeSpaces(raw, spaces);
    const p = normalizeSpaces(predicted[i] as string, spaces);
    if (p === t) exact++;
    distance += editDistance(p, t);
    length += Array.from(t).length;
  });
  return {
    count: truth.length,
    lineAccuracy: exact / truth.length,
    charAccuracy: length === 0 ? (distance === 0 ? 1 : 0) : Math.max(0, 1 - distance / length),
  };
}

// ─── Detector ──────────────────────────────────────────────────────────────────────────────────

/** PaddleOCR's det_db_thresh: a map pixel ≥ this is text. */
export const DB_THRESHOLD = 0.3;

/** 1 where map ≥ threshold, else 0. */
export function binarize(map: ArrayLike<number>, threshold = DB_THRESHOLD): Uint8Array {
  const out = new Uint8Array(map.length);
  for (let i = 0; i < map.length; i++) out[i] = (map[i] as number) >= threshold ? 1 : 0;
  return out;
}

export interface MaskOverlap {
  intersection: number;
  union: number;
}

/** Pixels text in both maps and in either, after thresholding each. */
export function maskOverlap(a: ArrayLike<number>, b: ArrayLike<number>, threshold = DB_THRESHOLD): MaskOverlap {
  if (a.length !== b.length) throw new Error(`probability maps differ in size: ${a.length} vs ${b.length}`);
  let intersection = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) >= threshold;
    const y = (b[i] as number) >= threshold;
    if (x && y) intersection++;
    if (x || y) union++;
  }
  return { intersection, union };
}

/**
 * IoU of the text pixels of two probability maps (e.g. float and int8 detector outputs) at the
 * DB threshold. Two maps with no text pixels at all agree perfectly: IoU 1.
 */
export function probabilityMapIoU(a: ArrayLike<number>, b: ArrayLike<number>, threshold = DB_THRESHOLD): number {
  const { intersection, union } = maskOverlap(a, b, threshold);
  return union === 0 ? 1 : intersection / union;
}

/** A connected region of a binary mask: its bounding pixels (inclusive) and pixel count. */
export interface Component {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  area: number;
}

/**
 * 8-connected components of the non-zero pixels of a width×height mask, in raster order of
 * their first pixel. 8-connectivity matches the outer contours cv2.findContours traces in
 * PaddleOCR's DBPostProcess.
 */
export function connectedComponents(mask: ArrayLike<number>, width: number, height: number): Component[] {
  if (mask.length !== width * height) {
    throw new Error(`mask holds ${mask.length} values, expected ${width}×${height}`);
  }
  const seen = new Uint8Array(mask.length);
  const stack: number[] = [];
  const components: Component[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    const c: Component = { x0: width, y0: height, x1: -1, y1: -1, area: 0 };
    seen[start] = 1;
    stack.push(start);
    while (stack.length > 0) {
      const p = stack.pop() as number;
      const x = p % width;
      const y = (p - x) / width;
      c.area++;
      if (x < c.x0) c.x0 = x;
      if (x > c.x1) c.x1 = x;
      if (y < c.y0) c.y0 = y;
      if (y > c.y1) c.y1 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    components.push(c);
  }
  return components;
}

export interface DbBoxOptions {
  /** Pixel threshold of the map (det_db_thresh). */
  threshold?: number;
  /** Minimum mean map score inside a box to keep it (det_db_box_thresh). */
  boxThreshold?: number;
  /** How far a shrunk text kernel is grown back (det_db_unclip_ratio). */
  unclipRatio?: number;
  /** Boxes with a side below this (in map pixels) are dropped (DBPostProcess.min_size). */
  minSize?: number;
  /** Map size over image size, from detectorInput; boxes are returned in image pixels. */
  ratioH?: number;
  ratioW?: number;
}

/**
 * Text boxes read off a DB probability map the way PaddleOCR's DBPostProcess does, restricted to
 * axis-aligned boxes (our pages hold horizontal text only):
 *
 * 1. binarise at `threshold` (0.3) and take 8-connected components;
 * 2. box = the component's extent between pixel centres (cv2.minAreaRect of its contour); drop it
 *    if its shorter side < minSize (3);
 * 3. score = mean map value over the box's pixels ("fast" score mode); drop if < boxThreshold (0.6);
 * 4. unclip: the DB map marks text shrunk inward by D = A(1 − r²)/L; it is grown back by
 *    d = area · unclipRatio / perimeter (1.5), which for a w×h box moves each side out by
 *    d = w·h·1.5 / (2(w + h)); drop if the grown box's shorter side < minSize + 2;
 * 5. scale to image pixels (divide by ratioW/ratioH), round and clip to the image.
 */
export function dbBoxes(map: ArrayLike<number>, width: number, height: number, options: DbBoxOptions = {}): Box[] {
  const threshold = options.threshold ?? DB_THRESHOLD;
  const boxThreshold = options.boxThreshold ?? 0.6;
  const unclipRatio = options.unclipRatio ?? 1.5;
  const minSize = options.minSize ?? 3;
  const ratioH = options.ratioH ?? 1;
  const ratioW = options.ratioW ?? 1;
  if (!(ratioH > 0 && ratioW > 0)) throw new Error(`ratioH and ratioW must be positive, got ${ratioH}, ${ratioW}`);
  const imageWidth = Math.round(width / ratioW);
  const imageHeight = Math.round(height / ratioH);
  const boxes: Box[] = [];
  for (const c of connectedComponents(binarize(map, threshold), width, height)) {
    const w = c.x1 - c.x0;
    const h = c.y1 - c.y0;
    if (Math.min(w, h) < minSize) continue;
    let sum = 0;
    for (let y = c.y0; y <= c.y1; y++) for (let x = c.x0; x <= c.x1; x++) sum += map[y * width + x] as number;
    if (sum / ((w + 1) * (h + 1)) < boxThreshold) continue;
    const d = (w * h * unclipRatio) / (2 * (w + h));
    if (Math.min(w, h) + 2 * d < minSize + 2) continue;
    const clip = (v: number, hi: number) => Math.min(Math.max(Math.round(v), 0), hi);
    boxes.push({
      x0: clip((c.x0 - d) / ratioW, imageWidth),
      y0: clip((c.y0 - d) / ratioH, imageHeight),
      x1: clip((c.x1 + d) / ratioW, imageWidth),
      y1: clip((c.y1 + d) / ratioH, imageHeight),
    });
  }
  return boxes;
}

/** Intersection over union of two axis-aligned boxes (0 when both are empty). */
export function boxIoU(a: Box, b: Box): number {
  const iw = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const ih = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const intersection = iw * ih;
  const area = (r: Box) => Math.max(0, r.x1 - r.x0) * Math.max(0, r.y1 - r.y0);
  const union = area(a) + area(b) - intersection;
  return union <= 0 ? 0 : intersection / union;
}

/** IoU a predicted box needs with a ground-truth box to count as finding it. */
export const BOX_MATCH_IOU = 0.5;

export interface BoxMatchCount {
  matched: number;
  total: number;
}

/**
 * How many `targets` have some box in `candidates` with IoU ≥ minIoU. With targets = ground
 * truth and candidates = predictions this is recall; swapped, precision. No one-to-one
 * assignment: a prediction covering two lines (IoU < 0.5 with each) finds neither, and two
 * predictions on one line count once — both failures show up in the other direction's count.
 */
export function countMatched(targets: readonly Box[], candidates: readonly Box[], minIoU = BOX_MATCH_IOU): BoxMatchCount {
  let matched = 0;
  for (const t of targets) if (candidates.some((c) => boxIoU(t, c) >= minIoU)) matched++;
  return { matched, total: targets.length };
}

// ─── Direction classifier ──────────────────────────────────────────────────────────────────────

/** Index of the largest of each row of a row-major [rows, columns] score matrix. */
export function argmaxRows(scores: ArrayLike<number>, rows: number, columns: number): number[] {
  if (scores.length !== rows * columns) {
    throw new Error(`scores hold ${scores.length} values, expected ${rows} × ${columns}`);
  }
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < columns; k++) if ((scores[r * columns + k] as number) > (scores[r * columns + best] as number)) best = k;
    out.push(best);
  }
  return out;
}

/** Fraction of predictions equal to their labels. */
export function classificationAccuracy(predicted: readonly number[], labels: readonly number[]): number {
  if (predicted.length !== labels.length) throw new Error(`${predicted.length} predictions for ${labels.length} labels`);
  if (labels.length === 0) throw new Error("accuracy of an empty set is undefined");
  let correct = 0;
  labels.forEach((l, i) => {
    if (predicted[i] === l) correct++;
  });
  return correct / labels.length;
}
