/**
 * One calibration for every float tensor of a model (every node input and output that is not a
 * constant), so that any plan of it — with any nodes left in float — finds the range of each
 * tensor it quantizes. Mixed-precision search and layer-wise analysis build many plans of one
 * model; excluding a Conv can make its input or its former fused output a quantized tensor that
 * the full plan never observed.
 */
import { calibrate, type Calibration, type CalibrationMethod } from "../calibrate/calibrate.js";
import type { Feeds } from "../calibrate/executor.js";
import { withExtraOutputs } from "../calibrate/expose.js";
import type { Model } from "../graph/ir.js";
import type { ObserverOptions } from "../observe/index.js";
import type { ActivationPlan, QuantPlan } from "../plan/plan.js";
import type { TensorFormat } from "../plan/preset.js";
import type { Range } from "../plan/resolve.js";
import type { CreateExecutor } from "../optimize/capture.js";

export interface CalibrateAllOptions {
  method: CalibrationMethod;
  /** The activation format (observers use its bits and symmetry). */
  format: TensorFormat;
  createExecutor: CreateExecutor;
  observer?: Partial<ObserverOptions>;
}

/** Every non-constant float tensor a node reads or writes (graph inputs included). */
export function floatTensors(model: Model): string[] {
  const g = model.graph;
  const names: string[] = [];
  const seen = new Set<string>();
  const isFloat = (name: string) => {
    const vi = g.valueInfo.get(name) ?? g.inputs.find((v) => v.name === name) ?? g.outputs.find((v) => v.name === name);
    return vi ? vi.dtype === "float32" : true;
  };
  for (const n of g.nodes) {
    if (n.opType === "Shape" || n.opType === "Size") continue; // their outputs are integers
    for (const name of [...n.inputs, ...n.outputs]) {
      if (!name || seen.has(name) || g.initializers.has(name)) continue;
      seen.add(name);
      if (isFloat(name)) names.push(name);
    }
  }
  return names;
}

/**
 * The candidates that really are float32 when the model runs: a first batch with all of them
 * exposed tells (shape computations produce int64 tensors that no declared type may announce).
 */
export async function probeFloatTensors(model: Model, candidates: string[], data: AsyncIterable<Feeds>, createExecutor: CreateExecutor): Promise<string[]> {
  const inputs = new Set(model.graph.inputs.map((i) => i.name));
  const executor = await createExecutor(withExtraOutputs(model, candidates.filter((n) => !inputs.has(n))));
  try {
    for await (const feeds of data) {
      const out = await executor.run(feeds);
      return candidates.filter((n) => (inputs.has(n) ? feeds[n] : out.get(n))?.dtype === "float32");
    }
  } finally {
    await executor.dispose();
  }
  throw new Error("calibration data contains no samples");
}

export async function calibrateAllTensors(model: Model, data: AsyncIterable<Feeds>, options: CalibrateAllOptions): Promise<{ calibration: Calibration; ranges: Map<string, Range> }> {
  const activations = new Map<string, ActivationPlan>();
  const names = await probeFloatTensors(model, floatTensors(model), data, options.createExecutor);
  for (const name of names) activations.set(name, { name, format: options.format, source: { kind: "calibrated" }, constant: false });
  const everything: QuantPlan = { activations, weights: new Map(), biases: new Map(), quantizedNodes: [], floatNodes: [], fusions: [], scaleFolds: [] };
  const calibration = await calibrate(model, everything, data, {
    method: options.method,
    createExecutor: options.createExecutor,
    ...(options.observer ? { observer: options.observer } : {}),
  });
  return { calibration, ranges: rangesOf(calibration) };
}

/** Each observer's range, by tensor name. */
export function rangesOf(calibration: Calibration): Map<string, Range> {
  const ranges = new Map<string, Range>();
  for (const [name, o] of calibration.observers) ranges.set(name, o.range());
  return ranges;
}
