/**
 * The calibration loop: runs the float model batch by batch, hands every activation the plan
 * needs to its observer, and drops it. Memory is one batch's activations plus the observers'
 * fixed-size state, whatever the number of samples (ONNX Runtime's Python calibrator instead
 * keeps every activation of every sample).
 */
import type { Model } from "../graph/ir.js";
import { createObserver, observerFromState, type Observer, type ObserverOptions } from "../observe/index.js";
import type { QuantPlan } from "../plan/plan.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Executor, Feeds } from "./executor.js";
import { withExtraOutputs } from "./expose.js";

export type CalibrationMethod = "minmax" | "moving-average" | "percentile" | "entropy" | "mse";

export interface CalibrationOptions {
  method: CalibrationMethod;
  observer?: Partial<ObserverOptions>;
  /** Builds the executor for the model with the observed tensors exposed as outputs. */
  createExecutor: (model: Model) => Promise<Executor>;
  /** Called after each batch with the number of samples seen so far. */
  onBatch?: (samples: number) => void;
  /** Checks a batch before it runs (names, shapes, finite values); throws to stop. */
  validate?: (feeds: Feeds, index: number) => void;
}

/** Observers by tensor name: the whole state of a calibration, serialisable and mergeable. */
export interface Calibration {
  method: CalibrationMethod;
  samples: number;
  observers: Map<string, Observer>;
}

/** The tensors whose ranges must be calibrated from data. */
export function calibratedTensors(plan: QuantPlan): string[] {
  return [...plan.activations.values()].filter((a) => a.source.kind === "calibrated" && !a.constant).map((a) => a.name);
}

export async function calibrate(model: Model, plan: QuantPlan, data: AsyncIterable<Feeds>, options: CalibrationOptions): Promise<Calibration> {
  const names = calibratedTensors(plan);
  const observers = new Map<string, Observer>();
  for (const name of names) {
    const format = plan.activations.get(name)!.format;
    observers.set(name, createObserver(options.method, { ...options.observer, symmetric: format.symmetric, bits: bitsOf(format.dtype) }));
  }
  const inputNames = new Set(model.graph.inputs.map((i) => i.name));
  const executor = await options.createExecutor(withExtraOutputs(model, names.filter((n) => !inputNames.has(n))));
  let samples = 0;
  let batches = 0;
  try {
    for await (const feeds of data) {
      options.validate?.(feeds, batches);
      const outputs = await executor.run(feeds);
      for (const [name, observer] of observers) {
        const t: Tensor | undefined = inputNames.has(name) ? feeds[name] : outputs.get(name);
        if (!t) throw new Error(`calibration: tensor ${name} was not produced by the model`);
        observe(observer, name, t);
      }
      batches++;
      samples += batchSize(feeds);
      options.onBatch?.(samples);
    }
  } finally {
    await executor.dispose();
  }
  if (batches === 0) throw new Error("calibration data contains no samples");
  return { method: options.method, samples, observers };
}

function observe(observer: Observer, name: string, t: Tensor) {
  if (t.dtype !== "float32") throw new Error(`calibration: tensor ${name} is ${t.dtype}, not float32`);
  try {
    observer.update(t.data as Float32Array);
  } catch (e) {
    throw new Error(`calibration of tensor ${name}: ${(e as Error).message}`);
  }
}

function batchSize(feeds: Feeds): number {
  const first = Object.values(feeds)[0];
  return first && first.dims.length ? first.dims[0]! : 1;
}

function bitsOf(dtype: string): number {
  return dtype.endsWith("4") ? 4 : dtype.endsWith("16") ? 16 : 8;
}

/** JSON form of a calibration, for --save-calib. */
export interface CalibrationFile {
  format: "octet-calibration";
  version: 1;
  method: CalibrationMethod;
  samples: number;
  observers: Record<string, unknown>;
}

export function calibrationToJson(c: Calibration): CalibrationFile {
  const observers: Record<string, unknown> = {};
  for (const [name, o] of c.observers) observers[name] = o.state();
  return { format: "octet-calibration", version: 1, method: c.method, samples: c.samples, observers };
}

export function calibrationFromJson(json: unknown, source: string): Calibration {
  const f = json as Partial<CalibrationFile>;
  if (!f || f.format !== "octet-calibration" || f.version !== 1 || typeof f.observers !== "object" || f.observers === null) {
    throw new Error(`${source} is not an octet calibration file`);
  }
  const observers = new Map<string, Observer>();
  for (const [name, state] of Object.entries(f.observers)) observers.set(name, observerFromState(state as never));
  return { method: f.method!, samples: f.samples ?? 0, observers };
}

/** Merges calibrations of the same model and method (e.g. computed in separate processes). */
export function mergeCalibrations(parts: Calibration[]): Calibration {
  const [first, ...rest] = parts;
  if (!first) throw new Error("no calibrations to merge");
  const merged: Calibration = { method: first.method, samples: first.samples, observers: new Map() };
  for (const [name, o] of first.observers) merged.observers.set(name, observerFromState(o.state()));
  for (const part of rest) {
    if (part.method !== first.method) throw new Error(`cannot merge ${part.method} calibration into ${first.method}`);
    for (const [name, o] of part.observers) {
      const target = merged.observers.get(name);
      if (target) target.merge(o);
      else merged.observers.set(name, observerFromState(o.state()));
    }
    merged.samples += part.samples;
  }
  return merged;
}
