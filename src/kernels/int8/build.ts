/**
 * Builds the AssemblyScript 8-bit kernels (assembly/int8/*.ts) into build/wasm/int8.wasm with the
 * `asc` compiler of the `assemblyscript` devDependency: ahead of time with
 * `node --import tsx scripts/build-wasm-int8.ts`, or lazily at first use when the artefact is
 * missing or older than its sources (as the float kernels do, src/kernels/float/build.ts).
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
export const int8WasmSourceDir = join(repoRoot, "assembly", "int8");
export const defaultInt8WasmPath = join(repoRoot, "build", "wasm", "int8.wasm");
/** Maximum shared memory in 64 KiB pages (2 GiB of address space, reserved, not committed). */
export const int8WasmMaximumPages = 32768;
export const int8WasmInitialPages = 64;

export function buildInt8Wasm(outFile: string = defaultInt8WasmPath): string {
  const require = createRequire(import.meta.url);
  let ascBin: string;
  try {
    ascBin = join(dirname(require.resolve("assemblyscript/package.json")), "bin", "asc.js");
  } catch {
    throw new Error("cannot build the int8 WebAssembly kernels: the `assemblyscript` package is not installed (npm install)");
  }
  mkdirSync(dirname(outFile), { recursive: true });
  // Written under a temporary name, then renamed: a concurrent reader never sees half a file.
  const tmp = `${outFile}.${process.pid}.tmp`;
  try {
    execFileSync(process.execPath, [
      ascBin, join(int8WasmSourceDir, "index.ts"),
      "--outFile", tmp,
      "-O3", "--noAssert", "--runtime", "stub",
      "--enable", "simd", "--enable", "threads",
      "--importMemory", "--sharedMemory",
      "--initialMemory", String(int8WasmInitialPages), "--maximumMemory", String(int8WasmMaximumPages),
    ], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`asc failed to build ${outFile}: ${err.stderr?.toString() ?? err.message}`);
  }
  renameSync(tmp, outFile);
  return outFile;
}

/** True when the artefact exists and is newer than every AssemblyScript source. */
export function int8WasmIsFresh(wasmFile: string = defaultInt8WasmPath): boolean {
  if (!existsSync(wasmFile)) return false;
  const built = statSync(wasmFile).mtimeMs;
  return readdirSync(int8WasmSourceDir)
    .filter((f) => f.endsWith(".ts"))
    .every((f) => statSync(join(int8WasmSourceDir, f)).mtimeMs <= built);
}
