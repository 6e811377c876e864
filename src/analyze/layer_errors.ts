/**
 * Layer-wise error analysis: one quantization unit at a time. For each unit (a quantized node, or
 * a Conv/Gemm together with the Relu/Clip fused into it), a QDQ model where only that unit's
 * tensors — its quantized inputs, weight, bias and output — carry Q/DQ, everything else float.
 * The error of the model's outputs then measures how much that unit alone costs, which ranks the
 * units by sensitivity: the ones to keep in float first when accuracy must be recovered.
 */
import type { Feeds } from "../calibrate/executor.js";
import { topologicalOrder, type Model } from "../graph/ir.js";
import type { CreateExecutor } from "../optimize/capture.js";
import type { QuantPlan } from "../plan/plan.js";
import { resolveActivationParams } from "../plan/resolve.js";
import type { QParams } from "../quant/qparams.js";
import type { Tensor } from "../tensor/tensor.js";
import { metricsOf, type ErrorMetrics } from "./graph_errors.js";
import { ErrorAccumulator } from "./metrics.js";
import { buildQdq, floatReference, type QuantizationSetup } from "./quantized_model.js";

/** Nodes quantized together: a producer and its fused activation, or a single node. */
export interface QuantUnit {
  /** The unit's name: its first node's. */
  name: string;
  nodes: string[];
  opTypes: string[];
  /** True when the unit holds a quantized weight (Conv, Gemm, MatMul with a constant). */
  weighted: boolean;
}

export function quantizationUnits(model: Model, plan: QuantPlan): QuantUnit[] {
  const quantized = new Set(plan.quantizedNodes);
  const fusedInto = new Map(plan.fusions.map((f) => [f.activation, f.producer]));
  const activationOf = new Map(plan.fusions.map((f) => [f.producer, f.activation]));
  const weighted = new Set([...plan.weights.values()].map((w) => w.node));
  const opType = new Map(model.graph.nodes.map((n) => [n.name, n.opType]));
  const units: QuantUnit[] = [];
  for (const n of topologicalOrder(model.graph)) {
    if (!quantized.has(n.name) || fusedInto.has(n.name)) continue;
    const act = activationOf.get(n.name);
    const nodes = act && quantized.has(act) ? [n.name, act] : [n.name];
    units.push({ name: n.name, nodes, opTypes: nodes.map((x) => opType.get(x)!), weighted: weighted.has(n.name) });
  }
  return units;
}

/**
 * Coarser units: the units for which `groupOf` returns the same key become one unit named by the
 * key, holding their nodes in order, at the place of its first member; the others stay as they
 * are. Why: keeping one elementwise node in float changes almost nothing when its neighbours are
 * quantized (its input and output still go through Q/DQ for them), so on a model whose error
 * builds up along chains of such nodes (PP-OCRv4's backbone blocks: Conv → HardSwish → affine),
 * the unit worth keeping in float is a whole block.
 */
export function groupUnits(units: readonly QuantUnit[], groupOf: (unit: QuantUnit) => string | undefined): QuantUnit[] {
  const out: QuantUnit[] = [];
  const groups = new Map<string, QuantUnit>();
  const single = new Set(units.filter((u) => groupOf(u) === undefined).map((u) => u.name));
  for (const u of units) {
    const key = groupOf(u);
    if (key === undefined) {
      out.push(u);
      continue;
    }
    if (single.has(key)) throw new Error(`unit group ${key} has the name of a unit outside any group`);
    const g = groups.get(key);
    if (g) {
      g.nodes.push(...u.nodes);
      g.opTypes.push(...u.opTypes);
      g.weighted ||= u.weighted;
    } else {
      const group = { name: key, nodes: [...u.nodes], opTypes: [...u.opTypes], weighted: u.weighted };
      groups.set(key, group);
      out.push(group);
    }
  }
  return out;
}

/** The part of `plan` that belongs to `unit`: its nodes' quantized inputs and outputs, weights and biases. */
export function unitPlan(model: Model, plan: QuantPlan, unit: QuantUnit): QuantPlan {
  const names = new Set(unit.nodes);
  const touched = new Set<string>();
  for (const n of model.graph.nodes) {
    if (!names.has(n.name)) continue;
    for (const v of [...n.inputs, ...n.outputs]) if (v) touched.add(v);
  }
  return {
    activations: new Map([...plan.activations].filter(([t]) => touched.has(t))),
    weights: new Map([...plan.weights].filter(([, w]) => names.has(w.node))),
    biases: new Map([...plan.biases].filter(([, b]) => names.has(b.node))),
    quantizedNodes: plan.quantizedNodes.filter((n) => names.has(n)),
    floatNodes: [],
    fusions: plan.fusions.filter((f) => names.has(f.producer)),
    scaleFolds: plan.scaleFolds.filter((f) => names.has(f.node)),
  };
}

export interface LayerError extends ErrorMetrics {
  unit: string;
  nodes: string[];
  opTypes: string[];
  weighted: boolean;
  /** Per model output. */
  outputs: ({ output: string } & ErrorMetrics)[];
}

export interface LayerwiseOptions {
  createExecutor: CreateExecutor;
  /** Analyse groups of units instead of single ones (see groupUnits); names below are then the groups'. */
  groupOf?: (unit: QuantUnit) => string | undefined;
  /** Only these units (by name); default all. */
  units?: string[];
  /** Called after each unit. */
  onUnit?: (done: number, total: number) => void;
}

/** Float outputs kept in memory between units up to this many values; beyond, recomputed per unit. */
const CACHE_LIMIT = 1 << 26;

export async function layerwiseErrors(setup: QuantizationSetup, data: AsyncIterable<Feeds>, options: LayerwiseOptions): Promise<LayerError[]> {
  let units = quantizationUnits(setup.model, setup.plan);
  if (options.groupOf) units = groupUnits(units, options.groupOf);
  if (options.units) {
    const known = new Map(units.map((u) => [u.name, u]));
    for (const u of options.units) if (!known.has(u)) throw new Error(`layer-wise analysis: ${u} is not a quantized unit (known: ${[...known.keys()].join(", ")})`);
    const only = new Set(options.units);
    units = units.filter((u) => only.has(u.name));
  }
  const fullParams: Map<string, QParams> = resolveActivationParams(setup.model.graph, setup.plan, setup.ranges, setup.preset);
  const outputs = setup.model.graph.outputs.map((o) => o.name);
  const reference = await floatOutputs(floatReference(setup), data, options.createExecutor, outputs);
  const results: LayerError[] = [];
  for (const [i, unit] of units.entries()) {
    const plan = unitPlan(setup.model, setup.plan, unit);
    const params = new Map([...fullParams].filter(([t]) => plan.activations.has(t)));
    const built = buildQdq(setup, plan, params);
    const run = await options.createExecutor(built.model);
    const total = new ErrorAccumulator();
    const perOutput = new Map(outputs.map((o) => [o, new ErrorAccumulator()]));
    try {
      let batch = 0;
      for await (const feeds of data) {
        const ref = await reference.batch(batch++, feeds);
        const got = await run.run(feeds);
        for (const o of outputs) {
          const r = ref.get(o), q = got.get(o);
          if (r?.dtype !== "float32" || q?.dtype !== "float32") continue;
          total.add(r.data as Float32Array, q.data as Float32Array);
          perOutput.get(o)!.add(r.data as Float32Array, q.data as Float32Array);
        }
      }
    } finally {
      await run.dispose();
    }
    results.push({
      unit: unit.name, nodes: unit.nodes, opTypes: unit.opTypes, weighted: unit.weighted,
      ...metricsOf(total),
      outputs: outputs.map((o) => ({ output: o, ...metricsOf(perOutput.get(o)!) })),
    });
    options.onUnit?.(i + 1, units.length);
  }
  await reference.dispose();
  return results;
}

/** Units ordered from the most sensitive (lowest output SQNR when quantized alone) to the least. */
export function sensitivityRanking(layers: LayerError[]): LayerError[] {
  return [...layers].sort((a, b) => a.sqnr - b.sqnr || b.mse - a.mse);
}

/** The float model's outputs per batch: cached while small, else recomputed on demand. */
async function floatOutputs(model: Model, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor, outputs: string[]) {
  const executor = await createExecutor(model);
  const cache: Map<string, Tensor>[] = [];
  let cached = 0;
  let caching = true;
  for await (const feeds of data) {
    const out = await executor.run(feeds);
    for (const o of outputs) cached += (out.get(o)?.data.length ?? 0);
    if (cached > CACHE_LIMIT) {
      caching = false;
      cache.length = 0;
      break;
    }
    cache.push(out);
  }
  if (caching && cache.length === 0) {
    await executor.dispose();
    throw new Error("evaluation data contains no samples");
  }
  return {
    async batch(index: number, feeds: Feeds): Promise<Map<string, Tensor>> {
      return caching ? cache[index]! : executor.run(feeds);
    },
    async dispose() {
      await executor.dispose();
    },
  };
}
