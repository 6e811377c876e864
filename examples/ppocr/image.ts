/**
 * The 8-bit RGB image the PP-OCR example passes around (rendered by render.ts, read by
 * preprocess.ts): interleaved R, G, B bytes, row-major, no alpha.
 */
export interface RgbImage {
  width: number;
  height: number;
  /** width × height × 3 bytes: R, G, B for each pixel, rows top to bottom. */
  data: Uint8Array;
}

export function rgbImage(width: number, height: number, data?: Uint8Array): RgbImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`image size must be positive integers, got ${width}×${height}`);
  }
  const size = width * height * 3;
  if (data && data.length !== size) {
    throw new Error(`a ${width}×${height} RGB image needs ${size} bytes, got ${data.length}`);
  }
  return { width, height, data: data ?? new Uint8Array(size) };
}

/** Drops the alpha channel of canvas RGBA pixels (the canvases here are opaque). */
export function rgbFromRgba(width: number, height: number, rgba: ArrayLike<number>): RgbImage {
  if (rgba.length !== width * height * 4) {
    throw new Error(`a ${width}×${height} RGBA buffer needs ${width * height * 4} bytes, got ${rgba.length}`);
  }
  const out = rgbImage(width, height);
  for (let p = 0, q = 0; p < width * height; p++, q += 4) {
    out.data[p * 3] = rgba[q] as number;
    out.data[p * 3 + 1] = rgba[q + 1] as number;
    out.data[p * 3 + 2] = rgba[q + 2] as number;
  }
  return out;
}

/** The image turned upside down (rotated by 180°): pixel order reversed, channels kept. */
export function rotate180(image: RgbImage): RgbImage {
  const n = image.width * image.height;
  const out = rgbImage(image.width, image.height);
  for (let p = 0; p < n; p++) {
    const q = n - 1 - p;
    out.data[q * 3] = image.data[p * 3] as number;
    out.data[q * 3 + 1] = image.data[p * 3 + 1] as number;
    out.data[q * 3 + 2] = image.data[p * 3 + 2] as number;
  }
  return out;
}

/**
 * Bilinear resize with the sampling convention of OpenCV's `cv2.resize(..., INTER_LINEAR)`,
 * which PaddleOCR's preprocessing calls: pixel centres are aligned (source coordinate
 * (d + 0.5)·scale − 0.5, clamped to the image), no antialiasing when shrinking, and the result
 * rounded back to 8 bits because OpenCV keeps the input's uint8 type. OpenCV computes the
 * weights in 11-bit fixed point; we use floats, so a few pixels may differ by one level.
 */
export function resizeBilinear(image: RgbImage, width: number, height: number): RgbImage {
  const out = rgbImage(width, height);
  if (width === image.width && height === image.height) {
    out.data.set(image.data);
    return out;
  }
  const scaleX = image.width / width;
  const scaleY = image.height / height;
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const fxs = new Float64Array(width);
  for (let x = 0; x < width; x++) {
    const sx = Math.min(Math.max((x + 0.5) * scaleX - 0.5, 0), image.width - 1);
    const x0 = Math.floor(sx);
    x0s[x] = x0;
    x1s[x] = Math.min(x0 + 1, image.width - 1);
    fxs[x] = sx - x0;
  }
  const src = image.data;
  const rowStride = image.width * 3;
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max((y + 0.5) * scaleY - 0.5, 0), image.height - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const fy = sy - y0;
    for (let x = 0; x < width; x++) {
      const fx = fxs[x] as number;
      const a = y0 * rowStride + (x0s[x] as number) * 3;
      const b = y0 * rowStride + (x1s[x] as number) * 3;
      const c = y1 * rowStride + (x0s[x] as number) * 3;
      const d = y1 * rowStride + (x1s[x] as number) * 3;
      const o = (y * width + x) * 3;
      for (let ch = 0; ch < 3; ch++) {
        const top = (src[a + ch] as number) * (1 - fx) + (src[b + ch] as number) * fx;
        const bottom = (src[c + ch] as number) * (1 - fx) + (src[d + ch] as number) * fx;
        out.data[o + ch] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}
