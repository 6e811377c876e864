/** `octet quantize model.onnx -o model.int8.onnx --calib <data> [options]` */
import { Command, Option } from "commander";
import { SingleBar, Presets } from "cli-progress";
import { quantizeFile } from "../api/node.js";
import { parseQuantDType } from "../quant/dtype.js";
import { describeHighBiasAbsorption } from "../optimize/high_bias.js";
import { addDataOptions, dataSourceOptions, list, type DataCliOptions } from "./options.js";

interface QuantizeCliOptions extends DataCliOptions {
  output: string;
  calib?: string;
  preset: "ort" | "tensorrt" | "tflite";
  method: "minmax" | "moving-average" | "entropy" | "percentile" | "mse";
  percentile?: number;
  perChannel?: boolean;
  activationType?: string;
  weightType?: string;
  exclude?: string[];
  saveCalib?: string;
  loadCalib?: string[];
  trtCache?: string;
  force?: boolean;
  threads?: number;
  quiet?: boolean;
  cle?: boolean;
  cleClip: "skip" | "relu-if-unreached" | "relu";
  highBiasAbsorption?: boolean;
  biasCorrection?: boolean;
  adaround?: boolean;
  adaroundIterations?: number;
}

export function registerQuantize(program: Command): void {
  const cmd = program
    .command("quantize")
    .description("post-training quantization of a float ONNX model to a QDQ ONNX model")
    .argument("<model>", "float ONNX model")
    .requiredOption("-o, --output <path>", "where to write the quantized model")
    .option("--calib <data>", "calibration data: mnist | random | directory of .npy/.npz | directory of images")
    .addOption(new Option("--preset <name>", "target").choices(["ort", "tensorrt", "tflite"]).default("ort"))
    .addOption(new Option("--method <name>", "calibration method").choices(["minmax", "moving-average", "entropy", "percentile", "mse"]).default("percentile"))
    .option("--percentile <p>", "percentile for --method percentile (default 99.99)", (v) => Number(v))
    .option("--per-channel", "per-channel weights (default)")
    .option("--per-tensor", "per-tensor weights")
    .option("--activation-type <type>", "uint8 | int8 | int16 | uint16 | int4 | uint4")
    .option("--weight-type <type>", "int8 | uint8 | int4 | uint4 | int16")
    .option("--exclude <names>", "node names or op types to keep in float (comma-separated, repeatable)", list)
    .option("--save-calib <file>", "save the calibration state (JSON) to merge later")
    .option("--load-calib <files>", "merge saved calibration states (comma-separated, repeatable)", list)
    .option("--trt-cache <file>", "write a TensorRT calibration cache (default beside the output for --preset tensorrt)")
    .option("--threads <n>", "onnxruntime intra-op threads for calibration", (v) => Number(v))
    .option("--cle", "cross-layer equalization before calibration (Nagel et al. 2019)")
    .addOption(new Option("--cle-clip <policy>", "Relu6/Clip between equalized layers: skip the pair, turn the Clip into Relu where calibration never reaches its bound, or always").choices(["skip", "relu-if-unreached", "relu"]).default("skip"))
    .option("--high-bias-absorption", "after --cle, move each channel's calibrated minimum (when > 0) out of its layer's bias into the next layer's (Nagel et al. 2019 §4.1.2)")
    .option("--bias-correction", "empirical bias correction of quantized Conv/Gemm (Nagel et al. 2019)")
    .option("--adaround", "learn weight rounding per layer (Nagel et al. 2020)")
    .option("--adaround-iterations <n>", "AdaRound iterations per layer", (v) => Number(v))
    .option("-f, --force", "overwrite existing outputs")
    .option("-q, --quiet", "print only errors");
  addDataOptions(cmd).action(async (model: string, o: QuantizeCliOptions & { perTensor?: boolean }) => {
    if (!o.calib && !o.loadCalib?.length) throw new Error("give calibration data with --calib (or saved calibrations with --load-calib)");
    if (o.perChannel && o.perTensor) throw new Error("--per-channel and --per-tensor exclude each other");
    if (o.highBiasAbsorption && !o.cle) throw new Error("--high-bias-absorption runs after cross-layer equalization: add --cle");
    const log = (s: string) => !o.quiet && process.stderr.write(s + "\n");
    const bar = process.stderr.isTTY && !o.quiet ? new SingleBar({ format: "calibrating |{bar}| {value} samples", clearOnComplete: true }, Presets.shades_classic) : undefined;
    bar?.start(o.samples ?? 0, 0);
    const trtCache = o.trtCache ?? (o.preset === "tensorrt" ? o.output.replace(/\.onnx$/i, "") + ".cache" : undefined);
    const start = performance.now();
    const result = await quantizeFile(model, o.output, {
      preset: o.preset,
      method: o.method,
      ...(o.perTensor ? { perChannel: false } : o.perChannel ? { perChannel: true } : {}),
      ...(o.activationType ? { activationType: parseQuantDType(o.activationType) } : {}),
      ...(o.weightType ? { weightType: parseQuantDType(o.weightType) } : {}),
      ...(o.exclude ? { exclude: o.exclude } : {}),
      ...(o.percentile !== undefined ? { observer: { percentile: o.percentile } } : {}),
      ...(o.calib ? { calib: o.calib } : {}),
      data: dataSourceOptions(o, "calibration data"),
      ...(o.loadCalib ? { loadCalibration: o.loadCalib } : {}),
      ...(o.saveCalib ? { saveCalibration: o.saveCalib } : {}),
      ...(trtCache ? { tensorRtCache: trtCache } : {}),
      ...(o.force ? { force: true } : {}),
      ...(o.threads ? { threads: o.threads } : {}),
      ...(o.cle ? { cle: { clip: o.cleClip, ...(o.highBiasAbsorption ? { highBiasAbsorption: true } : {}) } } : {}),
      ...(o.biasCorrection ? { biasCorrection: true } : {}),
      ...(o.adaround ? { adaround: o.adaroundIterations ? { iterations: o.adaroundIterations } : true } : {}),
      onBatch: (n) => {
        if (bar && n > bar.getTotal()) bar.setTotal(n);
        bar?.update(n);
      },
    });
    bar?.stop();
    for (const w of result.warnings) process.stderr.write(`octet: warning: ${w}\n`);
    const opt = result.optimizations;
    if (opt?.cle) {
      const c = opt.cle;
      log(`cross-layer equalization: ${c.pairs.length} pair${c.pairs.length === 1 ? "" : "s"} equalized in ${c.sweeps} sweep${c.sweeps === 1 ? "" : "s"}${c.converged ? "" : " (not converged)"}, ${c.skipped.length} skipped${c.clipsReplaced.length ? `, Clip → Relu: ${c.clipsReplaced.join(", ")}` : ""}`);
      for (const p of c.pairs) log(`  pair ${p.first}, ${p.second}: ${p.channelsScaled} channels scaled`);
    }
    if (opt?.highBiasAbsorption) {
      const [summary, ...details] = describeHighBiasAbsorption(opt.highBiasAbsorption);
      log(`high-bias absorption: ${summary}`);
      for (const line of details) log(`  ${line}`);
    }
    if (opt?.biasCorrection) log(`bias correction: ${JSON.stringify(summary(opt.biasCorrection))}`);
    if (opt?.adaround) log(`AdaRound: ${JSON.stringify(summary(opt.adaround))}`);
    const p = result.plan;
    log(`quantized ${p.quantizedNodes.length} nodes (${p.weights.size} weights, ${p.activations.size} activations) with ${result.calibration.method} over ${result.calibration.samples} samples in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    // Shape arithmetic (Shape, Cast, integer Slice/Concat) is not float data: count it, don't list it.
    const floatData = p.floatNodes.filter((f) => !/not float32|input is not quantized|integer\/shape/.test(f.reason));
    const byOp = new Map<string, number>();
    for (const f of floatData) byOp.set(`${f.opType} (${f.reason})`, (byOp.get(`${f.opType} (${f.reason})`) ?? 0) + 1);
    if (byOp.size) log(`left in float: ${[...byOp].map(([k, v]) => `${v}× ${k}`).join("; ")}`);
    if (p.floatNodes.length > floatData.length) log(`${p.floatNodes.length - floatData.length} shape/integer or unquantized data-movement nodes left as they are`);
    log(`wrote ${o.output}${trtCache ? ` and ${trtCache}` : ""}`);
  });
}

/** The scalar fields of an optimization report (counts, totals), for one log line. */
function summary(report: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(report).filter(([, v]) => typeof v !== "object"));
}
