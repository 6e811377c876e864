/**
 * Builds the AssemblyScript 8-bit kernels (assembly/int8/*.ts) into build/wasm/int8.wasm with the
 * `asc` compiler of the `assemblyscript` devDependency: ahead of time with
 * `node --import tsx scripts/build-wasm-int8.ts`, or lazily at first use when the artefact is
 * missing or older than its sources (as the float kernels do, src/kernels/float/build.ts).
 *
 * Compilation itself is src/kernels/asc_build.ts.
 */
import { join } from "node:path";
import { buildAssemblyScript, repoRoot, wasmIsFresh } from "../asc_build.js";

export const int8WasmSourceDir = join(repoRoot, "assembly", "int8");
export const defaultInt8WasmPath = join(repoRoot, "build", "wasm", "int8.wasm");
/** Maximum shared memory in 64 KiB pages (2 GiB of address space, reserved, not committed). */
export const int8WasmMaximumPages = 32768;
export const int8WasmInitialPages = 64;

export function buildInt8Wasm(outFile: string = defaultInt8WasmPath): string {
  return buildAssemblyScript({
    sourceDir: int8WasmSourceDir, outFile, what: "int8", initialPages: int8WasmInitialPages, maximumPages: int8WasmMaximumPages,
  });
}

/** True when the artefact exists and is newer than every AssemblyScript source. */
export function int8WasmIsFresh(wasmFile: string = defaultInt8WasmPath): boolean {
  return wasmIsFresh(wasmFile, int8WasmSourceDir);
}
