/**
 * The QAT runs of the MNIST story: fine-tune a trained float model with fake quantization
 * (src/train/qat), export the QDQ model, and measure it in onnxruntime-node next to the
 * simulation's own accuracy.
 */
import { existsSync } from "node:fs";
import { loadModel, saveModel } from "../../src/onnx/files.js";
import type { QuantDType } from "../../src/quant/dtype.js";
import { qat, type QatOptions } from "../../src/train/qat/qat.js";
import { ortAccuracy } from "./evaluate.js";
import { mnistSet } from "./train_model.js";

export interface QatRun {
  name: string;
  /** Float model to start from. */
  model: string;
  output: string;
  weightType: QuantDType;
  activationType: QuantDType;
  perChannel: boolean;
  lsq: boolean;
  epochs: number;
  lr: number;
  /** Extra options (freeze points, batch size, ...). */
  extra?: Partial<QatOptions>;
}

export interface QatRunResult {
  run: QatRun;
  command: string;
  simulatedAccuracy: number;
  ortAccuracy: number;
  optimization: "all" | "basic";
  minutes: number;
  history: { epoch: number; meanLoss: number; simulatedAccuracy?: number }[];
}

/** The `octet qat` command line equivalent to a run. */
export function qatCommand(r: QatRun): string {
  const parts = ["octet qat", r.model, "-o", r.output, "--data mnist", `--epochs ${r.epochs}`, `--lr ${r.lr}`];
  if (r.weightType !== "int8") parts.push(`--weight-type ${r.weightType}`);
  if (r.activationType !== "uint8") parts.push(`--activation-type ${r.activationType}`);
  if (!r.perChannel) parts.push("--per-tensor");
  if (r.lsq) parts.push("--lsq");
  if (r.extra?.freezeBatchNorm !== undefined) parts.push(`--freeze-bn ${r.extra.freezeBatchNorm}`);
  if (r.extra?.freezeRanges !== undefined) parts.push(`--freeze-ranges ${r.extra.freezeRanges}`);
  if (r.extra?.batchSize !== undefined) parts.push(`--batch-size ${r.extra.batchSize}`);
  return parts.join(" ");
}

export async function runQat(r: QatRun, log: (s: string) => void = console.log): Promise<QatRunResult> {
  if (!existsSync(r.model)) throw new Error(`QAT run ${r.name}: ${r.model} does not exist (train it first)`);
  const train = mnistSet("train");
  const test = mnistSet("test");
  const started = performance.now();
  log(`QAT ${r.name}: ${qatCommand(r)}`);
  const result = await qat(loadModel(r.model), { train, test }, {
    weightType: r.weightType, activationType: r.activationType, perChannel: r.perChannel, lsq: r.lsq, epochs: r.epochs, lr: r.lr,
    ...r.extra,
    onStep: (step, loss) => { if (step % 200 === 0) log(`  step ${step}: loss ${loss.toFixed(4)} (${((performance.now() - started) / 60000).toFixed(1)} min)`); },
    onEpoch: (e) => log(`  epoch ${e.epoch}: mean loss ${e.meanLoss.toFixed(4)}, simulated accuracy ${(100 * (e.simulatedAccuracy ?? NaN)).toFixed(2)}%`),
  });
  for (const w of result.warnings) log(`  warning: ${w}`);
  saveModel(result.model, r.output, { overwrite: true });
  const measured = await ortAccuracy(r.output, test);
  const minutes = (performance.now() - started) / 60000;
  log(`  ${r.name}: onnxruntime ${(100 * measured.accuracy).toFixed(2)}% (${measured.optimization} optimizations), simulation ${(100 * result.simulatedAccuracy!).toFixed(2)}%, ${minutes.toFixed(1)} min`);
  return {
    run: r, command: qatCommand(r), simulatedAccuracy: result.simulatedAccuracy!, ortAccuracy: measured.accuracy,
    optimization: measured.optimization, minutes, history: result.history,
  };
}
