/** `octet compare float.onnx quant.onnx --data <data> [--labels labels.npy]` */
import type { Command } from "commander";
import { compareModels } from "../api/compare.js";
import { loadMnist } from "../data/mnist.js";
import { readNpy } from "../data/npy.js";
import { openDataSource } from "../data/source.js";
import { loadModel } from "../onnx/files.js";
import { toNumbers } from "../tensor/tensor.js";
import { addDataOptions, dataSourceOptions, type DataCliOptions } from "./options.js";

export function registerCompare(program: Command): void {
  const cmd = program
    .command("compare")
    .description("compare a float and a quantized model on data: SQNR, cosine, max error, top-1, size, latency")
    .argument("<float>", "reference model")
    .argument("<quantized>", "quantized model")
    .requiredOption("--data <data>", "evaluation data (same forms as --calib; mnist:test has labels built in)")
    .option("--labels <file>", ".npy of integer labels in data order")
    .option("--runs <n>", "timed runs per model", (v) => Number(v), 20)
    .option("--threads <n>", "onnxruntime intra-op threads", (v) => Number(v), 1)
    .option("--json", "print the result as JSON");
  addDataOptions(cmd).action(async (ref: string, quant: string, o: DataCliOptions & { data: string; labels?: string; runs: number; threads: number; json?: boolean }) => {
    const inputs = loadModel(ref).graph.inputs;
    const data = await openDataSource(o.data, inputs, dataSourceOptions(o, "evaluation data"));
    let labels: ArrayLike<number> | undefined;
    if (o.labels) labels = toNumbers(await readNpy(o.labels));
    else if (o.data.startsWith("mnist")) labels = loadMnist(o.data === "mnist:train" ? "train" : "test").labels;
    const c = await compareModels(ref, quant, data, { ...(labels ? { labels } : {}), latencyRuns: o.runs, threads: o.threads });
    if (o.json) {
      process.stdout.write(JSON.stringify(c, null, 2) + "\n");
      return;
    }
    const pct = (x?: number) => (x === undefined || Number.isNaN(x) ? "–" : `${(100 * x).toFixed(2)}%`);
    console.log(`samples: ${c.samples}`);
    for (const out of c.outputs) {
      console.log(`output ${out.name}: SQNR ${out.sqnr.toFixed(2)} dB, cosine ${out.cosine.toFixed(6)}, max |err| ${out.maxAbsError.toPrecision(4)}, MSE ${out.mse.toPrecision(4)}` +
        (out.top1Agreement !== undefined ? `, top-1 agreement ${pct(out.top1Agreement)}` : "") +
        (out.referenceAccuracy !== undefined ? `, accuracy float ${pct(out.referenceAccuracy)} vs quantized ${pct(out.quantizedAccuracy)}` : ""));
    }
    console.log(`size: float ${(c.sizes.reference / 1024).toFixed(1)} KiB, quantized ${(c.sizes.quantized / 1024).toFixed(1)} KiB (${(c.sizes.reference / c.sizes.quantized).toFixed(2)}× smaller)`);
    const l = c.latencyMs;
    console.log(`latency (median of ${l.runs}, ${l.threads} thread${l.threads > 1 ? "s" : ""}, first batch): float ${l.reference.toFixed(3)} ms, quantized ${l.quantized.toFixed(3)} ms, ratio ${l.ratio.toFixed(2)}`);
  });
}
