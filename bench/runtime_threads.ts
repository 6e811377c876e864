/**
 * octet's integer engine alone, 1 thread against 2 threads, on the models of runtime_models.ts
 * (run that first: it writes the quantized models and inputs into its --work directory).
 *
 *   node --import tsx bench/runtime_threads.ts [--models lenet,cls,det,rec] [--rounds 15] [--warmup 10] [--work DIR]
 *
 * runtime_models.ts times several engines in one process; with 2 threads their worker pools
 * compete for the second core (ONNX Runtime's and octet's workers spin for a while after each
 * run), so its 2-thread columns say little about octet's own scaling. Here the two octet sessions
 * take turns and nothing else runs. A turn runs the LeNet 50 times and the classifier 5 times; the
 * first --warmup rounds (10) are untimed, as in runtime_models.ts.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { readNpy } from "../src/data/npy.js";
import { createIntegerSession } from "../src/runtime/index.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const kinds = arg("models", "lenet,cls,det,rec").split(",");
const rounds = Number(arg("rounds", "15"));
const warmup = Number(arg("warmup", "10"));
const work = arg("work", join(repo, "tmp", "bench-runtime"));
const REPEATS: Record<string, number> = { lenet: 50, cls: 5 };

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
console.log(`octet alone, ms per inference over ${rounds} interleaved rounds; load average before: ${loadavg().map((v) => v.toFixed(2)).join(", ")}`);
console.log(`${"model".padEnd(6)} ${"1 thread".padStart(10)} ${"2 threads".padStart(10)} ${"speed-up".padStart(9)}   (median; min in brackets)`);
for (const kind of kinds) {
  const dir = join(work, "inputs", kind);
  const x = await readNpy(join(dir, readdirSync(dir).filter((f) => f.endsWith(".npy")).sort()[0]!));
  const sessions = [1, 2].map((threads) => createIntegerSession(join(work, `${kind}.int8.onnx`), { threads }));
  const feeds = { [sessions[0]!.inputs[0]!.name]: x };
  const reps = REPEATS[kind] ?? 1;
  const times: number[][] = [[], []];
  for (let r = -warmup; r < rounds; r++) {
    sessions.forEach((s, i) => {
      const t0 = performance.now();
      for (let k = 0; k < reps; k++) s.run(feeds);
      if (r >= 0) times[i]!.push((performance.now() - t0) / reps);
    });
  }
  for (const s of sessions) s.dispose();
  const [one, two] = times.map(median) as [number, number];
  const [oneMin, twoMin] = times.map((t) => Math.min(...t)) as [number, number];
  const ms = (v: number) => v.toFixed(v < 1 ? 3 : 1);
  console.log(`${kind.padEnd(6)} ${ms(one).padStart(10)} ${ms(two).padStart(10)} ${(one / two).toFixed(2).padStart(8)}×   (${ms(oneMin)}, ${ms(twoMin)}: ${(oneMin / twoMin).toFixed(2)}×)`);
}
console.log(`load average after: ${loadavg().map((v) => v.toFixed(2)).join(", ")}`);
