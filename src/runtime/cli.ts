/**
 * `octet run model.int8.onnx --input x.npy --output y.npy [--kernels wasm|reference] [--threads n]`
 *
 * Runs a quantized model on octet's integer-only engine. Inputs and outputs are .npy files:
 * --input takes `file.npy` (a model with one input) or `name=file.npy` (repeatable); --output takes
 * `file.npy` (one output), `name=file.npy` (repeatable) or a directory (one `<name>.npy` per
 * output). Outputs are written atomically and not overwritten without --force. --report prints
 * what runs on integers and what stays in float; --runs N times N runs.
 */
import type { Command } from "commander";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { readNpy, writeNpy } from "../data/npy.js";
import type { Tensor } from "../tensor/tensor.js";
import { formatReport } from "./report.js";
import { createIntegerSession, type KernelChoice } from "./session.js";

interface RunCliOptions {
  input: string[];
  output?: string[];
  kernels?: KernelChoice;
  threads: number;
  report?: boolean;
  verbose?: boolean;
  runs: number;
  profile?: boolean;
  force?: boolean;
  quiet?: boolean;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** `name=path` → [name, path]; a bare path → [undefined, path]. Windows drive letters are not names. */
function splitAssignment(spec: string): [string | undefined, string] {
  const eq = spec.indexOf("=");
  if (eq <= 0) return [undefined, spec];
  return [spec.slice(0, eq), spec.slice(eq + 1)];
}

function positiveInteger(what: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run a quantized ONNX model (QDQ or QOperator) on octet's integer-only engine")
    .argument("<model>", "quantized ONNX model")
    .requiredOption("-i, --input <file>", "input .npy: file.npy for a one-input model, or name=file.npy (repeatable)", collect)
    .option("-o, --output <file>", "output .npy: file.npy, name=file.npy (repeatable), or a directory", collect)
    .option("--kernels <kind>", "wasm (WebAssembly SIMD, default) or reference (plain TypeScript)")
    .option("--threads <n>", "threads for the WebAssembly kernels", positiveInteger("--threads"), 1)
    .option("--report", "print what runs on integers and what stays in float")
    .option("--verbose", "with --report: every step")
    .option("--runs <n>", "run n times and print the median time", positiveInteger("--runs"), 1)
    .option("--profile", "print the time per op type (of the last run)")
    .option("-f, --force", "overwrite existing output files")
    .option("-q, --quiet", "print only errors")
    .action(async (model: string, o: RunCliOptions) => {
      if (o.kernels !== undefined && o.kernels !== "wasm" && o.kernels !== "reference") {
        throw new Error(`--kernels must be wasm or reference, got ${JSON.stringify(o.kernels)}`);
      }
      if (!existsSync(model)) throw new Error(`model ${model} does not exist`);
      const log = (s: string) => { if (!o.quiet) process.stderr.write(s + "\n"); };
      const started = performance.now();
      const session = createIntegerSession(model, { ...(o.kernels ? { kernels: o.kernels } : {}), threads: o.threads });
      try {
        log(`compiled in ${((performance.now() - started) / 1000).toFixed(2)} s`);
        if (o.report) process.stdout.write(formatReport(session.report, { verbose: o.verbose ?? false }) + "\n");

        // Inputs.
        const feeds: Record<string, Tensor> = {};
        const inputNames = session.inputs.map((v) => v.name);
        for (const spec of o.input) {
          const [name, path] = splitAssignment(spec);
          const target = name ?? (inputNames.length === 1 ? inputNames[0]! : undefined);
          if (target === undefined) throw new Error(`the model has ${inputNames.length} inputs (${inputNames.join(", ")}): give --input name=file.npy for each`);
          if (!inputNames.includes(target)) throw new Error(`--input ${spec}: the model has no input ${target} (inputs: ${inputNames.join(", ")})`);
          if (feeds[target]) throw new Error(`input ${target} is given twice`);
          feeds[target] = await readNpy(path);
        }

        // Where outputs go, checked before running.
        const outputNames = session.outputs.map((v) => v.name);
        const destinations = new Map<string, string>();
        for (const spec of o.output ?? []) {
          const [name, path] = splitAssignment(spec);
          if (name !== undefined) {
            if (!outputNames.includes(name)) throw new Error(`--output ${spec}: the model has no output ${name} (outputs: ${outputNames.join(", ")})`);
            destinations.set(name, path);
          } else if (path.endsWith(".npy")) {
            if (outputNames.length !== 1) throw new Error(`the model has ${outputNames.length} outputs (${outputNames.join(", ")}): give --output name=file.npy or a directory`);
            destinations.set(outputNames[0]!, path);
          } else {
            if (existsSync(path) && !statSync(path).isDirectory()) throw new Error(`--output ${path} is neither a .npy file nor a directory`);
            mkdirSync(path, { recursive: true });
            for (const n of outputNames) destinations.set(n, join(path, `${n.replace(/[^A-Za-z0-9._-]/g, "_")}.npy`));
          }
        }
        if (!o.force) {
          for (const path of destinations.values()) if (existsSync(path)) throw new Error(`${path} exists (use --force to overwrite)`);
        }

        let outputs: Record<string, Tensor> = {};
        const times: number[] = [];
        let timings: { opType: string; ms: number }[] = [];
        for (let r = 0; r < o.runs; r++) {
          const t0 = performance.now();
          if (o.profile && r === o.runs - 1) {
            const result = session.runProfiled(feeds);
            outputs = result.outputs;
            timings = result.timings;
          } else {
            outputs = session.run(feeds);
          }
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        log(`${o.runs > 1 ? `median of ${o.runs} runs` : "ran"} in ${times[Math.floor(times.length / 2)]!.toFixed(2)} ms (${session.report.backend})`);
        if (o.profile) {
          const byOp = new Map<string, number>();
          for (const t of timings) byOp.set(t.opType, (byOp.get(t.opType) ?? 0) + t.ms);
          for (const [op, ms] of [...byOp].sort((a, b) => b[1] - a[1])) process.stdout.write(`${ms.toFixed(2).padStart(10)} ms  ${op}\n`);
        }
        for (const name of outputNames) {
          const t = outputs[name]!;
          const path = destinations.get(name);
          if (path) {
            await writeNpy(path, t);
            log(`wrote ${name} [${t.dims.join(", ")}] ${t.dtype} to ${path}`);
          } else if (!o.quiet) {
            log(`output ${name}: [${t.dims.join(", ")}] ${t.dtype} (not written: give --output)`);
          }
        }
      } finally {
        session.dispose();
      }
    });
}
