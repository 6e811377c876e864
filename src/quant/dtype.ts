/**
 * The integer formats octet quantizes to, and their representable ranges.
 *
 * Full ranges are the saturation ranges of ONNX QuantizeLinear (ONNX operator spec, QuantizeLinear-21+):
 * uint16 [0, 65535], int16 [-32768, 32767], uint8 [0, 255], int8 [-128, 127], uint4 [0, 15], int4 [-8, 7].
 *
 * "Narrow" range drops the lowest code of every type, so that 2^b − 1 levels sit symmetrically
 * around a representable centre:
 *   signed   b bits: [−2^(b−1) + 1, 2^(b−1) − 1]   int8 → [−127, 127], int4 → [−7, 7]
 *   unsigned b bits: [1, 2^b − 1]                   uint8 → [1, 255],   uint4 → [1, 15]
 * The signed half is the TFLite int8 weight range (TFLite 8-bit quantization spec: weights are int8
 * in [−127, 127] with zero point 0). The unsigned half follows TensorFlow's FakeQuant `narrow_range`
 * ("[1; 2^num_bits − 1] when narrow_range is true"), which makes a narrow unsigned tensor exactly the
 * narrow signed tensor shifted by 2^(b−1) (uint8 = int8 + 128), with the symmetric zero point 128 in
 * both full and narrow uint8. ONNX Runtime's quantizer instead uses [0, 254] for "symmetric uint8"
 * (quant_utils.py, ONNX_INT_TYPE_SYMMETRIC_RANGE), whose centre is 127; octet does not follow it,
 * because then uint8 and int8 symmetric weights would not be a plain 128 shift of one another.
 * See docs/quantization.md.
 */

export type QuantDType = "int8" | "uint8" | "int16" | "uint16" | "int4" | "uint4";

/** Every quantization dtype, in the order error messages list them. */
export const QUANT_DTYPES: readonly QuantDType[] = ["int8", "uint8", "int16", "uint16", "int4", "uint4"];

export interface QRange {
  qmin: number;
  qmax: number;
}

const BITS: Record<QuantDType, number> = { int8: 8, uint8: 8, int16: 16, uint16: 16, int4: 4, uint4: 4 };
const SIGNED: Record<QuantDType, boolean> = {
  int8: true, uint8: false, int16: true, uint16: false, int4: true, uint4: false,
};

export function isQuantDType(name: unknown): name is QuantDType {
  return typeof name === "string" && Object.prototype.hasOwnProperty.call(BITS, name);
}

function checkDType(dtype: QuantDType): void {
  if (!isQuantDType(dtype)) {
    throw new Error(`unknown quantization dtype ${JSON.stringify(dtype)}; valid: ${QUANT_DTYPES.join(", ")}`);
  }
}

export function bitsOf(dtype: QuantDType): number {
  checkDType(dtype);
  return BITS[dtype];
}

export function isSigned(dtype: QuantDType): boolean {
  checkDType(dtype);
  return SIGNED[dtype];
}

/** The integer range of `dtype`: full (what QuantizeLinear saturates to) or narrow (lowest code dropped). */
export function qRange(dtype: QuantDType, narrow = false): QRange {
  const bits = bitsOf(dtype);
  // Written with ** rather than << so that no bit width can hit JavaScript's 32-bit shift traps.
  const qmin = SIGNED[dtype] ? -(2 ** (bits - 1)) : 0;
  const qmax = SIGNED[dtype] ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  return { qmin: narrow ? qmin + 1 : qmin, qmax };
}

/**
 * Parse a user-supplied dtype name ("int8", "UINT8", " int4 ") into a QuantDType.
 * Case and surrounding spaces are ignored; anything else is an error that lists the valid names.
 */
export function parseQuantDType(name: string): QuantDType {
  const normalized = typeof name === "string" ? name.trim().toLowerCase() : name;
  if (!isQuantDType(normalized)) {
    throw new Error(
      `unknown quantization dtype ${JSON.stringify(name)}; valid: ${QUANT_DTYPES.join(", ")}`,
    );
  }
  return normalized;
}
