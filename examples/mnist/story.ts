/**
 * The MNIST story end to end, in one command (`npm run example:mnist`):
 *
 *   1. train LeNet and the MobileNet-style network in TypeScript (octet's src/train), or reuse
 *      <out>/<arch>.onnx when present (--retrain forces training);
 *   2. `octet quantize` LeNet to int8 (the command itself, run as a child process) and measure it in
 *      onnxruntime-node on the 10 000 test images: it must keep ≥ 99.0% and lose ≤ 0.1 point;
 *   3. the PTQ table of each model: 5 calibration methods × per-tensor/per-channel × W8A8/W4A8/W4A4;
 *   4. QAT (src/train/qat): LeNet W8A8 and W4A4, the MobileNet-style model's per-tensor int8;
 *   5. writes every figure to <out>/results.json and the tables into docs/mnist.md (between the
 *      "results" markers), with the command and the date.
 *
 *   node --import tsx examples/mnist/story.ts [--out out/mnist] [--retrain] [--threads 2]
 *        [--skip-ptq] [--skip-qat] [--no-docs]
 */
import v8 from "node:v8";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { basename, join, resolve } from "node:path";
import { Command } from "commander";
import { relaxedSimdSupported, WasmFloatKernels } from "../../src/kernels/float/wasm.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { channelSpread, type ChannelSpread } from "./channel_spread.js";
import { engineAccuracy, ortAccuracy } from "./evaluate.js";
import { ptqMarkdown, ptqTable, quantizeCommand, FORMATS, type PtqCell } from "./ptq_table.js";
import { runQat, type QatRun, type QatRunResult } from "./qat_runs.js";
import { defaultTrainOptions, mnistSet, trainMnistModel, type Architecture } from "./train_model.js";

const program = new Command()
  .option("--out <dir>", "output directory (models are cached here)", "out/mnist")
  .option("--retrain", "train the float models even if <out>/<arch>.onnx exists")
  .option("--threads <n>", "training kernel threads", "2")
  .option("--skip-ptq", "skip the PTQ tables")
  .option("--skip-qat", "skip the QAT runs")
  .option("--no-docs", "do not rewrite docs/mnist.md")
  .parse();
const o = program.opts<{ out: string; retrain?: boolean; threads: string; skipPtq?: boolean; skipQat?: boolean; docs: boolean }>();
if (!relaxedSimdSupported()) v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
const threads = Number(o.threads);
if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer, got ${o.threads}`);
const kernels = new WasmFloatKernels({ threads, relaxedSimd: relaxedSimdSupported() });
useFloatKernels(kernels);

const out = o.out;
mkdirSync(out, { recursive: true });
const resultsPath = join(out, "results.json");
interface Results {
  date: string;
  machine: string;
  float: Partial<Record<Architecture, { accuracy: number; trainedMinutes?: number; cached: boolean }>>;
  headline?: { command: string; compare: string; float: number; int8: number; drop: number; pass: boolean; engine?: number };
  ptq: Partial<Record<Architecture, PtqCell[]>>;
  qat: QatRunResult[];
  /** Per-channel weight ranges of the MobileNet-style model after BatchNorm folding. */
  spread?: ChannelSpread[];
}
const previous: Partial<Results> = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, "utf8")) as Partial<Results> : {};
const results: Results = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${cpus().length} cores (${cpus()[0]?.model ?? "unknown CPU"}), Node ${process.version}, onnxruntime-node 1.30`,
  float: {}, ptq: previous.ptq ?? {}, qat: [],
};
const save = () => writeFileSync(resultsPath, JSON.stringify(results, null, 2) + "\n");
const test = mnistSet("test");
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

// 1. Float models (cached).
for (const arch of ["lenet", "mobilenet"] as const) {
  const onnx = join(out, `${arch}.onnx`);
  let trainedMinutes: number | undefined;
  const cached = existsSync(onnx) && !o.retrain;
  if (!cached) {
    const t = await trainMnistModel({ ...defaultTrainOptions, arch, out: join(out, arch) });
    trainedMinutes = t.minutes;
  } else {
    console.log(`${arch}: using the trained model ${onnx} (--retrain to train again)`);
    const ckpt = join(out, `${arch}.ckpt`);
    if (existsSync(ckpt)) {
      const minutes = readCheckpoint(ckpt).meta.minutes;
      if (typeof minutes === "number") trainedMinutes = minutes;
    }
  }
  const { accuracy } = await ortAccuracy(onnx, test);
  results.float[arch] = { accuracy, cached, ...(trainedMinutes !== undefined ? { trainedMinutes } : {}) };
  console.log(`${arch} float: ${pct(accuracy)} in onnxruntime-node`);
}
kernels.dispose();
useFloatKernels(new WasmFloatKernels({ threads: 1, relaxedSimd: relaxedSimdSupported() }));
save();

// 2. The headline: `octet quantize` int8, with the command itself.
{
  const lenet = join(out, "lenet.onnx");
  const int8 = join(out, "lenet.int8.onnx");
  const args = ["quantize", lenet, "-o", int8, "--calib", "mnist", "--samples", "512", "--method", "entropy", "--force"];
  const bin = resolve(import.meta.dirname, "../../bin/octet.js");
  const run = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`octet ${args.join(" ")} failed: ${run.stderr}`);
  const float = results.float.lenet!.accuracy;
  const { accuracy } = await ortAccuracy(int8, test);
  const drop = float - accuracy;
  const pass = accuracy >= 0.99 && drop <= 0.001 + 1e-12;
  // The same int8 model through octet's integer-only engine (src/runtime) instead of onnxruntime.
  const engine = engineAccuracy(int8, test);
  results.headline = { command: `octet ${args.slice(0, -1).join(" ")}`, compare: `octet compare ${lenet} ${int8} --data mnist:test --json`, float, int8: accuracy, drop, pass, engine };
  console.log(`octet quantize LeNet int8: ${pct(accuracy)} vs float ${pct(float)} (drop ${(100 * drop).toFixed(2)} point) — ${pass ? "PASS" : "FAIL"} (≥ 99.0%, drop ≤ 0.1 point)`);
  console.log(`the same int8 model through octet's integer engine: ${pct(engine)} (onnxruntime-node: ${pct(accuracy)})`);
  save();
}

results.spread = channelSpread(join(out, "mobilenet.onnx"));
save();

// 3. PTQ tables.
if (!o.skipPtq) {
  for (const arch of ["lenet", "mobilenet"] as const) {
    const dir = join(out, "ptq", arch);
    mkdirSync(dir, { recursive: true });
    console.log(`PTQ table of ${arch}:`);
    results.ptq[arch] = await ptqTable(join(out, `${arch}.onnx`), dir);
    save();
  }
}

// 4. QAT.
if (!o.skipQat) {
  mkdirSync(join(out, "qat"), { recursive: true });
  const runs: QatRun[] = [
    { name: "LeNet W8A8 per-channel (EMA ranges)", model: join(out, "lenet.onnx"), output: join(out, "qat", "lenet-w8a8.onnx"), weightType: "int8", activationType: "uint8", perChannel: true, lsq: false, epochs: 1, lr: 0.001 },
    { name: "LeNet W4A4 per-channel (LSQ)", model: join(out, "lenet.onnx"), output: join(out, "qat", "lenet-w4a4-lsq.onnx"), weightType: "int4", activationType: "uint4", perChannel: true, lsq: true, epochs: 1, lr: 0.01 },
    { name: "MobileNet-style W8A8 per-tensor (EMA ranges)", model: join(out, "mobilenet.onnx"), output: join(out, "qat", "mobilenet-w8a8-per-tensor.onnx"), weightType: "int8", activationType: "uint8", perChannel: false, lsq: false, epochs: 1, lr: 0.001 },
    { name: "MobileNet-style W4A8 per-tensor (LSQ)", model: join(out, "mobilenet.onnx"), output: join(out, "qat", "mobilenet-w4a8-per-tensor-lsq.onnx"), weightType: "int4", activationType: "uint8", perChannel: false, lsq: true, epochs: 1, lr: 0.01 },
  ];
  for (const r of runs) {
    results.qat.push(await runQat(r));
    save();
  }
} else {
  results.qat = previous.qat ?? [];
}
save();

// 5. docs/mnist.md.
if (o.docs) {
  const docs = resolve(import.meta.dirname, "../../docs/mnist.md");
  writeResultsIntoDocs(docs, results);
  console.log(`wrote the results into ${docs}`);
}
console.log(`figures in ${resultsPath}`);

function writeResultsIntoDocs(path: string, r: Results): void {
  const begin = "<!-- results:begin -->";
  const end = "<!-- results:end -->";
  const text = existsSync(path) ? readFileSync(path, "utf8") : `# MNIST\n\n${begin}\n${end}\n`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${path} lacks the ${begin} … ${end} markers`);
  writeFileSync(path, text.slice(0, from + begin.length) + "\n" + resultsMarkdown(r) + "\n" + text.slice(to));
}

/** The issue's targets, each with the figures that decide it. */
function targetLines(r: Results): string[] {
  const out: string[] = [];
  const find = (arch: Architecture, w: string, a: string, perChannel: boolean) =>
    r.qat.find((q) => basename(q.run.model) === `${arch}.onnx` && q.run.weightType === w && q.run.activationType === a && q.run.perChannel === perChannel);
  const ptqBest = (arch: Architecture, format: string, perChannel: boolean) => {
    const cells = (r.ptq[arch] ?? []).filter((c) => c.format === format && c.perChannel === perChannel);
    return cells.length ? Math.max(...cells.map((c) => c.accuracy)) : NaN;
  };
  const mark = (ok: boolean) => (ok ? "met" : "**missed**");
  const lenetFloat = r.float.lenet?.accuracy ?? NaN;
  const w8 = find("lenet", "int8", "uint8", true);
  const w4 = find("lenet", "int4", "uint4", true);
  const mb = find("mobilenet", "int8", "uint8", false);
  const mbFloat = r.float.mobilenet?.accuracy ?? NaN;
  out.push("", "### Targets", "");
  if (r.headline) out.push(`- LeNet int8 PTQ ≥ 99.0% with a drop ≤ 0.1 point: ${pct(r.headline.int8)} vs ${pct(r.headline.float)} — ${mark(r.headline.pass)}.`);
  if (w8) out.push(`- LeNet W8A8 QAT ≥ float − 0.05 point: ${pct(w8.ortAccuracy)} vs float ${pct(lenetFloat)} — ${mark(w8.ortAccuracy >= lenetFloat - 0.0005 - 1e-12)}.`);
  if (w4) out.push(`- LeNet W4A4 QAT ≥ 98.5%: ${pct(w4.ortAccuracy)} — ${mark(w4.ortAccuracy >= 0.985)}; W4A4 PTQ beside it: best ${pct(ptqBest("lenet", "W4A4", true))} per-channel, ${pct(ptqBest("lenet", "W4A4", false))} per-tensor.`);
  if (mb) out.push(`- MobileNet-style per-tensor int8 recovered by QAT: ${pct(mb.ortAccuracy)} vs float ${pct(mbFloat)}; per-tensor int8 PTQ best ${pct(ptqBest("mobilenet", "W8A8", false))}, per-channel ${pct(ptqBest("mobilenet", "W8A8", true))}.`);
  const mb4 = find("mobilenet", "int4", "uint8", false);
  if (mb4) out.push(`- Where per-tensor weights do collapse on this model (W4A8): PTQ best ${pct(ptqBest("mobilenet", "W4A8", false))} per-tensor (${pct(ptqBest("mobilenet", "W4A8", true))} per-channel), QAT ${pct(mb4.ortAccuracy)}.`);
  return out;
}

function resultsMarkdown(r: Results): string {
  const lines: string[] = [];
  lines.push(`Measured on ${r.date} with \`npm run example:mnist\` (\`node --import tsx examples/mnist/story.ts\`), ${r.machine}; accuracy of onnxruntime-node on the 10 000 MNIST test images.`, "");
  lines.push("### Float models", "", "| model | test accuracy | training |", "|---|---:|---:|");
  for (const [arch, f] of Object.entries(r.float)) {
    lines.push(`| ${arch === "lenet" ? "LeNet" : "MobileNet-style"} | ${pct(f.accuracy)} | ${f.trainedMinutes !== undefined ? `${f.trainedMinutes.toFixed(1)} min` : "–"} |`);
  }
  if (r.headline) {
    const h = r.headline;
    lines.push("", "### `octet quantize` int8", "", "```", h.command, h.compare, "```", "",
      `LeNet int8 (entropy, per-channel, uint8 activations): **${pct(h.int8)}** vs float ${pct(h.float)}, a drop of ${(100 * h.drop).toFixed(2)} point — ${h.pass ? "meets" : "MISSES"} the target (≥ 99.0%, drop ≤ 0.1 point).`);
    if (h.engine !== undefined) {
      lines.push("", `The same int8 model through octet's integer-only engine (\`createIntegerSession\`, \`octet run\`): **${pct(h.engine)}** (onnxruntime-node ${pct(h.int8)}, difference ${(100 * (h.engine - h.int8)).toFixed(2)} point; target ±0.05).`);
    }
  }
  for (const [arch, cells] of Object.entries(r.ptq)) {
    if (!cells?.length) continue;
    const float = r.float[arch as Architecture]?.accuracy ?? NaN;
    lines.push("", `### PTQ table: ${arch === "lenet" ? "LeNet" : "MobileNet-style"}`, "",
      `Each cell: \`${quantizeCommand(`out/mnist/${arch}.onnx`, "q.onnx", "<method>", true, FORMATS[0]!)}\` with \`--per-tensor\` for the per-tensor columns and \`--weight-type int4\` (W4), \`--activation-type uint4\` (A4); test accuracy in %.`,
      "", ptqMarkdown(cells, float));
    if (cells.some((c) => c.optimization === "basic")) lines.push("", "The W4A4 models ran at onnxruntime's basic optimization level: its default level refuses them (see the notes below).");
  }
  if (r.spread?.length) {
    lines.push("", "### MobileNet-style: weight ranges per channel after BatchNorm folding", "",
      "How much of the int8 grid the weakest channel keeps when one scale serves the whole tensor: the ratio of the largest to the smallest channel's max |w|, and the levels (of 127) the smallest channel then spans.", "",
      "| layer | weight | largest/smallest channel | levels of the smallest channel, per-tensor int8 | … int4 (of 7) |", "|---|---|---:|---:|---:|");
    for (const c of r.spread) lines.push(`| ${c.node}${c.depthwise ? " (depthwise)" : ""} | ${c.dims.join("×")} | ${c.ratio.toFixed(1)} | ${(127 / c.ratio).toFixed(1)} | ${(7 / c.ratio).toFixed(2)} |`);
  }
  lines.push(...targetLines(r));
  if (r.qat.length) {
    lines.push("", "### QAT", "", "| run | onnxruntime | simulation | PTQ beside it | minutes | command |", "|---|---:|---:|---:|---:|---|");
    for (const q of r.qat) {
      const arch: Architecture = q.run.model.includes("mobilenet") ? "mobilenet" : "lenet";
      const format = q.run.weightType === "int4" ? (q.run.activationType === "uint4" ? "W4A4" : "W4A8") : "W8A8";
      const ptq = (r.ptq[arch] ?? []).filter((c) => c.format === format && c.perChannel === q.run.perChannel);
      const best = ptq.length ? Math.max(...ptq.map((c) => c.accuracy)) : NaN;
      lines.push(`| ${q.run.name} | ${pct(q.ortAccuracy)}${q.optimization === "basic" ? " (basic)" : ""} | ${pct(q.simulatedAccuracy)} | best ${pct(best)} | ${q.minutes.toFixed(1)} | \`${q.command}\` |`);
    }
  }
  return lines.join("\n");
}
