/**
 * What the JavaScript runtime's WebAssembly supports, tested by validating tiny hand-assembled
 * modules (the approach of the wasm-feature-detect library; these bytes are octet's own):
 *
 *   SIMD:          (func (result v128) i32.const 0  i32x4.splat)
 *   relaxed SIMD:  (func (result v128) i8x16.splat 0, i8x16.splat 0, i32x4.splat 0,
 *                                      i32x4.relaxed_dot_i8x16_i7x16_add_s)
 *
 * Opcodes from the WebAssembly SIMD and relaxed-SIMD specifications (0xfd prefix; 0x11 i32x4.splat,
 * 0x0f i8x16.splat, 0x113 relaxed_dot_i8x16_i7x16_add_s as LEB128 0x93 0x02). Node 20 validates
 * relaxed SIMD only with --experimental-wasm-relaxed-simd; octet's kernels never require it.
 */

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/** One type () → v128 and one function of that type. */
const TYPE_AND_FUNCTION = [0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00];

function moduleWithBody(body: number[]): Uint8Array<ArrayBuffer> {
  const fn = [0x00, ...body, 0x0b]; // no locals, body, end
  const code = [0x01, fn.length, ...fn];
  return new Uint8Array([...HEADER, ...TYPE_AND_FUNCTION, 0x0a, code.length, ...code]);
}

const SIMD_PROBE = moduleWithBody([0x41, 0x00, 0xfd, 0x11]);
const RELAXED_PROBE = moduleWithBody([0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x0f, 0x41, 0x00, 0xfd, 0x11, 0xfd, 0x93, 0x02]);

function validates(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

let simd: boolean | undefined;
let relaxed: boolean | undefined;

/** True when WebAssembly SIMD (v128) is available. */
export function hasWasmSimd(): boolean {
  simd ??= validates(SIMD_PROBE);
  return simd;
}

/** True when relaxed SIMD is available (Node 20 needs --experimental-wasm-relaxed-simd). */
export function hasRelaxedSimd(): boolean {
  relaxed ??= validates(RELAXED_PROBE);
  return relaxed;
}
