/**
 * The PTQ table of the MNIST story: every calibration method × per-tensor/per-channel weights ×
 * W8A8 / W4A8 / W4A4, each quantized exactly as `octet quantize` does it (api/node.quantizeFile,
 * the function behind the command: 512 MNIST training images, ort preset) and measured in
 * onnxruntime-node on the 10 000 test images.
 */
import { join } from "node:path";
import { quantizeFile } from "../../src/api/node.js";
import type { CalibrationMethod } from "../../src/calibrate/calibrate.js";
import type { QuantDType } from "../../src/quant/dtype.js";
import { ortAccuracy } from "./evaluate.js";
import { mnistSet } from "./train_model.js";

export const METHODS: CalibrationMethod[] = ["minmax", "moving-average", "percentile", "entropy", "mse"];
export const FORMATS: { name: string; weightType: QuantDType; activationType: QuantDType }[] = [
  { name: "W8A8", weightType: "int8", activationType: "uint8" },
  { name: "W4A8", weightType: "int4", activationType: "uint8" },
  { name: "W4A4", weightType: "int4", activationType: "uint4" },
];

export interface PtqCell {
  method: CalibrationMethod;
  perChannel: boolean;
  format: string;
  accuracy: number;
  optimization: "all" | "basic";
}

export function quantizeCommand(model: string, output: string, method: string, perChannel: boolean, format: (typeof FORMATS)[number]): string {
  return [
    "octet quantize", model, "-o", output, "--calib mnist --samples 512", `--method ${method}`,
    perChannel ? "" : "--per-tensor",
    format.weightType !== "int8" ? `--weight-type ${format.weightType}` : "",
    format.activationType !== "uint8" ? `--activation-type ${format.activationType}` : "",
  ].filter(Boolean).join(" ");
}

export async function ptqTable(model: string, workDir: string, log: (s: string) => void = console.log): Promise<PtqCell[]> {
  const test = mnistSet("test");
  const cells: PtqCell[] = [];
  for (const format of FORMATS) {
    for (const perChannel of [false, true]) {
      for (const method of METHODS) {
        const output = join(workDir, `ptq-${format.name}-${perChannel ? "pc" : "pt"}-${method}.onnx`);
        await quantizeFile(model, output, {
          method, perChannel, weightType: format.weightType, activationType: format.activationType,
          calib: "mnist", data: { samples: 512, label: "calibration data", warn: () => {} }, force: true,
        });
        const r = await ortAccuracy(output, test);
        cells.push({ method, perChannel, format: format.name, accuracy: r.accuracy, optimization: r.optimization });
        log(`  ${format.name} ${perChannel ? "per-channel" : "per-tensor "} ${method.padEnd(14)} ${(100 * r.accuracy).toFixed(2)}%${r.optimization === "basic" ? " (basic)" : ""}`);
      }
    }
  }
  return cells;
}

/** Markdown: one row per method, one column per format × granularity. */
export function ptqMarkdown(cells: readonly PtqCell[], float: number): string {
  const pct = (x: number) => `${(100 * x).toFixed(2)}`;
  const columns = FORMATS.flatMap((f) => [false, true].map((pc) => ({ format: f.name, perChannel: pc })));
  const header = `| method | ${columns.map((c) => `${c.format} ${c.perChannel ? "per-channel" : "per-tensor"}`).join(" | ")} |`;
  const rule = `|---|${columns.map(() => "---:").join("|")}|`;
  const rows = METHODS.map((m) => `| ${m} | ${columns.map((c) => {
    const cell = cells.find((x) => x.method === m && x.format === c.format && x.perChannel === c.perChannel);
    return cell ? pct(cell.accuracy) : "–";
  }).join(" | ")} |`);
  return [`float: ${pct(float)}%`, "", header, rule, ...rows].join("\n");
}
