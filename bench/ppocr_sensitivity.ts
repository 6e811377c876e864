/**
 * Where int8 hurts a PP-OCR model: quantization sensitivity by region and per tensor.
 *
 *   node --import tsx bench/ppocr_sensitivity.ts --model rec [--methods mse,percentile]
 *        [--regions all] [--calib 64] [--lines 200] [--json out.json]
 *   node --import tsx bench/ppocr_sensitivity.ts --model rec --sqnr [--methods minmax] [--sqnr-lines 16]
 *
 * Region mode: for each method and each region R of the graph (attention, LayerNorm pieces, the
 * linear layers, the output head, op types ...), two models: "R float" keeps R in float and
 * quantizes the rest (what keeping R float recovers), "only R" quantizes R alone (the damage R
 * does by itself). All configurations share one float calibration pass over the union of the
 * tensors they need (quantize_all.ts's calibrateEveryMethod), and the float reference runs once.
 *
 * SQNR mode: the float model and the QDQ model run side by side with every quantized tensor
 * exposed; for each tensor in graph order, the SQNR (dB) of
 *   own:   float x against Q(x) with the tensor's own params (rounding + clipping of this tensor only),
 *   total: float x against what the QDQ model's readers of x see (own error plus everything upstream).
 * Exposing the intermediates stops ONNX Runtime from fusing DQ → op → Q into integer kernels, so
 * these are fake-quant (simulated) values; the accuracy columns of region mode come from the real
 * integer kernels.
 */
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { ErrorAccumulator } from "../src/analyze/metrics.js";
import { calibratedTensors, type CalibrationMethod } from "../src/calibrate/calibrate.js";
import { withExtraOutputs } from "../src/calibrate/expose.js";
import { createOrtNodeExecutor } from "../src/calibrate/ort_node.js";
import type { Feeds } from "../src/calibrate/executor.js";
import { exportQdq } from "../src/export/qdq.js";
import { cloneModel, topologicalOrder, type Graph, type Model, type Node } from "../src/graph/ir.js";
import { presetByName } from "../src/plan/preset.js";
import { resolveActivationParams } from "../src/plan/resolve.js";
import { fakeQuantize } from "../src/quant/quantize.js";
import { encodeModel } from "../src/onnx/encode.js";
import { loadModel } from "../src/onnx/files.js";
import { qRange } from "../src/quant/dtype.js";
import type { QParams } from "../src/quant/qparams.js";
import { buildEvaluationSet, type ModelKind, modelInputs } from "../examples/ppocr/dataset.js";
import { ortRunner, packagedModelPaths } from "../examples/ppocr/evaluate.js";
import {
  calibrateEveryMethod, calibrationFeeds, calibrationFor, memoizedRunner, openQuietSession, preparedPlan, quantizeFromCalibration,
  scoreModel, CALIBRATION_SEED,
} from "../examples/ppocr/quantize_all.js";

// ─── Regions ───────────────────────────────────────────────────────────────────────────────────

const isConstant = (g: Graph, name: string) => g.initializers.has(name);

/** Named sets of node names; a region is kept in float by excluding its nodes. */
export function regionsOf(kind: ModelKind, graph: Graph): Map<string, string[]> {
  const order = topologicalOrder(graph);
  const regions = new Map<string, string[]>();
  const add = (name: string, nodes: Node[]) => { if (nodes.length) regions.set(name, nodes.map((n) => n.name)); };
  const byType = (...types: string[]) => order.filter((n) => types.includes(n.opType));
  for (const t of ["MatMul", "Softmax", "Conv", "Add", "Mul", "Sigmoid", "Concat", "GlobalAveragePool", "HardSigmoid", "Clip", "Relu", "Div"]) add(`op:${t}`, byType(t));

  if (kind === "rec") {
    const index = (name: string) => {
      const i = order.findIndex((n) => n.name === name);
      if (i < 0) throw new Error(`the recogniser has no node ${name}: these regions are written for ch_PP-OCRv4_rec_infer.onnx`);
      return i;
    };
    const neckStart = index("p2o.Reshape.64");
    const neckEnd = index("p2o.Transpose.7");
    const softmaxes = byType("Softmax");
    const outputSoftmax = softmaxes[softmaxes.length - 1]!;
    add("backbone", order.slice(0, neckStart));
    for (const [a, b] of [[0, 0.25], [0, 0.5], [0, 0.75], [0.25, 1], [0.5, 1], [0.75, 1]] as const) {
      add(`backbone ${100 * a}–${100 * b}%`, order.slice(Math.round(a * neckStart), Math.round(b * neckStart)));
    }
    add("neck (SVTR blocks)", order.slice(neckStart, neckEnd + 1));
    add("after neck (convs, concat, head)", order.slice(neckEnd + 1));
    const attention = order.filter((n, i) => i >= neckStart && i <= neckEnd &&
      ((n.opType === "MatMul" && !isConstant(graph, n.inputs[1]!)) || n.opType === "Softmax"));
    add("attention (QKᵀ, Softmax, ·V)", attention);
    add("attention Softmax", attention.filter((n) => n.opType === "Softmax"));
    add("attention MatMuls", attention.filter((n) => n.opType === "MatMul"));
    const linear = order.filter((n, i) => i >= neckStart && i <= neckEnd && n.opType === "MatMul" && isConstant(graph, n.inputs[1]!));
    add("neck linear MatMuls", linear);
    const producers = new Map(order.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
    const readers = (name: string) => order.filter((n) => n.inputs.includes(name));
    const layerNorm: Node[] = [];
    const ln: { sub: Node; eps: Node; gamma: Node; beta: Node }[] = [];
    for (const mean of byType("ReduceMean")) {
      // mean → Sub → Pow → ReduceMean → Add ε → Sqrt → Div (Sub / Sqrt) → Mul γ → Add β
      const step = (n: Node | undefined, op: string) => (n ? readers(n.outputs[0]!).find((r) => r.opType === op) : undefined);
      const sub = step(mean, "Sub");
      const pow = step(sub, "Pow");
      const variance = step(pow, "ReduceMean");
      const eps = step(variance, "Add");
      const sqrt = step(eps, "Sqrt");
      const div = step(sqrt, "Div");
      const gamma = step(div, "Mul");
      const beta = step(gamma, "Add");
      if (!sub || !pow || !variance || !eps || !sqrt || !div || !gamma || !beta) continue; // the variance ReduceMean
      layerNorm.push(mean, sub, pow, variance, eps, sqrt, div, gamma, beta);
      ln.push({ sub, eps, gamma, beta });
    }
    add("LayerNorm (all pieces)", layerNorm);
    add("LayerNorm affine output (Mul γ, Add β)", ln.flatMap((l) => [l.gamma, l.beta]));
    add("LayerNorm output (Add β)", ln.map((l) => l.beta));
    add("LayerNorm centring (Sub)", ln.map((l) => l.sub));
    add("LayerNorm variance + ε (Add)", ln.map((l) => l.eps));
    add("residual Adds", order.filter((n, i) => i >= neckStart && i <= neckEnd && n.opType === "Add" && n.inputs.every((x) => !isConstant(graph, x)) && !layerNorm.includes(n)));
    const head = order.filter((n) => n === outputSoftmax || (readers(n.outputs[0]!).includes(outputSoftmax)));
    const headMatMul = producers.get(head.find((n) => n.opType === "Add")?.inputs[0] ?? "");
    add("head (last MatMul, bias Add, Softmax)", [...(headMatMul ? [headMatMul] : []), ...head]);
    add("output Softmax", [outputSoftmax]);
    // PPLCNetV3 backbone blocks: Conv → HardSwish as Add(+3) → Clip(0, 6) → Mul(x, ·) → Div(6) →
    // learnable affine Mul(w₀) → Add(w₁) → next Conv; squeeze-excite: GAP → Conv → Relu → Conv → HardSigmoid → Mul.
    const backbone = order.slice(0, neckStart);
    const scalarConstant = (n: Node) => n.inputs.map((i) => graph.initializers.get(i)).find((t) => t && t.dims.reduce((a, b) => a * b, 1) === 1);
    const value = (n: Node) => { const t = scalarConstant(n); return t ? (t.data as Float32Array)[0]! : undefined; };
    const hardswish = backbone.filter((n) => (n.opType === "Add" && value(n) === 3) || n.opType === "Clip" ||
      (n.opType === "Div" && value(n) === 6) || (n.opType === "Mul" && readers(n.outputs[0]!).some((r) => r.opType === "Div" && value(r) === 6)));
    const affine = backbone.filter((n) => (n.opType === "Mul" || n.opType === "Add") && value(n) !== undefined && !hardswish.includes(n));
    const se = backbone.filter((n) => n.opType === "GlobalAveragePool" || n.opType === "Relu" || n.opType === "HardSigmoid" ||
      (n.opType === "Conv" && n.inputs.some((i) => ["GlobalAveragePool", "Relu"].includes(producers.get(i)?.opType ?? ""))) ||
      (n.opType === "Mul" && n.inputs.some((i) => producers.get(i)?.opType === "HardSigmoid")));
    add("backbone Conv (outside SE)", backbone.filter((n) => n.opType === "Conv" && !se.includes(n)));
    add("backbone HardSwish (Add 3, Clip, Mul, Div 6)", hardswish);
    add("backbone affine (Mul w0, Add w1)", affine);
    add("backbone HardSwish + affine", [...hardswish, ...affine]);
    add("backbone squeeze-excite", se);
    add("swish (Mul, Sigmoid, Mul)", order.filter((n) => n.opType === "Sigmoid" || (n.opType === "Mul" && (readers(n.outputs[0]!).some((r) => r.opType === "Sigmoid") || n.inputs.some((i) => producers.get(i)?.opType === "Sigmoid")))));
  }
  return regions;
}

// ─── Region mode ───────────────────────────────────────────────────────────────────────────────

interface Config {
  name: string;
  exclude: string[];
}

function configsOf(regions: Map<string, string[]>, quantizable: string[], wanted: string[] | "all", inverse: boolean): Config[] {
  const out: Config[] = [{ name: "everything quantized", exclude: [] }];
  for (const [name, nodes] of regions) {
    if (wanted !== "all" && !wanted.includes(name)) continue;
    out.push({ name: `${name} float`, exclude: nodes });
    if (name.startsWith("backbone ") && !name.endsWith("%") && regions.has("backbone")) {
      const keep = new Set(nodes);
      out.push({ name: `backbone float except ${name.slice(9)}`, exclude: regions.get("backbone")!.filter((n) => !keep.has(n)) });
    }
    if (inverse) {
      const keep = new Set(nodes);
      out.push({ name: `only ${name}`, exclude: quantizable.filter((n) => !keep.has(n)) });
    }
  }
  return out;
}

// ─── Per-tensor SQNR ───────────────────────────────────────────────────────────────────────────

/** Σx² / Σ(x − Q(x))² in dB for per-tensor params (round half to even, as QuantizeLinear does). */
function ownSqnr(acc: ErrorAccumulator, x: Float32Array, qp: QParams): void {
  const s = qp.scale[0]!;
  const z = qp.zeroPoint[0]!;
  const { qmin, qmax } = qRange(qp.dtype);
  const approx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! / s;
    let r = Math.round(v);
    if (r - v === 0.5 && r % 2 !== 0) r -= 1; // ties to even
    const q = Math.min(qmax, Math.max(qmin, r + z));
    approx[i] = (q - z) * s;
  }
  acc.add(x, approx);
}

/** For each quantized activation of the float model: the QDQ model's tensor its readers see. */
function dequantizedNames(qdq: Model, floatGraph: Graph, folds: { input: string; output: string }[]): Map<string, string> {
  const producer = new Map(qdq.graph.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const bySource = new Map<string, string>();
  for (const dq of qdq.graph.nodes) {
    if (dq.opType !== "DequantizeLinear") continue;
    const q = producer.get(dq.inputs[0]!);
    if (q?.opType === "QuantizeLinear") bySource.set(q.inputs[0]!, dq.outputs[0]!);
  }
  const out = new Map<string, string>();
  const graphOutputs = new Set(floatGraph.outputs.map((o) => o.name));
  const foldInput = new Map(folds.map((f) => [f.output, f.input]));
  for (const name of floatGraph.valueInfo.keys()) {
    if (graphOutputs.has(name)) { out.set(name, name); continue; }
    const dq = bySource.get(foldInput.get(name) ?? name);
    if (dq) out.set(name, dq);
  }
  for (const i of floatGraph.inputs) { const dq = bySource.get(i.name); if (dq) out.set(i.name, dq); }
  return out;
}

// ─── Weights vs activations ────────────────────────────────────────────────────────────────────

/**
 * Three models per method: int8 weights with float activations (the float model with its weights
 * fake-quantized), int8 activations with float weights (the QDQ export of a plan with no weights
 * or biases), and both. Prints the per-layer weight SQNR, worst first.
 */
async function splitWeightsActivations(
  kind: ModelKind, model: Model, prepared: Model, feeds: Feeds[], methods: CalibrationMethod[], exclude: string[], lines: string,
): Promise<void> {
  const { plan } = preparedPlan(model, "ort", exclude);
  const names = calibratedTensors(plan);
  const multi = await calibrateEveryMethod(prepared, names, feeds, { symmetric: (n) => plan.activations.get(n)!.format.symmetric });
  const evalCount = lines ? Number(lines) : kind === "rec" ? 200 : kind === "cls" ? 100 : 20;
  const set = buildEvaluationSet({ lineCount: kind === "rec" ? evalCount : 0, directionCount: kind === "cls" ? evalCount : 0, pageCount: kind === "det" ? evalCount : 0 });
  const floatSession = await openQuietSession(packagedModelPaths()[kind]);
  const reference = memoizedRunner(ortRunner(floatSession));
  console.log(`float: ${fmt(await scoreModel(kind, reference, set))}`);
  const preset = presetByName("ort");
  let printedWeights = false;
  for (const method of methods) {
    const result = await quantizeFromCalibration(model, calibrationFor(multi, method, names), { exclude, excludedReadFloat: true });
    if (!printedWeights) {
      printedWeights = true;
      const rows = [...result.plan.weights.values()].map((w) => {
        const t = result.prepared.graph.initializers.get(w.name)!;
        const x = t.data as Float32Array;
        const acc = new ErrorAccumulator();
        acc.add(x, fakeQuantize(x, result.params.get(w.name)!, t.dims));
        return { name: w.name, node: w.node, dims: t.dims.join("×"), sqnr: acc.sqnr };
      }).sort((a, b) => a.sqnr - b.sqnr);
      console.log(`weight SQNR (dB), per-channel int8 symmetric narrow, worst 12 of ${rows.length}:`);
      for (const r of rows.slice(0, 12)) console.log(`  ${r.sqnr.toFixed(1).padStart(5)}  ${r.node} ${r.name} [${r.dims}]`);
    }
    const weightsOnly = cloneModel(result.prepared);
    for (const w of result.plan.weights.values()) {
      const t = weightsOnly.graph.initializers.get(w.name)!;
      weightsOnly.graph.initializers.set(w.name, { dtype: "float32", dims: t.dims, data: fakeQuantize(t.data as Float32Array, result.params.get(w.name)!, t.dims) });
    }
    const ranges = new Map(names.map((n) => [n, result.calibration.observers.get(n)!.range()]));
    const activationParams = resolveActivationParams(result.prepared.graph, result.plan, ranges, preset);
    const activationsOnly = exportQdq(result.prepared, { ...result.plan, weights: new Map(), biases: new Map() }, activationParams).model;
    // ONNX Runtime's WeightBiasQuantization (level basic) would quantize the float weights of a Conv
    // fed by a DQ per tensor: the activations-only model runs with graph optimizations disabled.
    const variants = [
      ["int8 weights, float activations", weightsOnly, "all"],
      ["float weights, int8 activations", activationsOnly, "disabled"],
      ["both", result.model, "all"],
      ["both (optimizations disabled)", result.model, "disabled"],
    ] as const;
    for (const [label, m, level] of variants) {
      const session = await openQuietSession(encodeModel(m), 1, level);
      console.log(`${method.padEnd(14)} ${label.padEnd(34)} ${fmt(await scoreModel(kind, session, set, reference))}`);
      await session.release();
    }
  }
  await floatSession.release();
}

// ─── Command ───────────────────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const o = new Command()
    .option("--model <kind>", "det | rec | cls", "rec")
    .option("--methods <list>", "calibration methods", "mse")
    .option("--regions <list>", "region names separated by ';', or all", "all")
    .option("--inverse", "also quantize each region alone")
    .option("--compose-folds", "prototype planner rule of bench/compose_folds.ts, applied to every configuration")
    .option("--bias-correction", "empirical bias correction (src/optimize) on the calibration samples, every configuration")
    .option("--configs <list>", "instead of regions: exclusion lists separated by ';' (each a comma-separated list of node names or op types)")
    .option("--calib <n>", "calibration samples (lines, directions or pages)", "64")
    .option("--lines <n>", "evaluation lines / directions / pages", "")
    .option("--sqnr", "per-tensor SQNR table instead of region accuracy")
    .option("--split", "weights only vs activations only vs both, and the per-layer weight SQNR")
    .option("--sqnr-lines <n>", "samples for the SQNR table", "16")
    .option("--exclude <list>", "SQNR mode: node names or op types kept in float", "")
    .option("--out <dir>", "scratch directory for models", "/tmp/octet-ppocr-sensitivity")
    .option("--json <path>", "results as JSON")
    .parse()
    .opts<{ model: ModelKind; methods: string; regions: string; inverse?: boolean; calib: string; lines: string; sqnr?: boolean; split?: boolean; sqnrLines: string; exclude: string; out: string; json?: string; configs?: string; composeFolds?: boolean; biasCorrection?: boolean }>();
  const kind = o.model;
  const methods = o.methods.split(",") as CalibrationMethod[];
  const floatPath = packagedModelPaths()[kind];
  const model = loadModel(floatPath);
  const inputName = model.graph.inputs[0]!.name;
  const calibCount = Number(o.calib);
  const feeds = calibrationFeeds(kind, inputName, { lines: calibCount, directions: calibCount, pages: calibCount }, CALIBRATION_SEED);
  const { prepared, plan: fullPlan } = preparedPlan(model, "ort");
  mkdirSync(o.out, { recursive: true });

  if (o.sqnr) {
    const exclude = o.exclude ? o.exclude.split(",") : [];
    const { plan } = preparedPlan(model, "ort", exclude);
    const names = calibratedTensors(plan);
    const multi = await calibrateEveryMethod(prepared, names, feeds, { symmetric: (n) => plan.activations.get(n)!.format.symmetric });
    const count = Number(o.sqnrLines);
    const set = buildEvaluationSet({ lineCount: kind === "rec" ? count : 0, directionCount: kind === "cls" ? count : 0, pageCount: kind === "det" ? count : 0 });
    const inputs = modelInputs(set, kind);
    const producerOp = new Map(prepared.graph.nodes.flatMap((n) => n.outputs.map((x) => [x, `${n.opType} ${n.name}`] as const)));
    const rows: Record<string, unknown>[] = [];
    for (const method of methods) {
      const result = await quantizeFromCalibration(model, calibrationFor(multi, method, names), { exclude, excludedReadFloat: true });
      const dqNames = dequantizedNames(result.model, result.prepared.graph, result.plan.scaleFolds);
      const tensors = topologicalOrder(result.prepared.graph).flatMap((n) => n.outputs).filter((t) => result.params.has(t) && dqNames.has(t) && !result.prepared.graph.initializers.has(t));
      const floatExec = await createOrtNodeExecutor(withExtraOutputs(result.prepared, tensors), { threads: 1 });
      const qdqExec = await createOrtNodeExecutor(withExtraOutputs(result.model, tensors.map((t) => dqNames.get(t)!)), { threads: 1 });
      const own = new Map(tensors.map((t) => [t, new ErrorAccumulator()]));
      const total = new Map(tensors.map((t) => [t, new ErrorAccumulator()]));
      for (const input of inputs) {
        const f = { [inputName]: input };
        const [a, b] = [await floatExec.run(f), await qdqExec.run(f)];
        for (const t of tensors) {
          const x = a.get(t)!.data as Float32Array;
          ownSqnr(own.get(t)!, x, result.params.get(t)!);
          total.get(t)!.add(x, b.get(dqNames.get(t)!)!.data as Float32Array);
        }
      }
      await floatExec.dispose();
      await qdqExec.dispose();
      console.log(`\n${method}${exclude.length ? `, excluding ${exclude.join(",")}` : ""}: SQNR (dB) over ${inputs.length} samples; own = this tensor's quantization alone, total = as the QDQ model computes it`);
      console.log("own    total  range                     producer → tensor");
      for (const t of tensors) {
        const qp = result.params.get(t)!;
        const { qmin, qmax } = qRange(qp.dtype);
        const lo = (qmin - qp.zeroPoint[0]!) * qp.scale[0]!;
        const hi = (qmax - qp.zeroPoint[0]!) * qp.scale[0]!;
        const row = { method, tensor: t, producer: producerOp.get(t) ?? "input", own: own.get(t)!.sqnr, total: total.get(t)!.sqnr, min: lo, max: hi };
        rows.push(row);
        console.log(`${row.own.toFixed(1).padStart(5)}  ${row.total.toFixed(1).padStart(5)}  [${lo.toPrecision(3)}, ${hi.toPrecision(3)}]`.padEnd(42) + ` ${row.producer} → ${t}`);
      }
    }
    if (o.json) writeFileSync(o.json, JSON.stringify(rows, null, 2));
    return;
  }

  if (o.split) {
    await splitWeightsActivations(kind, model, prepared, feeds, methods, o.exclude ? o.exclude.split(",") : [], o.lines);
    return;
  }

  const regions = regionsOf(kind, prepared.graph);
  const quantizable = fullPlan.quantizedNodes;
  const configs = o.configs !== undefined
    ? o.configs.split(";").map((c) => ({ name: c ? `${c} float` : "everything quantized", exclude: c ? c.split(",") : [] }))
    : configsOf(regions, quantizable, o.regions === "all" ? "all" : o.regions.split(";"), o.inverse ?? false);
  const plans = configs.map((c) => preparedPlan(model, "ort", c.exclude).plan);
  const names = [...new Set(plans.flatMap((p) => calibratedTensors(p)))];
  const multi = await calibrateEveryMethod(prepared, names, feeds);
  console.log(`calibrated ${names.length} tensors (union over ${configs.length} configurations) on ${multi.samples} samples in ${multi.seconds.toFixed(1)} s`);

  const evalCount = o.lines ? Number(o.lines) : kind === "rec" ? 200 : kind === "cls" ? 100 : 20;
  const set = buildEvaluationSet({ lineCount: kind === "rec" ? evalCount : 0, directionCount: kind === "cls" ? evalCount : 0, pageCount: kind === "det" ? evalCount : 0 });
  const floatSession = await openQuietSession(floatPath);
  const reference = memoizedRunner(ortRunner(floatSession));
  const floatScores = await scoreModel(kind, reference, set);
  console.log(`float: ${fmt(floatScores)}`);
  const results: Record<string, unknown>[] = [{ method: "float", config: "float", ...floatScores }];
  for (const method of methods) {
    for (const [i, c] of configs.entries()) {
      const result = await quantizeFromCalibration(model, calibrationFor(multi, method, calibratedTensors(plans[i]!)), {
        exclude: c.exclude, excludedReadFloat: true, composeFolds: o.composeFolds ?? false, ...(o.biasCorrection ? { biasCorrection: feeds } : {}),
      });
      const path = join(o.out, `${kind}.${method}.${i}.onnx`);
      writeFileSync(path, encodeModel(result.model));
      const session = await openQuietSession(path);
      const scores = await scoreModel(kind, session, set, reference);
      await session.release();
      const floatNodes = result.plan.floatNodes.length;
      results.push({ method, config: c.name, excluded: c.exclude.length, floatNodes, ...scores });
      console.log(`${method.padEnd(14)} ${c.name.padEnd(44)} ${fmt(scores)}  (${c.exclude.length} nodes excluded)`);
    }
  }
  if (o.json) writeFileSync(o.json, JSON.stringify(results, null, 2));
}

function fmt(s: { primary: number; secondary?: number; vsFloat?: number }): string {
  const p = (x: number | undefined) => (x === undefined ? "  –  " : `${(100 * x).toFixed(1)}%`.padStart(6));
  return `${p(s.primary)} ${p(s.secondary)} ${p(s.vsFloat)}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  });
}
