/**
 * The labelled PP-OCR evaluation set, built in memory from a seed (no downloads): rendered text
 * lines with their strings (recogniser), upright and upside-down lines with their direction
 * (classifier), and pages with the ink box of every line (detector). It can also be written out
 * as .npy model inputs for calibration.
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import type { Tensor } from "../../src/tensor/tensor.js";
import { lineTexts } from "./corpus.js";
import { type CtcDictionary, loadDictionary, missingCharacters } from "./dictionary.js";
import { type RgbImage, rotate180 } from "./image.js";
import { classifierInput, detectorInput, recognizerInput } from "./preprocess.js";
import { deriveSeed, Prng } from "./prng.js";
import { type PageLine, randomLineStyle, renderTextLine, renderTextPage, type TextLineStyle } from "./render.js";

export interface TextLineSample {
  text: string;
  style: TextLineStyle;
  image: RgbImage;
}

/** Classifier labels, in the order of the model's two outputs (PaddleOCR label_list ['0', '180']). */
export const DIRECTION_LABELS = ["0", "180"] as const;

export interface DirectionSample {
  text: string;
  /** Index into DIRECTION_LABELS: 0 upright, 1 rotated by 180°. */
  label: 0 | 1;
  image: RgbImage;
}

export interface TextPageSample {
  image: RgbImage;
  lines: PageLine[];
}

export interface EvaluationSet {
  seed: number;
  lines: TextLineSample[];
  directions: DirectionSample[];
  pages: TextPageSample[];
}

export interface EvaluationSetOptions {
  seed?: number;
  lineCount?: number;
  directionCount?: number;
  pageCount?: number;
  /** Checked against every string; defaults to the package's ppocr_keys_v1.txt with space. */
  dictionary?: CtcDictionary;
}

export const DEFAULT_SEED = 20261101;

function checkCount(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${n}`);
}

/**
 * Builds the set. Each part has its own seed derived from `seed`, so changing one part's size
 * leaves the others' samples unchanged, and a smaller set is a prefix of a larger one.
 * Direction samples are their own lines (not the recogniser's), alternately upright and rotated.
 */
export function buildEvaluationSet(options: EvaluationSetOptions = {}): EvaluationSet {
  const seed = options.seed ?? DEFAULT_SEED;
  const lineCount = options.lineCount ?? 200;
  const directionCount = options.directionCount ?? 100;
  const pageCount = options.pageCount ?? 20;
  checkCount("lineCount", lineCount);
  checkCount("directionCount", directionCount);
  checkCount("pageCount", pageCount);
  const dictionary = options.dictionary ?? loadDictionary();
  const checkText = (text: string) => {
    const missing = missingCharacters(text, dictionary);
    if (missing.length > 0) {
      throw new Error(`string ${JSON.stringify(text)} has characters the recogniser cannot emit: ${missing.join(" ")}`);
    }
  };

  const renderLines = (part: number, count: number): TextLineSample[] => {
    const texts = lineTexts(deriveSeed(seed, part), count);
    const styles = new Prng(deriveSeed(seed, part + 100));
    return texts.map((text) => {
      checkText(text);
      const rendered = renderTextLine(text, randomLineStyle(styles));
      return { text, style: rendered.style, image: rendered.image };
    });
  };

  const lines = renderLines(1, lineCount);
  const directions = renderLines(2, directionCount).map((s, i): DirectionSample => {
    const label = i % 2 === 0 ? 0 : 1;
    return { text: s.text, label, image: label === 1 ? rotate180(s.image) : s.image };
  });
  const pages = Array.from({ length: pageCount }, (_, i) => {
    const page = renderTextPage(deriveSeed(seed, 1000 + i));
    for (const line of page.lines) checkText(line.text);
    return page;
  });
  return { seed, lines, directions, pages };
}

export type ModelKind = "det" | "rec" | "cls";

/** The preprocessed model inputs of one part of the set, [1, ...] each, in sample order. */
export function modelInputs(set: EvaluationSet, kind: ModelKind): Tensor[] {
  switch (kind) {
    case "det": return set.pages.map((p) => detectorInput(p.image).tensor);
    case "rec": return set.lines.map((l) => recognizerInput(l.image));
    case "cls": return set.directions.map((d) => classifierInput(d.image));
    default: throw new Error(`unknown model kind ${String(kind)} (det, rec or cls)`);
  }
}

/** Writes one tensor to a path (e.g. src/data/npy.ts's writeNpy). */
export type TensorWriter = (path: string, tensor: Tensor) => Promise<void> | void;

/**
 * Writes every input of `kind` as `<dir>/<kind>_<index>.npy` through `write` and returns the
 * paths. The recogniser's inputs vary in width, so each sample is its own file, batch 1.
 */
export async function writeModelInputs(set: EvaluationSet, kind: ModelKind, dir: string, write: TensorWriter): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  const inputs = modelInputs(set, kind);
  for (let i = 0; i < inputs.length; i++) {
    const path = join(dir, `${kind}_${String(i).padStart(4, "0")}.npy`);
    await write(path, inputs[i] as Tensor);
    paths.push(path);
  }
  return paths;
}
