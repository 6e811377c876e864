/**
 * int8 against fp32 latency of the three PP-OCR models in onnxruntime-node, and file sizes.
 *
 *   node --import tsx bench/ppocr_latency.ts [--int8 /tmp/octet-ppocr] [--method mse] [--tag ""]
 *        [--threads 1,2] [--runs 40] [--profile det] [--json out.json]
 *
 * The int8 models are quantize_all.ts's outputs (<dir>/<kind>.<method>[.<tag>].onnx). Each model
 * runs on one input of the evaluation set (det: the first 640×480 page; rec: a 48×320 line; cls:
 * a 48×192 line); after warm-up, float and int8 runs alternate so that the machine's slow phases
 * hit both alike, and the medians are compared. The machine is shared: read the ratio.
 *
 * --profile <kinds>: ONNX Runtime's profiler (enableProfiling) on float and int8, 1 thread: time
 * by kernel op type per run, and the op types of the optimized int8 graph (what ONNX Runtime
 * actually runs: QLinearConv and friends are integer; Conv, Mul, Add ... are float; QuantizeLinear
 * / DequantizeLinear are the conversions between them).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import * as ort from "onnxruntime-node";
import { median } from "../src/analyze/metrics.js";
import { loadModel } from "../src/onnx/files.js";
import type { Tensor } from "../src/tensor/tensor.js";
import { buildEvaluationSet, type ModelKind, modelInputs } from "../examples/ppocr/dataset.js";
import { packagedModelPaths } from "../examples/ppocr/evaluate.js";

function sessionOptions(threads: number, extra: ort.InferenceSession.SessionOptions = {}): ort.InferenceSession.SessionOptions {
  return { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", logSeverityLevel: 3, ...extra };
}

/** One typical input per model from the evaluation set. */
export function typicalInput(kind: ModelKind): Tensor {
  const set = buildEvaluationSet({ lineCount: kind === "rec" ? 20 : 0, directionCount: kind === "cls" ? 1 : 0, pageCount: kind === "det" ? 1 : 0 });
  const inputs = modelInputs(set, kind);
  // rec: the first line whose input is the standard 48×320 (most are; long lines are wider).
  return (kind === "rec" ? inputs.find((t) => t.dims[3] === 320) : inputs[0]) ?? inputs[0]!;
}

export interface LatencyPair {
  floatMs: number;
  int8Ms: number;
  ratio: number;
  runs: number;
}

export async function interleavedLatency(floatPath: string, int8Path: string, input: Tensor, threads: number, runs: number): Promise<LatencyPair> {
  const a = await ort.InferenceSession.create(floatPath, sessionOptions(threads));
  const b = await ort.InferenceSession.create(int8Path, sessionOptions(threads));
  const feeds = (s: ort.InferenceSession) => ({ [s.inputNames[0]!]: new ort.Tensor("float32", input.data as Float32Array, input.dims) });
  const fa = feeds(a);
  const fb = feeds(b);
  for (let i = 0; i < 3; i++) {
    await a.run(fa);
    await b.run(fb);
  }
  const ta: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < runs; i++) {
    // Alternate which model goes first, so neither always runs right after the other's cache traffic.
    const order = i % 2 === 0 ? [[a, fa, ta], [b, fb, tb]] as const : [[b, fb, tb], [a, fa, ta]] as const;
    for (const [s, f, t] of order) {
      const start = performance.now();
      await s.run(f);
      t.push(performance.now() - start);
    }
  }
  await a.release();
  await b.release();
  const floatMs = median(ta);
  const int8Ms = median(tb);
  return { floatMs, int8Ms, ratio: int8Ms / floatMs, runs };
}

export interface OpProfile {
  /** Microseconds per run by kernel op type, largest first. */
  byOp: [string, number][];
  totalUs: number;
}

/** Runs `runs` times with ONNX Runtime's profiler and sums kernel time per op type (per run). */
export async function profileOps(path: string, input: Tensor, runs: number, dir: string, label: string): Promise<OpProfile> {
  mkdirSync(dir, { recursive: true });
  const prefix = join(dir, label);
  const session = await ort.InferenceSession.create(path, sessionOptions(1, { enableProfiling: true, profileFilePrefix: prefix }));
  const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", input.data as Float32Array, input.dims) };
  for (let i = 0; i < runs; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = readdirSync(dir).filter((f) => f.startsWith(label) && f.endsWith(".json"))
    .map((f) => join(dir, f)).sort((x, y) => statSync(y).mtimeMs - statSync(x).mtimeMs)[0];
  if (!file) throw new Error(`onnxruntime wrote no profile with prefix ${prefix}`);
  const events = JSON.parse(readFileSync(file, "utf8")) as { cat?: string; name?: string; dur?: number; args?: { op_name?: string } }[];
  rmSync(file);
  const byOp = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time") || !e.args?.op_name) continue;
    byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + (e.dur ?? 0) / runs);
    total += (e.dur ?? 0) / runs;
  }
  return { byOp: [...byOp].sort((x, y) => y[1] - x[1]), totalUs: total };
}

/** Op types of the graph ONNX Runtime runs after its optimizations (level "all"). */
export async function optimizedOps(path: string, dir: string, label: string): Promise<Record<string, number>> {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${label}.optimized.onnx`);
  const s = await ort.InferenceSession.create(path, sessionOptions(1, { optimizedModelFilePath: out }));
  await s.release();
  const m = loadModel(out);
  rmSync(out);
  const ops: Record<string, number> = {};
  for (const n of m.graph.nodes) {
    const key = n.domain && n.domain !== "ai.onnx" ? `${n.opType} (${n.domain})` : n.opType;
    ops[key] = (ops[key] ?? 0) + 1;
  }
  return ops;
}

async function main(): Promise<void> {
  const o = new Command()
    .option("--int8 <dir>", "directory of quantize_all.ts outputs", "/tmp/octet-ppocr")
    .option("--method <m>", "which quantized models", "mse")
    .option("--tag <s>", "model file tag (quantize_all --tag)", "")
    .option("--models <list>", "det,rec,cls", "det,rec,cls")
    .option("--threads <list>", "intra-op thread counts", "1,2")
    .option("--runs <n>", "timed runs per model and thread count", "40")
    .option("--profile <list>", "models to profile (1 thread)", "")
    .option("--profile-runs <n>", "runs under the profiler", "20")
    .option("--json <path>", "results as JSON")
    .parse()
    .opts<{ int8: string; method: string; tag: string; models: string; threads: string; runs: string; profile: string; profileRuns: string; json?: string }>();
  const kinds = o.models.split(",") as ModelKind[];
  const floats = packagedModelPaths();
  const results: Record<string, unknown>[] = [];
  console.log(`int8 = ${o.int8}/<model>.${o.method}${o.tag ? `.${o.tag}` : ""}.onnx; onnxruntime-node ${ort.env.versions.common}, graph optimizations "all", ${o.runs} interleaved runs, median`);
  console.log("");
  console.log("| model | input | threads | fp32 | int8 | int8 ÷ fp32 | fp32 file | int8 file | size ratio |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const kind of kinds) {
    const int8Path = join(o.int8, `${kind}.${o.method}${o.tag ? `.${o.tag}` : ""}.onnx`);
    if (!existsSync(int8Path)) throw new Error(`${int8Path} does not exist: run examples/ppocr/quantize_all.ts first`);
    const input = typicalInput(kind);
    const sizes = { float: statSync(floats[kind]).size, int8: statSync(int8Path).size };
    for (const threads of o.threads.split(",").map(Number)) {
      const r = await interleavedLatency(floats[kind], int8Path, input, threads, Number(o.runs));
      results.push({ kind, threads, ...r, ...sizes });
      console.log(`| ${kind} | ${input.dims.join("×")} | ${threads} | ${r.floatMs.toFixed(2)} ms | ${r.int8Ms.toFixed(2)} ms | **${r.ratio.toFixed(2)}** | ${(sizes.float / 1e6).toFixed(2)} MB | ${(sizes.int8 / 1e6).toFixed(2)} MB | ${(sizes.int8 / sizes.float).toFixed(2)} |`);
    }
  }
  const profiled: Record<string, unknown> = {};
  for (const kind of o.profile ? (o.profile.split(",") as ModelKind[]) : []) {
    const int8Path = join(o.int8, `${kind}.${o.method}${o.tag ? `.${o.tag}` : ""}.onnx`);
    const input = typicalInput(kind);
    const dir = "/tmp/octet-ppocr-profile";
    const pf = await profileOps(floats[kind], input, Number(o.profileRuns), dir, `${kind}-float`);
    const pq = await profileOps(int8Path, input, Number(o.profileRuns), dir, `${kind}-int8`);
    const ops = await optimizedOps(int8Path, dir, `${kind}-int8`);
    profiled[kind] = { float: pf, int8: pq, ops };
    console.log(`\n${kind}: kernel time per run under the profiler (1 thread, ${o.profileRuns} runs): fp32 ${(pf.totalUs / 1000).toFixed(2)} ms, int8 ${(pq.totalUs / 1000).toFixed(2)} ms`);
    console.log("");
    console.log("| int8 model: op type | ms per run | share |");
    console.log("|---|---|---|");
    for (const [op, us] of pq.byOp.slice(0, 14)) console.log(`| ${op} | ${(us / 1000).toFixed(3)} | ${((100 * us) / pq.totalUs).toFixed(1)}% |`);
    console.log("");
    console.log(`fp32 model, top op types: ${pf.byOp.slice(0, 6).map(([op, us]) => `${op} ${(us / 1000).toFixed(2)} ms`).join(", ")}`);
    console.log(`int8 graph after ONNX Runtime's optimizations: ${Object.entries(ops).sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${v}`).join(", ")}`);
  }
  if (o.json) writeFileSync(o.json, JSON.stringify({ results, profiled }, null, 2));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  });
}
