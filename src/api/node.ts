/**
 * The Node.js side of the library: models and data from files, onnxruntime-node for float
 * execution, outputs written atomically. The CLI is a thin layer over these functions.
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { calibrationFromJson, calibrationToJson, type Calibration } from "../calibrate/calibrate.js";
import { createOrtNodeExecutor } from "../calibrate/ort_node.js";
import { openDataSource, type DataSourceOptions } from "../data/source.js";
import { tensorRtCache } from "../export/tensorrt_cache.js";
import { loadModel, saveModel, writeFileAtomic } from "../onnx/files.js";
import { calibratedTensors } from "../calibrate/calibrate.js";
import type { Model } from "../graph/ir.js";
import { quantizeWithOptimizations, type OptimizedQuantizeOptions, type OptimizedQuantizeResult } from "./optimized_quantize.js";
import { quantizeModel, type QuantizeOptions, type QuantizeResult } from "./quantize.js";

export interface QuantizeFileOptions extends Omit<QuantizeOptions, "createExecutor" | "calibrations"> {
  /** Weight-adjusting algorithms (optimize/): cross-layer equalization, bias correction, AdaRound. */
  cle?: OptimizedQuantizeOptions["cle"];
  biasCorrection?: boolean;
  adaround?: OptimizedQuantizeOptions["adaround"];
  /** The `--calib` spec: "mnist", "random", a .npy/.npz or image directory. Optional with loadCalibration. */
  calib?: string;
  data?: DataSourceOptions;
  /** Calibration files to merge (written by saveCalibration). */
  loadCalibration?: string[];
  saveCalibration?: string;
  /** TensorRT calibration cache path (tensorrt preset). */
  tensorRtCache?: string;
  /** Overwrite existing outputs. */
  force?: boolean;
  threads?: number;
}

/** What quantizeFile returns, with or without the weight-adjusting algorithms. */
export type QuantizeFileResult = Pick<QuantizeResult, "model" | "plan" | "params" | "calibration" | "warnings"> & {
  optimizations?: OptimizedQuantizeResult["optimizations"];
};

export async function quantizeFile(input: string, output: string, options: QuantizeFileOptions): Promise<QuantizeFileResult> {
  checkOutputPath(input, output, options.force ?? false, "output model");
  if (options.saveCalibration) checkOutputPath(input, options.saveCalibration, options.force ?? false, "calibration file");
  if (options.tensorRtCache) checkOutputPath(input, options.tensorRtCache, options.force ?? false, "TensorRT cache");
  const model = loadModel(input);
  const calibrations: Calibration[] = (options.loadCalibration ?? []).map((path) => {
    if (!existsSync(path)) throw new Error(`calibration file ${path} does not exist`);
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      throw new Error(`calibration file ${path} is not valid JSON: ${(e as Error).message}`);
    }
    return calibrationFromJson(json, path);
  });
  const data = options.calib ? await openDataSource(options.calib, model.graph.inputs, options.data ?? {}) : undefined;
  const threads = options.threads ?? 1;
  const createExecutor = (m: Model) => createOrtNodeExecutor(m, { threads });
  let result: QuantizeFileResult;
  if (options.cle || options.biasCorrection || options.adaround) {
    if (!data) throw new Error("--cle, --bias-correction and --adaround need calibration data (--calib)");
    if (calibrations.length) throw new Error("--load-calib cannot be combined with --cle, --bias-correction or --adaround (they change the weights the calibration saw)");
    result = await quantizeWithOptimizations(model, data, { ...options, createExecutor });
  } else {
    result = await quantizeModel(model, data, { ...options, calibrations, createExecutor });
  }
  saveModel(result.model, output, { overwrite: options.force ?? false });
  if (options.saveCalibration) {
    writeFileAtomic(options.saveCalibration, JSON.stringify(calibrationToJson(result.calibration)), options.force ?? false);
  }
  if (options.tensorRtCache) {
    const names = [...calibratedTensors(result.plan), ...result.model.graph.inputs.map((i) => i.name)];
    writeFileAtomic(options.tensorRtCache, tensorRtCache(result.params, new Set(names), { method: result.calibration.method }), options.force ?? false);
  }
  return result;
}

/** Refuses to write into a missing directory, or over an existing file (the input included) without force. */
export function checkOutputPath(input: string, output: string, force: boolean, what: string): void {
  const dir = dirname(resolve(output));
  if (!existsSync(dir)) throw new Error(`${what}: directory ${dir} does not exist`);
  if (existsSync(output) && !force) {
    const isInput = existsSync(input) && realpathSync(output) === realpathSync(input);
    throw new Error(`${what} ${output} ${isInput ? "is the input model" : "already exists"} (use --force to overwrite)`);
  }
}
