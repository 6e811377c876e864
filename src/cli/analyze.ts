/**
 * `octet analyze model.onnx --calib <data> [--data <data>] [--labels l.npy] [--cle [--high-bias-absorption]] [--bias-correction]
 *   [--adaround] [--target-drop 0.5 | --target-sqnr 30] [--report r.html] [-o model.int8.onnx]`
 * `octet report model.onnx -o report.html --calib <data> [same options]`
 *
 * Both quantize the model (with the chosen weight-side algorithms), then measure where it loses
 * accuracy: graph-wise and layer-wise errors, the sensitivity ranking and, with a target, which
 * layers to keep in float. `analyze` prints it; `report` writes it as one HTML file.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { addDataOptions, dataSourceOptions, list, positiveInt, type DataCliOptions } from "../cli/options.js";
import { parseQuantDType } from "../quant/dtype.js";
import type { CalibrationMethod } from "../calibrate/calibrate.js";
import type { PresetName } from "../plan/preset.js";
import type { ClipPolicy } from "../optimize/cle_pairs.js";
import { analyzeFile, type AnalyzeFileOptions, type AnalyzeFileResult } from "../api/analyze_file.js";

interface AnalyzeCliOptions extends DataCliOptions {
  calib: string;
  data?: string;
  labels?: string;
  preset: PresetName;
  method: CalibrationMethod;
  percentile?: number;
  perChannel?: boolean;
  perTensor?: boolean;
  activationType?: string;
  weightType?: string;
  exclude?: string[];
  cle?: boolean;
  cleClip: ClipPolicy;
  highBiasAbsorption?: boolean;
  biasCorrection?: boolean;
  adaround?: boolean;
  adaroundIterations?: number;
  adaroundLambda?: number;
  adaroundRows?: number;
  targetDrop?: number;
  targetSqnr?: number;
  graphwise: boolean;
  layerwise: boolean;
  report?: string;
  output?: string;
  threads?: number;
  json?: boolean;
  force?: boolean;
  quiet?: boolean;
}

function nonNegative(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0, got "${v}"`);
    return n;
  };
}

function finite(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${v}"`);
    return n;
  };
}

/** The options `analyze` and `report` share. */
function addAnalysisOptions(cmd: Command): Command {
  cmd
    .requiredOption("--calib <data>", "calibration data: mnist | random | directory of .npy/.npz | directory of images")
    .option("--data <data>", "evaluation data (default: the calibration data)")
    .option("--labels <file>", ".npy of integer labels in evaluation-data order (MNIST brings its own)")
    .addOption(new Option("--preset <name>", "target").choices(["ort", "tensorrt", "tflite"]).default("ort"))
    .addOption(new Option("--method <name>", "calibration method").choices(["minmax", "moving-average", "entropy", "percentile", "mse"]).default("percentile"))
    .option("--percentile <p>", "percentile for --method percentile", finite("--percentile"))
    .option("--per-channel", "per-channel weights (default)")
    .option("--per-tensor", "per-tensor weights")
    .option("--activation-type <type>", "uint8 | int8 | int16 | uint16 | int4 | uint4")
    .option("--weight-type <type>", "int8 | uint8 | int4 | uint4 | int16")
    .option("--exclude <names>", "node names or op types to keep in float (comma-separated, repeatable)", list)
    .option("--cle", "cross-layer equalization before calibration")
    .addOption(new Option("--cle-clip <policy>", "Relu6/Clip between equalized layers").choices(["skip", "relu-if-unreached", "relu"]).default("skip"))
    .option("--high-bias-absorption", "after --cle, move each channel's calibrated minimum (when > 0) out of its layer's bias into the next layer's")
    .option("--bias-correction", "empirical bias correction")
    .option("--adaround", "AdaRound weight rounding")
    .option("--adaround-iterations <n>", "AdaRound steps per layer (default 1000)", positiveInt("--adaround-iterations"))
    .option("--adaround-lambda <λ>", "AdaRound regulariser weight (default 0.01)", nonNegative("--adaround-lambda"))
    .option("--adaround-rows <n>", "input rows sampled per layer (default 4096)", positiveInt("--adaround-rows"))
    .option("--target-drop <points>", "mixed precision: largest accuracy drop allowed, in points (needs labels)", nonNegative("--target-drop"))
    .option("--target-sqnr <dB>", "mixed precision: smallest output SQNR allowed, in dB", finite("--target-sqnr"))
    .option("--no-graphwise", "skip the graph-wise errors")
    .option("--no-layerwise", "skip the layer-wise errors (and the ranking)")
    .option("--threads <n>", "onnxruntime intra-op threads", positiveInt("--threads"))
    .option("-f, --force", "overwrite existing outputs")
    .option("-q, --quiet", "print only errors");
  return addDataOptions(cmd);
}

function fileOptions(o: AnalyzeCliOptions, report: string | undefined, output: string | undefined): AnalyzeFileOptions {
  if (o.perChannel && o.perTensor) throw new Error("--per-channel and --per-tensor exclude each other");
  if (o.targetDrop !== undefined && o.targetSqnr !== undefined) throw new Error("give one target: --target-drop or --target-sqnr");
  if (o.highBiasAbsorption && !o.cle) throw new Error("--high-bias-absorption runs after cross-layer equalization: add --cle");
  const adaround = {
    ...(o.adaroundIterations !== undefined ? { iterations: o.adaroundIterations } : {}),
    ...(o.adaroundLambda !== undefined ? { lambda: o.adaroundLambda } : {}),
    ...(o.adaroundRows !== undefined ? { maxRows: o.adaroundRows } : {}),
  };
  const log = (s: string) => !o.quiet && process.stderr.write(s + "\n");
  return {
    calib: o.calib,
    calibOptions: dataSourceOptions(o, "calibration data"),
    ...(o.data ? { data: o.data, dataOptions: dataSourceOptions(o, "evaluation data") } : {}),
    ...(o.labels ? { labels: o.labels } : {}),
    quantize: {
      preset: o.preset,
      method: o.method,
      ...(o.perTensor ? { perChannel: false } : o.perChannel ? { perChannel: true } : {}),
      ...(o.activationType ? { activationType: parseQuantDType(o.activationType) } : {}),
      ...(o.weightType ? { weightType: parseQuantDType(o.weightType) } : {}),
      ...(o.exclude ? { exclude: o.exclude } : {}),
      ...(o.percentile !== undefined ? { observer: { percentile: o.percentile } } : {}),
      ...(o.cle ? { cle: { clip: o.cleClip, ...(o.highBiasAbsorption ? { highBiasAbsorption: true } : {}) } } : {}),
      ...(o.biasCorrection ? { biasCorrection: true } : {}),
      ...(o.adaround ? { adaround: adaround } : {}),
    },
    ...(o.threads ? { threads: o.threads } : {}),
    graphwise: o.graphwise,
    layerwise: o.layerwise,
    ...(o.targetDrop !== undefined ? { targetDrop: o.targetDrop } : {}),
    ...(o.targetSqnr !== undefined ? { targetSqnr: o.targetSqnr } : {}),
    ...(report ? { report } : {}),
    ...(output ? { output } : {}),
    ...(o.force ? { force: true } : {}),
    log,
  };
}

const dB = (v: number) => (v === Infinity ? "∞" : Number.isFinite(v) ? v.toFixed(2) : "–");

function printResult(r: AnalyzeFileResult): void {
  const { analysis, pipeline } = r;
  for (const w of pipeline.warnings) process.stderr.write(`octet: warning: ${w}\n`);
  if (analysis.scores) console.log(`${analysis.scores.metric}: float ${analysis.scores.float.toFixed(3)}, quantized ${analysis.scores.quantized.toFixed(3)}`);
  const g = analysis.graphwise;
  if (g) {
    for (const o of g.outputs) console.log(`output ${o.output}: SQNR ${dB(o.sqnr)} dB, cosine ${o.cosine.toFixed(6)}, MSE ${o.mse.toPrecision(4)}`);
    console.log(`graph-wise (whole model quantized, ${g.samples} samples): tensor, producer, SQNR dB (own SQNR dB), cosine`);
    for (const t of g.tensors) console.log(`  ${t.tensor}  ${t.producer ?? "(input)"}  ${dB(t.sqnr)} (${dB(t.ownSqnr)})  ${t.cosine.toFixed(5)}`);
  }
  if (analysis.ranking) {
    console.log("layer-wise (one unit quantized at a time), most sensitive first: unit, ops, output SQNR dB, cosine");
    analysis.ranking.forEach((l, i) => console.log(`  ${i + 1}. ${l.unit}  ${l.opTypes.join("+")}  ${dB(l.sqnr)}  ${l.cosine.toFixed(5)}`));
  }
  const mp = analysis.mixedPrecision;
  if (mp) {
    const d = mp.decision;
    if (!d.met) console.log(`mixed precision: target ${mp.metric} ≥ ${d.threshold.toFixed(3)} not reached (best ${d.metric.toFixed(3)} with all candidates float)`);
    else if (!d.float.length) console.log(`mixed precision: the fully quantized model meets the target (${mp.metric} ${d.metric.toFixed(3)} ≥ ${d.threshold.toFixed(3)})`);
    else {
      console.log(`mixed precision: ${d.float.length} unit(s) kept in float → ${mp.metric} ${d.metric.toFixed(3)} ≥ ${d.threshold.toFixed(3)}`);
      for (const u of d.float) console.log(`  ${u}: ${d.reasons[u]}`);
      console.log(`  exclude: ${mp.exclude.join(",")}`);
    }
  }
}

/** The analysis as the JSON `octet analyze --json` prints (±Infinity as strings). */
export function analysisJson(r: AnalyzeFileResult): string {
  const { analysis, pipeline } = r;
  const out = {
    optimizations: pipeline.optimizations,
    scores: analysis.scores,
    graphwise: analysis.graphwise,
    ranking: analysis.ranking,
    mixedPrecision: analysis.mixedPrecision && { ...analysis.mixedPrecision.decision, exclude: analysis.mixedPrecision.exclude, metric: analysis.mixedPrecision.metric },
    warnings: pipeline.warnings,
  };
  return JSON.stringify(out, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v instanceof Float32Array ? Array.from(v) : v), 2);
}

export function registerAnalyze(program: Command): void {
  const cmd = program
    .command("analyze")
    .description("quantize a model and show where it loses accuracy: graph-wise and layer-wise errors, sensitivity, mixed precision")
    .argument("<model>", "float ONNX model")
    .option("--report <file>", "also write the HTML report")
    .option("-o, --output <path>", "write the quantized model (the mixed-precision choice with a target)")
    .option("--json", "print the result as JSON");
  addAnalysisOptions(cmd).action(async (model: string, o: AnalyzeCliOptions) => {
    const r = await analyzeFile(model, fileOptions(o, o.report, o.output));
    if (o.json) process.stdout.write(analysisJson(r) + "\n");
    else printResult(r);
  });
}

export function registerReport(program: Command): void {
  const cmd = program
    .command("report")
    .description("write a self-contained HTML quantization report: histograms and calibration ranges, weight ranges, per-layer SQNR, sensitivity, mixed precision")
    .argument("<model>", "float ONNX model")
    .requiredOption("-o, --output <file>", "the HTML file to write")
    .option("--save-model <path>", "also write the quantized model (the mixed-precision choice with a target)");
  addAnalysisOptions(cmd).action(async (model: string, o: AnalyzeCliOptions & { saveModel?: string }) => {
    if (!/\.html?$/i.test(o.output!)) throw new Error(`report output ${o.output} should end in .html`);
    await analyzeFile(model, fileOptions(o, o.output, o.saveModel));
  });
}
