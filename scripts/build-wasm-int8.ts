// Builds build/wasm/int8.wasm from assembly/int8/ (`node --import tsx scripts/build-wasm-int8.ts [out]`).
// The kernels also build themselves at first use.
import { buildInt8Wasm } from "../src/kernels/int8/build.js";

console.log(`built ${buildInt8Wasm(process.argv[2])}`);
