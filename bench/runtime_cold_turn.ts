/**
 * What a turn of bench/runtime_models.ts costs octet's first run: per-step times of the LeNet's
 * first integer-engine run right after 50 onnxruntime-web fp32 runs ("cold"), against a run after
 * 5 of its own ("warm"), medians over rounds.
 *
 *   node --import tsx bench/runtime_cold_turn.ts [--rounds 30] [--work DIR]
 *
 * Uses the LeNet model and input bench/runtime_models.ts caches in --work (run it once first).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import * as ortWeb from "onnxruntime-web";
import { readNpy } from "../src/data/npy.js";
import { createIntegerSession } from "../src/runtime/index.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({ options: { rounds: { type: "string", default: "30" }, work: { type: "string", default: join(repo, "tmp", "bench-runtime") } } });
const model = join(values.work, "lenet.int8.onnx");
const inputs = join(values.work, "inputs", "lenet");
if (!existsSync(model) || !existsSync(inputs)) throw new Error(`${model} or ${inputs} is missing: run bench/runtime_models.ts first`);
ortWeb.env.wasm.numThreads = 1;
ortWeb.env.logLevel = "error";
const x = await readNpy(join(inputs, readdirSync(inputs).filter((f) => f.endsWith(".npy")).sort()[0]!));
const octet = createIntegerSession(model, { threads: 1 });
const name = octet.inputs[0]!.name;
const web = await ortWeb.InferenceSession.create(readFileSync(join(repo, "test", "fixtures", "mnist", "lenet.onnx")), {
  executionProviders: ["wasm"], graphOptimizationLevel: "all", logSeverityLevel: 3,
});
const webFeeds = { [name]: new ortWeb.Tensor("float32", x.data as Float32Array, x.dims) };
for (let i = 0; i < 500; i++) {
  octet.run({ [name]: x });
  await web.run(webFeeds);
}
const cold: number[][] = [];
const warm: number[][] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  for (let i = 0; i < 50; i++) await web.run(webFeeds);
  cold.push(octet.runProfiled({ [name]: x }).timings.map((t) => t.ms * 1000));
  for (let i = 0; i < 5; i++) octet.run({ [name]: x });
  warm.push(octet.runProfiled({ [name]: x }).timings.map((t) => t.ms * 1000));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
console.log("µs per step, median over rounds: first run after onnxruntime-web's turn (cold) vs a warm run");
octet.runProfiled({ [name]: x }).timings.forEach((s, i) => {
  console.log(`${s.opType.padEnd(18)} cold ${median(cold.map((c) => c[i]!)).toFixed(1).padStart(7)}  warm ${median(warm.map((w) => w[i]!)).toFixed(1).padStart(7)}`);
});
octet.dispose();
await web.release();
