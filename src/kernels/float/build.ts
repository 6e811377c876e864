/**
 * Builds the AssemblyScript float kernels (assembly/float/*.ts) into build/wasm/float.wasm with the
 * `asc` compiler of the `assemblyscript` devDependency. Used by `scripts/build-wasm-float.ts`
 * (`npm run build:wasm`) and, lazily, by wasm.ts when the artefact is missing or older than its
 * sources, so a fresh clone works without a separate build step.
 *
 * Compilation itself is src/kernels/asc_build.ts.
 */
import { join } from "node:path";
import { buildAssemblyScript, repoRoot, wasmIsFresh } from "../asc_build.js";

export const floatWasmSourceDir = join(repoRoot, "assembly", "float");
/**
 * Two builds of the same sources: plain WebAssembly SIMD (runs everywhere SIMD does), and one with
 * relaxed SIMD enabled, whose GEMM uses f32x4.relaxed_madd (a fused multiply-add on x86 with FMA:
 * half the instructions). Relaxed SIMD is on by default from V8 11.4 (Node 22); Node 20 needs
 * --experimental-wasm-relaxed-simd. wasm.ts picks the relaxed build only when the runtime validates it.
 */
export type FloatWasmVariant = "simd" | "relaxed-simd";

export function floatWasmPath(variant: FloatWasmVariant): string {
  return join(repoRoot, "build", "wasm", variant === "simd" ? "float.wasm" : "float-relaxed.wasm");
}

export const defaultFloatWasmPath = floatWasmPath("simd");
/** Maximum shared memory in 64 KiB pages (1 GiB): reserved address space, not committed. */
export const floatWasmMaximumPages = 16384;
export const floatWasmInitialPages = 32;

export function buildFloatWasm(variant: FloatWasmVariant = "simd", outFile: string = floatWasmPath(variant)): string {
  return buildAssemblyScript({
    sourceDir: floatWasmSourceDir, outFile, what: "float", initialPages: floatWasmInitialPages, maximumPages: floatWasmMaximumPages,
    ...(variant === "relaxed-simd" ? { extraFeatures: ["relaxed-simd"] } : {}),
  });
}

/** True when the artefact exists and is newer than every AssemblyScript source. */
export function floatWasmIsFresh(wasmFile: string = defaultFloatWasmPath): boolean {
  return wasmIsFresh(wasmFile, floatWasmSourceDir);
}
