/**
 * Compiles an AssemblyScript kernel folder (assembly/<name>/index.ts) into a .wasm module with the
 * `asc` compiler of the `assemblyscript` devDependency. Both kernel sets (float, int8) import a
 * shared memory (env.memory) so worker threads can run kernels on the same buffers, and have no AS
 * runtime: the JavaScript side owns all memory, by byte offsets.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface AscBuild {
  /** Folder holding index.ts and the kernels it imports. */
  sourceDir: string;
  outFile: string;
  /** What is being built, for error messages ("float", "int8"). */
  what: string;
  initialPages: number;
  maximumPages: number;
  /** Features beyond simd and threads (e.g. "relaxed-simd"). */
  extraFeatures?: string[];
}

export function buildAssemblyScript(b: AscBuild): string {
  const require = createRequire(import.meta.url);
  let ascBin: string;
  try {
    ascBin = join(dirname(require.resolve("assemblyscript/package.json")), "bin", "asc.js");
  } catch {
    throw new Error(`cannot build the ${b.what} WebAssembly kernels: the \`assemblyscript\` package is not installed (npm install)`);
  }
  mkdirSync(dirname(b.outFile), { recursive: true });
  // Written under a temporary name, then renamed: a concurrent reader never sees half a file.
  const tmp = `${b.outFile}.${process.pid}.tmp`;
  try {
    execFileSync(process.execPath, [
      ascBin, join(b.sourceDir, "index.ts"),
      "--outFile", tmp,
      "-O3", "--noAssert", "--runtime", "stub",
      "--enable", "simd", "--enable", "threads",
      ...(b.extraFeatures ?? []).flatMap((f) => ["--enable", f]),
      "--importMemory", "--sharedMemory",
      "--initialMemory", String(b.initialPages), "--maximumMemory", String(b.maximumPages),
    ], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    rmSync(tmp, { force: true });
    throw new Error(`asc failed to build ${b.outFile}: ${err.stderr?.toString() ?? err.message}`);
  }
  renameSync(tmp, b.outFile);
  return b.outFile;
}

/** True when the artefact exists and is newer than every AssemblyScript source of its folder. */
export function wasmIsFresh(wasmFile: string, sourceDir: string): boolean {
  if (!existsSync(wasmFile)) return false;
  const built = statSync(wasmFile).mtimeMs;
  return readdirSync(sourceDir)
    .filter((f) => f.endsWith(".ts"))
    .every((f) => statSync(join(sourceDir, f)).mtimeMs <= built);
}
