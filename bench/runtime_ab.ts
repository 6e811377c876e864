/**
 * Whole-run A/B of octet's integer engine: this checkout's session against another checkout's
 * (its src/ and its own WebAssembly kernels) on the same quantized model, in one process, turns
 * alternated for many rounds so that the machine's slow phases hit both.
 *
 *   node --import tsx bench/runtime_ab.ts --compare DIR [--model lenet] [--rounds 200] [--runs 20] [--work DIR]
 *
 * The models and inputs are the ones bench/runtime_models.ts caches in --work (run it once first).
 * Prints each side's fastest and median round (µs per inference) and the median over rounds of
 * the other side's time ÷ this side's (> 1: this checkout is faster).
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    compare: { type: "string" }, model: { type: "string", default: "lenet" }, rounds: { type: "string", default: "200" },
    runs: { type: "string", default: "20" }, work: { type: "string", default: join(repo, "tmp", "bench-runtime") },
  },
});
if (!values.compare) throw new Error("--compare DIR: the other checkout to run against is required");
const other = resolve(values.compare);
if (!existsSync(join(other, "src", "runtime", "session.ts"))) throw new Error(`--compare ${other}: not an octet checkout (no src/runtime/session.ts)`);
const model = join(values.work, `${values.model}.int8.onnx`);
const inputs = join(values.work, "inputs", values.model);
if (!existsSync(model) || !existsSync(inputs)) throw new Error(`${model} or ${inputs} is missing: run bench/runtime_models.ts first`);
const rounds = Number(values.rounds);
const runs = Number(values.runs);

interface Side { root: string; session: { run(f: object): unknown; dispose(): void }; feeds: object; times: number[] }
const sides: Side[] = [];
for (const root of [repo, other]) {
  const { createIntegerSession } = await import(join(root, "src", "runtime", "session.ts"));
  const { readNpy } = await import(join(root, "src", "data", "npy.ts"));
  const x = await readNpy(join(inputs, readdirSync(inputs).filter((f) => f.endsWith(".npy")).sort()[0]!));
  const session = createIntegerSession(model, { threads: 1 });
  const feeds = { [session.inputs[0]!.name]: x };
  for (let i = 0; i < 300; i++) session.run(feeds);
  sides.push({ root, session, feeds, times: [] as number[] });
}
for (let r = 0; r < rounds; r++) {
  for (const s of r % 2 ? [...sides].reverse() : sides) {
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) s.session.run(s.feeds);
    s.times.push(((performance.now() - t0) / runs) * 1000);
  }
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
for (const s of sides) {
  console.log(`${s.root}: fastest round ${Math.min(...s.times).toFixed(1)} µs, median ${median(s.times).toFixed(1)} µs`);
  s.session.dispose();
}
console.log(`median over rounds of other ÷ this: ${median(sides[1]!.times.map((t, r) => t / sides[0]!.times[r]!)).toFixed(3)}`);
