// Builds build/wasm/float.wasm and build/wasm/float-relaxed.wasm from assembly/float/
// (`npm run build:wasm`: `node --import tsx scripts/build-wasm-float.ts`). The kernels also build
// themselves at first use when an artefact is missing or older than its sources.
import { buildFloatWasm } from "../src/kernels/float/build.js";

for (const variant of ["simd", "relaxed-simd"] as const) console.log(`built ${buildFloatWasm(variant)}`);
