/**
 * Deterministic rendering of labelled text with @napi-rs/canvas (Skia) and the DejaVu fonts:
 * single text lines (recogniser and direction-classifier samples, truth = the string drawn) and
 * text pages (detector samples, truth = the ink box of every line drawn).
 *
 * Same inputs give the same bytes: every random choice comes from a seeded Prng, the canvas is
 * opaque, and noise is added by us after drawing. (Skia's glyph rasterisation could differ
 * between Skia builds; the determinism test renders twice in one process.)
 */
import { existsSync } from "node:fs";
import { createCanvas, GlobalFonts, type SKRSContext2D } from "@napi-rs/canvas";
import { randomLineText } from "./corpus.js";
import { type RgbImage, rgbFromRgba } from "./image.js";
import { Prng } from "./prng.js";

export const DEJAVU_DIR = "/usr/share/fonts/truetype/dejavu";

/** Fonts we draw with, each registered under its own family name so no weight matching happens. */
export const FONT_FACES = {
  sans: "DejaVuSans.ttf",
  sansBold: "DejaVuSans-Bold.ttf",
  serif: "DejaVuSerif.ttf",
  serifBold: "DejaVuSerif-Bold.ttf",
  mono: "DejaVuSansMono.ttf",
  sansCondensed: "DejaVuSansCondensed.ttf",
} as const;
export type FontFace = keyof typeof FONT_FACES;
export const FONT_NAMES = Object.keys(FONT_FACES) as FontFace[];

let fontsRegistered = false;

function familyOf(face: FontFace): string {
  return `octet-dejavu-${face}`;
}

/** Registers the DejaVu faces with Skia once per process; a missing font file is an error. */
export function registerFonts(dir = DEJAVU_DIR): void {
  if (fontsRegistered) return;
  for (const face of FONT_NAMES) {
    const path = `${dir}/${FONT_FACES[face]}`;
    if (!existsSync(path)) {
      throw new Error(`font file ${path} is missing (Debian package fonts-dejavu-core / fonts-dejavu-extra)`);
    }
    GlobalFonts.registerFromPath(path, familyOf(face));
  }
  fontsRegistered = true;
}

/** An axis-aligned box in pixels: x0 ≤ x < x1, y0 ≤ y < y1 (edges, not pixel centres). */
export interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Corners clockwise from top-left, as PaddleOCR writes detection boxes. */
export type Quad = [[number, number], [number, number], [number, number], [number, number]];

export function boxToQuad(b: Box): Quad {
  return [[b.x0, b.y0], [b.x1, b.y0], [b.x1, b.y1], [b.x0, b.y1]];
}

export interface TextLineStyle {
  font: FontFace;
  /** Font size in pixels. */
  size: number;
  /** Grey level of the background and of the ink, 0..255. */
  background: number;
  ink: number;
  /** Margins around the text, in pixels (a detector's crop leaves some). */
  padX: number;
  padY: number;
  /** Uniform noise of ± noise grey levels added to every channel. */
  noise: number;
  /** Seed of the noise. */
  noiseSeed: number;
}

/**
 * A style drawn from the ranges we evaluate on: print in six DejaVu faces, from small (12 px,
 * blurred when scaled up to the recogniser's 48 px) to large, with contrast from black on white
 * down to a difference of 70 grey levels, and mild noise.
 */
export function randomLineStyle(rng: Prng): TextLineStyle {
  const size = rng.int(12, 40);
  const background = rng.int(160, 255);
  return {
    font: rng.pick(FONT_NAMES),
    size,
    background,
    ink: rng.int(0, Math.min(110, background - 70)),
    padX: Math.round(size * rng.range(0.15, 0.6)),
    padY: Math.round(size * rng.range(0.1, 0.3)),
    noise: rng.int(0, 12),
    noiseSeed: rng.nextUint32(),
  };
}

function fontString(face: FontFace, size: number): string {
  return `${size}px "${familyOf(face)}"`;
}

function grey(level: number): string {
  if (!(level >= 0 && level <= 255)) throw new Error(`grey level must be in 0..255, got ${level}`);
  const v = Math.round(level);
  return `rgb(${v},${v},${v})`;
}

function addNoise(image: RgbImage, amplitude: number, seed: number): void {
  if (amplitude <= 0) return;
  const rng = new Prng(seed);
  const d = image.data;
  for (let i = 0; i < d.length; i++) {
    const v = (d[i] as number) + Math.round((rng.float() * 2 - 1) * amplitude);
    d[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
}

function canvasPixels(ctx: SKRSContext2D, width: number, height: number): RgbImage {
  return rgbFromRgba(width, height, ctx.getImageData(0, 0, width, height).data);
}

export interface RenderedLine {
  text: string;
  style: TextLineStyle;
  image: RgbImage;
  /** Ink extent of the text inside the image. */
  inkBox: Box;
}

/** One line of text, cropped the way a detector would crop it: the text plus small margins. */
export function renderTextLine(text: string, style: TextLineStyle): RenderedLine {
  if (text.length === 0) throw new Error("cannot render an empty text line");
  registerFonts();
  const probe = createCanvas(1, 1).getContext("2d");
  probe.font = fontString(style.font, style.size);
  const m = probe.measureText(text);
  const width = Math.ceil(m.width + 2 * style.padX);
  const height = Math.ceil(m.fontBoundingBoxAscent + m.fontBoundingBoxDescent + 2 * style.padY);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = grey(style.background);
  ctx.fillRect(0, 0, width, height);
  ctx.font = fontString(style.font, style.size);
  ctx.fillStyle = grey(style.ink);
  ctx.textBaseline = "alphabetic";
  const baseline = style.padY + m.fontBoundingBoxAscent;
  ctx.fillText(text, style.padX, baseline);
  const image = canvasPixels(ctx, width, height);
  addNoise(image, style.noise, style.noiseSeed);
  const inkBox = {
    x0: style.padX - m.actualBoundingBoxLeft,
    y0: baseline - m.actualBoundingBoxAscent,
    x1: style.padX + m.actualBoundingBoxRight,
    y1: baseline + m.actualBoundingBoxDescent,
  };
  return { text, style, image, inkBox };
}

export interface PageLine {
  text: string;
  font: FontFace;
  size: number;
  /**
   * The ground truth a detector should find, in page pixels: the ink's horizontal extent and the
   * font's ascent-to-descent band vertically — the line box an annotator draws. (The tight ink
   * box of "-99.6" is only as tall as its digits, while DB, trained on annotated line boxes,
   * returns the whole line height; against ink boxes short strings fall near IoU 0.5.)
   */
  box: Box;
  /** Tight extent of the drawn glyphs. */
  inkBox: Box;
}

export interface RenderedPage {
  image: RgbImage;
  lines: PageLine[];
}

export interface PageOptions {
  width?: number;
  height?: number;
}

/**
 * A page of several text lines at random but non-overlapping positions: rows stacked top to
 * bottom with gaps of at least half a line, and sometimes a second piece of text in the same row
 * separated by at least three text heights (so the detector should keep them apart).
 */
export function renderTextPage(seed: number, options: PageOptions = {}): RenderedPage {
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  if (width < 160 || height < 120) throw new Error(`page must be at least 160×120, got ${width}×${height}`);
  registerFonts();
  const rng = new Prng(seed);
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext("2d");
  const background = rng.int(195, 255);
  ctx.fillStyle = grey(background);
  ctx.fillRect(0, 0, width, height);
  ctx.textBaseline = "alphabetic";
  const margin = 16;
  const lines: PageLine[] = [];
  let top = rng.int(margin, 3 * margin);
  for (;;) {
    const size = rng.int(16, 36);
    const font = rng.pick(FONT_NAMES);
    ctx.font = fontString(font, size);
    const probe = ctx.measureText("Hg");
    const rowHeight = probe.fontBoundingBoxAscent + probe.fontBoundingBoxDescent;
    if (top + rowHeight > height - margin) break;
    const baseline = top + probe.fontBoundingBoxAscent;
    const ink = grey(rng.int(0, 80));
    let left = rng.int(margin, Math.floor(width / 3));
    const pieces = rng.chance(0.3) ? 2 : 1;
    for (let piece = 0; piece < pieces; piece++) {
      // Shorter strings for narrower room; give up on this piece if even 3 characters don't fit.
      let text = "";
      let m = ctx.measureText("");
      for (let attempt = 0; attempt < 8; attempt++) {
        text = randomLineText(rng);
        m = ctx.measureText(text);
        if (left + m.width <= width - margin) break;
        text = "";
      }
      if (text === "") break;
      ctx.fillStyle = ink;
      ctx.fillText(text, left, baseline);
      lines.push({
        text,
        font,
        size,
        box: {
          x0: left - m.actualBoundingBoxLeft,
          y0: baseline - m.fontBoundingBoxAscent,
          x1: left + m.actualBoundingBoxRight,
          y1: baseline + m.fontBoundingBoxDescent,
        },
        inkBox: {
          x0: left - m.actualBoundingBoxLeft,
          y0: baseline - m.actualBoundingBoxAscent,
          x1: left + m.actualBoundingBoxRight,
          y1: baseline + m.actualBoundingBoxDescent,
        },
      });
      left = Math.ceil(left + m.width + 3 * size + rng.int(0, 4 * size));
      if (left > width - margin - 3 * size) break;
    }
    top = Math.ceil(top + rowHeight + size * rng.range(0.5, 1.5));
  }
  const image = canvasPixels(ctx, width, height);
  addNoise(image, rng.int(0, 6), rng.nextUint32());
  return { image, lines };
}

/** PNG bytes of an image, for looking at samples (not used by the evaluation itself). */
export function encodePng(image: RgbImage): Uint8Array {
  const canvas = createCanvas(image.width, image.height);
  const ctx = canvas.getContext("2d");
  const imageData = ctx.createImageData(image.width, image.height);
  for (let p = 0; p < image.width * image.height; p++) {
    imageData.data[p * 4] = image.data[p * 3] as number;
    imageData.data[p * 4 + 1] = image.data[p * 3 + 1] as number;
    imageData.data[p * 4 + 2] = image.data[p * 3 + 2] as number;
    imageData.data[p * 4 + 3] = 255;
  }
  ctx.putImageData(imageData, 0, 0);
  return canvas.toBuffer("image/png");
}
