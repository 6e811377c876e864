/**
 * The Node.js side of analysis: a model file and data specs in, the optimized quantization, the
 * analysis and (optionally) the HTML report and the quantized model out. `octet analyze` and
 * `octet report` are thin layers over analyzeFile.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { calibrate, type Calibration } from "../calibrate/calibrate.js";
import type { Feeds } from "../calibrate/executor.js";
import { createOrtNodeExecutor } from "../calibrate/ort_node.js";
import type { CreateExecutor } from "../optimize/capture.js";
import { loadMnist } from "../data/mnist.js";
import { readNpy } from "../data/npy.js";
import { openDataSource, type DataSourceOptions } from "../data/source.js";
import type { Model } from "../graph/ir.js";
import { loadModel, saveModel, writeFileAtomic } from "../onnx/files.js";
import { checkOutputPath } from "./node.js";
import { toNumbers } from "../tensor/tensor.js";
import { analyzeQuantization, type AnalysisResult } from "../analyze/analysis.js";
import { floatReference } from "../analyze/quantized_model.js";
import { accuracyEvaluator, outputSqnrEvaluator, type Evaluator } from "../analyze/evaluators.js";
import { quantizeWithOptimizations, type OptimizedQuantizeOptions, type OptimizedQuantizeResult } from "./optimized_quantize.js";
import { collectReportData, type ReportData } from "../analyze/report_data.js";
import { renderReport } from "../analyze/report_html.js";

/** The minified plotly.js basic bundle shipped by the npm package plotly.js-basic-dist-min. */
export function plotlySource(): string {
  const require = createRequire(import.meta.url);
  return readFileSync(require.resolve("plotly.js-basic-dist-min"), "utf8");
}

export interface AnalyzeFileOptions {
  /** Calibration data spec (as for `octet quantize --calib`). */
  calib: string;
  calibOptions?: DataSourceOptions;
  /** Evaluation data spec; default the calibration data. */
  data?: string;
  dataOptions?: DataSourceOptions;
  /** .npy of integer labels in evaluation-data order (MNIST specs bring their own). */
  labels?: string;
  quantize?: Omit<OptimizedQuantizeOptions, "createExecutor" | "log">;
  threads?: number;
  graphwise?: boolean;
  layerwise?: boolean;
  /** Mixed precision: allowed accuracy drop in points (needs labels). */
  targetDrop?: number;
  /** Mixed precision: minimum output SQNR in dB (works without labels). */
  targetSqnr?: number;
  /** Write the HTML report here. */
  report?: string;
  /** Write the quantized model here (the mixed-precision choice when a target is given). */
  output?: string;
  force?: boolean;
  log?: (message: string) => void;
}

export interface AnalyzeFileResult {
  pipeline: OptimizedQuantizeResult;
  analysis: AnalysisResult;
  report?: ReportData;
  /** The model written to `output`. */
  model: Model;
}

export async function analyzeFile(modelPath: string, options: AnalyzeFileOptions): Promise<AnalyzeFileResult> {
  const force = options.force ?? false;
  if (options.report) checkOutputPath(modelPath, options.report, force, "report");
  if (options.output) checkOutputPath(modelPath, options.output, force, "output model");
  if (options.targetDrop !== undefined && options.targetSqnr !== undefined) throw new Error("give one target: --target-drop or --target-sqnr");
  const log = options.log ?? (() => {});
  const model = loadModel(modelPath);
  const createExecutor = (m: Model) => createOrtNodeExecutor(m, { threads: options.threads ?? 1 });
  const calib = await openDataSource(options.calib, model.graph.inputs, options.calibOptions ?? {});
  const evalSpec = options.data ?? options.calib;
  const evalData = options.data ? await openDataSource(options.data, model.graph.inputs, options.dataOptions ?? { label: "evaluation data" }) : calib;
  const labels = await labelsFor(evalSpec, options.labels);
  if (options.targetDrop !== undefined && !labels) {
    throw new Error(`--target-drop needs labels (--labels file.npy, or MNIST data); without them use --target-sqnr`);
  }

  const pipeline = await quantizeWithOptimizations(model, calib, { ...(options.quantize ?? {}), createExecutor, log });
  let evaluator: Evaluator | undefined;
  if (labels) evaluator = accuracyEvaluator(evalData, labels, { createExecutor });
  else if (options.targetSqnr !== undefined) evaluator = outputSqnrEvaluator(floatReference(pipeline.setup), evalData, { createExecutor });
  const target = options.targetDrop !== undefined ? { maxDrop: options.targetDrop } : options.targetSqnr !== undefined ? { minMetric: options.targetSqnr } : undefined;
  const analysis = await analyzeQuantization(pipeline.setup, evalData, {
    createExecutor, log,
    ...(options.graphwise !== undefined ? { graphwise: options.graphwise } : {}),
    ...(options.layerwise !== undefined ? { layerwise: options.layerwise } : {}),
    ...(evaluator ? { evaluator } : {}),
    ...(evaluator && target ? { mixedPrecision: { evaluator, target } } : {}),
  });

  let report: ReportData | undefined;
  if (options.report) {
    const histograms = await histogramCalibration(pipeline, calib, createExecutor);
    report = collectReportData({
      title: `Quantization report: ${modelPath}`,
      pipeline, analysis, histograms,
      summary: [
        ["model", modelPath],
        ["preset", pipeline.setup.preset.name],
        ["formats", `weights ${pipeline.setup.preset.weight.dtype}${pipeline.setup.preset.weight.perChannel ? " per channel" : " per tensor"}, activations ${pipeline.setup.preset.activation.dtype}`],
        ["evaluation data", evalSpec],
      ],
    });
    writeFileAtomic(options.report, renderReport(report, plotlySource()), force);
    log(`wrote ${options.report}`);
  }
  const chosen = analysis.mixedPrecision?.built.model ?? pipeline.model;
  if (options.output) {
    saveModel(chosen, options.output, { overwrite: force });
    log(`wrote ${options.output}`);
  }
  return { pipeline, analysis, ...(report ? { report } : {}), model: chosen };
}

async function labelsFor(spec: string, labelsPath: string | undefined): Promise<ArrayLike<number> | undefined> {
  if (labelsPath) return toNumbers(await readNpy(labelsPath));
  const mnist = /^mnist(?::(train|test))?$/.exec(spec);
  if (mnist) return loadMnist((mnist[1] ?? "train") as "train" | "test").labels;
  return undefined;
}

/**
 * A calibration whose observers hold histograms, for the report's activation plots: the
 * pipeline's own when its method records them, else one extra pass with percentile observers
 * over the plan's calibrated tensors.
 */
async function histogramCalibration(pipeline: OptimizedQuantizeResult, data: AsyncIterable<Feeds>, createExecutor: CreateExecutor): Promise<Calibration> {
  if (["percentile", "entropy", "mse"].includes(pipeline.calibration.method)) return pipeline.calibration;
  return calibrate(pipeline.setup.model, pipeline.plan, data, { method: "percentile", createExecutor });
}
