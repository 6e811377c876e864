/**
 * QAT → the same QDQ ONNX as PTQ. The learned ranges take the place of calibration: the trained
 * model is folded (BatchNorm into Conv/Gemm, the float32 steps training used), prepared and planned
 * exactly as PTQ does, the ranges resolve to params through plan/resolve, and export/qdq writes the
 * model. Learned weight steps (LSQ) then replace the weights' min/max scales: the stored integers,
 * the weight scales and the int32 biases (scale input_scale·weight_scale) are rewritten from them.
 *
 * Layering note: this file joins train/ to export/ (it is the QAT counterpart of api/quantize).
 */
import { producers, type Model, type Node } from "../../graph/ir.js";
import { exportQdq } from "../../export/qdq.js";
import { planQuantization, type QuantPlan } from "../../plan/plan.js";
import { resolveActivationParams } from "../../plan/resolve.js";
import { quantizeBias } from "../../quant/bias.js";
import type { QParams } from "../../quant/qparams.js";
import { arrayTypeOf, toFloat32, type DType, type Tensor } from "../../tensor/tensor.js";
import { QAT_METADATA_KEY } from "./checkpoint.js";
import { lsqIntegerCodes } from "./lsq.js";
import { planningModel, type LearnedStep, type QatModel } from "./qat_model.js";

export interface QatExport {
  /** The QDQ model. */
  model: Model;
  /** The fine-tuned float model, BatchNorm still separate (for comparison or further training). */
  float: Model;
  /** The prepared float model (BatchNorm folded) the QDQ model was made from. */
  prepared: Model;
  plan: QuantPlan;
  /** Params of every quantized tensor, by name in the prepared model. */
  params: Map<string, QParams>;
  warnings: string[];
}

export function exportQat(q: QatModel): QatExport {
  const prepared = planningModel(q.net, q.pairs);
  // A checkpoint's training state does not belong in the exported models.
  prepared.metadata.delete(QAT_METADATA_KEY);
  const plan = planQuantization(prepared.graph, { preset: q.preset, exclude: q.options.exclude ?? [] });
  const trainedWith = [...q.plan.activations.keys()].join("\n") + "|" + [...q.plan.weights.keys()].join("\n");
  const exportWith = [...plan.activations.keys()].join("\n") + "|" + [...plan.weights.keys()].join("\n");
  if (trainedWith !== exportWith) throw new Error("the quantization plan of the trained model differs from the one training simulated");
  const ranges = q.ranges();
  for (const [name, a] of plan.activations) {
    if (a.source.kind === "calibrated" && !a.constant && !ranges.has(name)) throw new Error(`activation ${name} has no learned range (train or calibrate before exporting)`);
  }
  const activationParams = resolveActivationParams(prepared.graph, plan, ranges, q.preset);
  const exported = exportQdq(prepared, plan, activationParams);
  const warnings = [...exported.warnings];
  let model = exported.model;
  if (q.weightSteps.size) model = withLearnedWeightSteps(model, prepared, plan, exported.params, q.weightSteps);
  const float = q.net.toModel();
  float.metadata.delete(QAT_METADATA_KEY);
  return { model, float, prepared, plan, params: exported.params, warnings };
}

/**
 * Rewrites the exported weights (and their biases) with learned steps. `params` is updated in
 * place. The exporter's layout is: node input 1 ← DequantizeLinear(q, scale, zero point), node
 * input 2 ← DequantizeLinear(int32 bias, scale, 0).
 */
function withLearnedWeightSteps(qdq: Model, prepared: Model, plan: QuantPlan, params: Map<string, QParams>, steps: Map<string, LearnedStep>): Model {
  const g = qdq.graph;
  const made = producers(g);
  const byName = new Map(g.nodes.map((n) => [n.name, n]));
  const dequantizerOf = (node: Node, index: number, what: string): Node => {
    const dq = made.get(node.inputs[index] ?? "");
    if (!dq || dq.opType !== "DequantizeLinear") throw new Error(`exported ${node.name} does not read its ${what} through a DequantizeLinear`);
    return dq;
  };
  const replace = (name: string, t: Tensor) => {
    const old = g.initializers.get(name);
    if (!old) throw new Error(`exported initializer ${name} is missing`);
    const Ctor = arrayTypeOf(old.dtype as DType) as unknown as { from(v: ArrayLike<number>): Tensor["data"] };
    g.initializers.set(name, { dtype: old.dtype, dims: [...old.dims], data: old.dtype === "float32" ? Float32Array.from(t.data as Float32Array) : Ctor.from(t.data as ArrayLike<number>) });
    if ((g.initializers.get(name)!.data as ArrayLike<number>).length !== (old.data as ArrayLike<number>).length) throw new Error(`learned values for ${name} have the wrong size`);
  };
  for (const [weightName, learned] of steps) {
    const w = plan.weights.get(weightName);
    const node = w && byName.get(w.node);
    if (!w || !node) throw new Error(`learned weight step for ${weightName}, which the export does not quantize`);
    const float = toFloat32(prepared.graph.initializers.get(weightName)!);
    const dims = prepared.graph.initializers.get(weightName)!.dims;
    const s = learned.step.data;
    const codes = lsqIntegerCodes(float, dims, s, { dtype: learned.dtype, zeroPoint: learned.zeroPoint, narrow: w.format.narrow, ...(learned.axis !== undefined ? { axis: learned.axis } : {}) });
    const dq = dequantizerOf(node, 1, "weight");
    const exportedParams = params.get(weightName)!;
    if (!exportedParams.zeroPoint.every((z, i) => z === learned.zeroPoint[i])) throw new Error(`weight ${weightName}: learned zero points differ from the exported ones`);
    replace(dq.inputs[0]!, { dtype: "int32", dims: [...dims], data: codes });
    replace(dq.inputs[1]!, { dtype: "float32", dims: [s.length], data: s });
    const weightParams: QParams = { ...exportedParams, scale: Float32Array.from(s) };
    params.set(weightName, weightParams);

    const bias = [...plan.biases.values()].find((b) => b.node === w.node && b.weight === weightName);
    const input = bias && params.get(bias.input);
    if (!bias || !input) continue;
    const qb = quantizeBias(toFloat32(prepared.graph.initializers.get(bias.name)!), input.scale[0]!, weightParams.scale);
    if (qb.saturatedChannels.length) throw new Error(`bias ${bias.name}: channels ${qb.saturatedChannels.join(", ")} overflow int32 with the learned weight steps`);
    const bdq = dequantizerOf(node, 2, "bias");
    replace(bdq.inputs[0]!, { dtype: "int32", dims: [qb.values.length], data: qb.values });
    replace(bdq.inputs[1]!, { dtype: "float32", dims: [qb.scale.length], data: qb.scale });
  }
  return qdq;
}
