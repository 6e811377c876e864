/**
 * Builds the AssemblyScript float kernels (assembly/float/*.ts) into build/wasm/float.wasm with the
 * `asc` compiler of the `assemblyscript` devDependency. Used by `scripts/build-wasm-float.ts`
 * (`npm run build:wasm`) and, lazily, by wasm.ts when the artefact is missing or older than its
 * sources, so a fresh clone works without a separate build step.
 *
 * The module imports a shared memory (env.memory) so that worker threads can run kernels on the
 * same buffers, and has no AS runtime: the JavaScript side owns all memory, by byte offsets.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
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
  const require = createRequire(import.meta.url);
  let ascBin: string;
  try {
    ascBin = join(dirname(require.resolve("assemblyscript/package.json")), "bin", "asc.js");
  } catch {
    throw new Error("cannot build the float WebAssembly kernels: the `assemblyscript` package is not installed (npm install)");
  }
  mkdirSync(dirname(outFile), { recursive: true });
  // Written under a temporary name, then renamed: a concurrent reader never sees half a file.
  const tmp = `${outFile}.${process.pid}.tmp`;
  try {
    execFileSync(process.execPath, [
      ascBin, join(floatWasmSourceDir, "index.ts"),
      "--outFile", tmp,
      "-O3", "--noAssert", "--runtime", "stub",
      "--enable", "simd", "--enable", "threads",
      ...(variant === "relaxed-simd" ? ["--enable", "relaxed-simd"] : []),
      "--importMemory", "--sharedMemory",
      "--initialMemory", String(floatWasmInitialPages), "--maximumMemory", String(floatWasmMaximumPages),
    ], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`asc failed to build ${outFile}: ${err.stderr?.toString() ?? err.message}`);
  }
  renameSync(tmp, outFile);
  return outFile;
}

/** True when the artefact exists and is newer than every AssemblyScript source. */
export function floatWasmIsFresh(wasmFile: string = defaultFloatWasmPath): boolean {
  if (!existsSync(wasmFile)) return false;
  const built = statSync(wasmFile).mtimeMs;
  return readdirSync(floatWasmSourceDir)
    .filter((f) => f.endsWith(".ts"))
    .every((f) => statSync(join(floatWasmSourceDir, f)).mtimeMs <= built);
}
