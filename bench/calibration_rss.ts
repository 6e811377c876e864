/**
 * Does calibration memory stay flat as the number of samples grows? Each configuration runs in a
 * fresh child process that renders its samples one at a time (never holding the data set), runs
 * src/calibrate/calibrate.ts's `calibrate` on a PP-OCR model and reports
 * `process.resourceUsage().maxRSS` (peak resident set, KiB on Linux), next to the peak before
 * calibration (model loaded and prepared, first sample rendered).
 *
 *   node --import tsx bench/calibration_rss.ts [--model rec] [--counts 64,512] [--methods entropy,minmax]
 *
 * The recogniser's input width follows each line's aspect ratio, so a larger sample also reaches
 * wider inputs (bigger activations in ONNX Runtime's arena); the child reports the widest input,
 * and --fixed-width crops or pads every input to one width to take that effect out.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command } from "commander";
import { calibrate, type CalibrationMethod } from "../src/calibrate/calibrate.js";
import type { Feeds } from "../src/calibrate/executor.js";
import { createOrtNodeExecutor } from "../src/calibrate/ort_node.js";
import { loadModel } from "../src/onnx/files.js";
import type { Tensor } from "../src/tensor/tensor.js";
import { lineTexts } from "../examples/ppocr/corpus.js";
import type { ModelKind } from "../examples/ppocr/dataset.js";
import { packagedModelPaths } from "../examples/ppocr/evaluate.js";
import { classifierInput, detectorInput, recognizerInput } from "../examples/ppocr/preprocess.js";
import { deriveSeed, Prng } from "../examples/ppocr/prng.js";
import { randomLineStyle, renderTextLine, renderTextPage } from "../examples/ppocr/render.js";
import { CALIBRATION_SEED, preparedPlan } from "../examples/ppocr/quantize_all.js";
import { rotate180 } from "../examples/ppocr/image.js";

/**
 * The same samples buildEvaluationSet(seed) would produce for `kind`, rendered lazily: one image
 * in memory at a time.
 */
export async function* renderedSamples(kind: ModelKind, count: number, seed = CALIBRATION_SEED): AsyncGenerator<Tensor> {
  if (kind === "det") {
    for (let i = 0; i < count; i++) yield detectorInput(renderTextPage(deriveSeed(seed, 1000 + i)).image).tensor;
    return;
  }
  const part = kind === "rec" ? 1 : 2; // dataset.ts: lines are part 1, direction samples part 2
  const texts = lineTexts(deriveSeed(seed, part), count);
  const styles = new Prng(deriveSeed(seed, part + 100));
  for (const [i, text] of texts.entries()) {
    const image = renderTextLine(text, randomLineStyle(styles)).image;
    yield kind === "rec" ? recognizerInput(image) : classifierInput(i % 2 === 1 ? rotate180(image) : image);
  }
}

interface ChildReport {
  samples: number;
  method: CalibrationMethod;
  maxRssBeforeMiB: number;
  maxRssMiB: number;
  seconds: number;
  widestInput: number;
}

/** [1, C, H, W] → [1, C, H, width]: cropped on the right or padded with zeros (a control for memory vs input size). */
export function toWidth(t: Tensor, width: number): Tensor {
  const [n, c, h, w] = t.dims as [number, number, number, number];
  if (w === width) return t;
  const src = t.data as Float32Array;
  const out = new Float32Array(n * c * h * width);
  for (let row = 0; row < n * c * h; row++) {
    out.set(src.subarray(row * w, row * w + Math.min(w, width)), row * width);
  }
  return { dtype: "float32", dims: [n, c, h, width], data: out };
}

async function child(kind: ModelKind, count: number, method: CalibrationMethod, fixedWidth?: number): Promise<void> {
  const model = loadModel(packagedModelPaths()[kind]);
  const inputName = model.graph.inputs[0]!.name;
  const { prepared, plan } = preparedPlan(model, "ort");
  let widest = 0;
  const samples = renderedSamples(kind, count);
  const first = await samples.next();
  if (first.done) throw new Error("no samples");
  const before = process.resourceUsage().maxRSS;
  async function* feeds(): AsyncGenerator<Feeds> {
    for (let s: IteratorResult<Tensor> = first; !s.done; s = await samples.next()) {
      const input = fixedWidth ? toWidth(s.value, fixedWidth) : s.value;
      widest = Math.max(widest, input.dims[input.dims.length - 1] as number);
      yield { [inputName]: input };
    }
  }
  const start = performance.now();
  const calibration = await calibrate(prepared, plan, feeds(), { method, createExecutor: (m) => createOrtNodeExecutor(m, { threads: 1 }) });
  const report: ChildReport = {
    samples: calibration.samples,
    method,
    maxRssBeforeMiB: before / 1024,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    seconds: (performance.now() - start) / 1000,
    widestInput: widest,
  };
  process.stdout.write(JSON.stringify(report) + "\n");
}

async function main(): Promise<void> {
  const o = new Command()
    .option("--model <kind>", "det | rec | cls", "rec")
    .option("--counts <list>", "sample counts", "64,512")
    .option("--methods <list>", "methods", "entropy,minmax")
    .option("--child <n>", "internal: run one configuration with n samples")
    .option("--method <m>", "internal: the child's method")
    .option("--fixed-width <w>", "crop or zero-pad every input to this width (separates sample count from input size)")
    .parse()
    .opts<{ model: ModelKind; counts: string; methods: string; child?: string; method?: CalibrationMethod; fixedWidth?: string }>();
  if (o.child !== undefined) return child(o.model, Number(o.child), o.method!, o.fixedWidth ? Number(o.fixedWidth) : undefined);

  const self = fileURLToPath(import.meta.url);
  const rows: ChildReport[] = [];
  for (const method of o.methods.split(",") as CalibrationMethod[]) {
    for (const count of o.counts.split(",").map(Number)) {
      const args = ["--import", "tsx", self, "--model", o.model, "--child", String(count), "--method", method, ...(o.fixedWidth ? ["--fixed-width", o.fixedWidth] : [])];
      const r = spawnSync(process.execPath, args, {
        encoding: "utf8", maxBuffer: 1 << 20,
      });
      if (r.status !== 0) throw new Error(`child (${method}, ${count} samples) failed: ${r.stderr}`);
      const report = JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildReport;
      rows.push(report);
      process.stderr.write(`${method} ${count}: ${report.maxRssMiB.toFixed(0)} MiB in ${report.seconds.toFixed(0)} s\n`);
    }
  }
  console.log(`${o.model}: peak RSS of calibrate() in a fresh process per row (onnxruntime-node, 1 thread)${o.fixedWidth ? `, inputs cropped or padded to width ${o.fixedWidth}` : ""}`);
  console.log("");
  console.log("| method | samples | peak RSS before calibration | peak RSS | vs the smallest count | widest input | time |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const base = rows.find((x) => x.method === r.method)!;
    console.log(`| ${r.method} | ${r.samples} | ${r.maxRssBeforeMiB.toFixed(0)} MiB | ${r.maxRssMiB.toFixed(0)} MiB | ${r === base ? "–" : `${(100 * (r.maxRssMiB / base.maxRssMiB - 1)).toFixed(1)}%`} | ${r.widestInput} | ${r.seconds.toFixed(0)} s |`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.stack ?? e.message : e);
    process.exitCode = 1;
  });
}
