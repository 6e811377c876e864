// Builds build/wasm/float.wasm from assembly/float/ (`npm run build:wasm`:
// `node --import tsx scripts/build-wasm-float.ts`). The kernels also build themselves at first use.
import { buildFloatWasm } from "../src/kernels/float/build.js";

console.log(`built ${buildFloatWasm(process.argv[2])}`);
