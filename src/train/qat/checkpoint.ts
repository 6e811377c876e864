/**
 * QAT checkpoints: the fine-tuned float model as ONNX (BatchNorm with its running statistics, so
 * any ONNX tool can read it) with the quantization state in the model's metadata under
 * "octet.qat": formats, EMA ranges, learned steps, whether BatchNorm is frozen, epoch and step.
 * Giving such a file to `qat` again continues from that state (the learning-rate schedule starts
 * over). Written through onnx/files.saveModel: a temporary file renamed over the target, so a crash
 * never leaves a partial checkpoint.
 */
import type { Model } from "../../graph/ir.js";
import { saveModel } from "../../onnx/files.js";
import type { Preset } from "../../plan/preset.js";
import type { QatModel } from "./qat_model.js";
import type { RangeState } from "./range_tracker.js";

export const QAT_METADATA_KEY = "octet.qat";

export interface QatState {
  format: 1;
  formats: { activation: Preset["activation"]; weight: Preset["weight"] };
  ranges: Record<string, RangeState>;
  activationSteps?: Record<string, number[]>;
  weightSteps?: Record<string, number[]>;
  batchNormFrozen: boolean;
  epoch: number;
  step: number;
}

export function qatState(q: QatModel, progress: { epoch: number; step: number }): QatState {
  const ranges: Record<string, RangeState> = {};
  for (const [name, t] of q.trackers) if (t.hasRange) ranges[name] = t.state();
  const steps = (m: QatModel["activationSteps"]) => Object.fromEntries([...m].map(([k, v]) => [k, Array.from(v.step.data)]));
  return {
    format: 1,
    formats: { activation: q.preset.activation, weight: q.preset.weight },
    ranges,
    ...(q.activationSteps.size ? { activationSteps: steps(q.activationSteps) } : {}),
    ...(q.weightSteps.size ? { weightSteps: steps(q.weightSteps) } : {}),
    batchNormFrozen: q.batchNormFrozen,
    ...progress,
  };
}

export function qatCheckpointModel(q: QatModel, progress: { epoch: number; step: number }): Model {
  const model = q.net.toModel();
  model.metadata.set(QAT_METADATA_KEY, JSON.stringify(qatState(q, progress)));
  return model;
}

export function writeQatCheckpoint(path: string, q: QatModel, progress: { epoch: number; step: number }): void {
  saveModel(qatCheckpointModel(q, progress), path, { overwrite: true });
}

/** The QAT state a model carries, or undefined for a plain float model. */
export function readQatState(model: Model): QatState | undefined {
  const text = model.metadata.get(QAT_METADATA_KEY);
  if (text === undefined) return undefined;
  let s: QatState;
  try {
    s = JSON.parse(text) as QatState;
  } catch (e) {
    throw new Error(`the model's ${QAT_METADATA_KEY} metadata is not valid JSON: ${(e as Error).message}`);
  }
  if (s.format !== 1 || typeof s.ranges !== "object" || !s.formats) throw new Error(`the model's ${QAT_METADATA_KEY} metadata is not a QAT state this octet reads`);
  return s;
}
