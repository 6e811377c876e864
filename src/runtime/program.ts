/**
 * A compiled model: a straight list of steps over named values, run in order. Each step reads
 * tensors by value name and writes new ones; values are dropped after their last reader so that a
 * run holds only the live activations.
 *
 * Steps come in three kinds, which is what the session report counts:
 *   integer  — an integer kernel (8-bit in, 8-bit out, int32 inside; no floating point at run time)
 *   float    — an op run in float32 between a DequantizeLinear and a QuantizeLinear (no integer
 *              kernel for it, or its inputs are not quantized), or shape arithmetic on int64
 *   boundary — QuantizeLinear / DequantizeLinear where float values enter or leave the integer part
 */
import type { Tensor } from "../tensor/tensor.js";
import type { Conv2dPlan, MaxPool2dPlan, SoftmaxPlan } from "../kernels/reference/index.js";

export type StepKind = "integer" | "float" | "boundary";

/** An element-wise table step: its output is table[byte(input)] (unary) or table[byte(a) << 8 | byte(b)] (binary). */
export type TableInfo =
  | { kind: "unary"; input: string; table: Uint8Array; outDType: "int8" | "uint8" }
  | { kind: "binary"; a: string; b: string; table: Uint8Array; outDType: "int8" | "uint8" };

export interface Step {
  /** The ONNX node names this step stands for (a fused group lists all of them). */
  nodes: string[];
  /** What the step computes, e.g. "Conv", "Add", "LookupTable(Add+Clip)", "QLinearConv". */
  opType: string;
  kind: StepKind;
  /** Value names read (the empty string is an omitted optional input). */
  inputs: string[];
  outputs: string[];
  run(inputs: (Tensor | undefined)[]): Tensor[];
  /** Set on table steps, so that the compiler can fuse chains of them. */
  table?: TableInfo;
  /**
   * Set on steps with one 8-bit output that can apply a byte table to it on the way out (the
   * compiler fuses a following unary table step into them). Applying another table composes.
   */
  fuseOutputTable?(table: Uint8Array, outDType: "int8" | "uint8"): void;
  /** What a step computes, for the compiler's fusion passes (compile/fuse_softmax.ts, fuse_max_pool.ts); dropped when a table is fused into it. */
  facts?: StepFacts;
}

/**
 * Facts about a step that let the compiler merge it with its neighbours:
 *   columnTable — out[…, k] = table[x[…, k] << 8 | column[k]] (or column first): a quantized Add,
 *                 Sub or Mul with a per-column constant (a bias), over the last axis;
 *   softmax     — the integer Softmax of this plan, its output through `outputTable` if set;
 *   dequantize  — a per-tensor DequantizeLinear of 8-bit data: `values[byte]`;
 *   conv        — a quantized convolution with fixed pads (1-D ones lifted to 2-D: `spatial` 1);
 *   maxPool     — a quantized MaxPool (likewise).
 */
export type StepFacts =
  | { kind: "columnTable"; input: string; table: Uint8Array; column: Uint8Array; columnIsB: boolean; outDType: "int8" | "uint8" }
  | { kind: "softmax"; plan: SoftmaxPlan; outputTable?: Uint8Array; outDType: "int8" | "uint8"; lastAxis: boolean }
  | { kind: "dequantize"; inputDType: "int8" | "uint8"; values: Float32Array }
  | { kind: "conv"; plan: Conv2dPlan; weight: Tensor; bias: Int32Array | undefined; spatial: number }
  | { kind: "maxPool"; plan: MaxPool2dPlan; spatial: number };

export interface Program {
  steps: Step[];
  /** Graph inputs that must be fed. */
  inputNames: string[];
  outputNames: string[];
  /** Constant values steps read by name (most constants are baked into steps at compile time). */
  constants: Map<string, Tensor>;
  /**
   * Memory hooks of the kernel backend: a step output that lives in the backend's memory is
   * released when no live value refers to its data any more, and graph outputs are exported
   * (copied to ordinary memory) before the run returns.
   */
  release?: (t: Tensor) => void;
  exportTensor?: (t: Tensor) => Tensor;
}

/** The index of the last step reading each value; graph outputs live to the end. */
function lastUses(program: Program): Map<string, number> {
  const last = new Map<string, number>();
  program.steps.forEach((s, i) => {
    for (const v of s.inputs) if (v) last.set(v, i);
  });
  for (const o of program.outputNames) last.set(o, Infinity);
  return last;
}

/** What runProgram derives from a program once: the last uses, and the values each step ends. */
interface RunPlan {
  last: Map<string, number>;
  /** Per step: the distinct non-constant inputs whose last reader it is. */
  dying: string[][];
}

function runPlan(program: Program): RunPlan {
  const cached = runPlans.get(program);
  if (cached && cached.steps === program.steps.length) return cached.plan;
  const last = lastUses(program);
  const dying = program.steps.map((step, index) =>
    [...new Set(step.inputs)].filter((name) => name && last.get(name) === index && !program.constants.has(name)));
  const plan = { last, dying };
  runPlans.set(program, { steps: program.steps.length, plan });
  return plan;
}

const runPlans = new WeakMap<Program, { steps: number; plan: RunPlan }>();

/** Wall time of one step of one run, for profiles. */
export interface StepTiming {
  step: number;
  opType: string;
  kind: StepKind;
  ms: number;
}

/**
 * Runs every step in order. Errors name the step's nodes. With `timings`, each step's time is
 * appended. Step outputs are reference-counted by their data (views such as Reshape share it) and
 * handed to program.release when the last value using the data is dead.
 */
export function runProgram(program: Program, feeds: Map<string, Tensor>, timings?: StepTiming[]): Map<string, Tensor> {
  const values = new Map<string, Tensor>(program.constants);
  for (const [k, v] of feeds) values.set(k, v);
  const { last, dying } = runPlan(program);
  const references = new Map<object, number>();
  const produced = new Set<string>();
  const hold = (t: Tensor) => references.set(t.data, (references.get(t.data) ?? 0) + 1);
  const drop = (t: Tensor) => {
    const count = (references.get(t.data) ?? 1) - 1;
    if (count > 0) {
      references.set(t.data, count);
      return;
    }
    references.delete(t.data);
    program.release?.(t);
  };
  try {
    return runSteps();
  } finally {
    // After an error (or for values nobody read), free whatever is still held.
    for (const name of produced) {
      const t = values.get(name);
      if (t) drop(t);
    }
  }

  function runSteps(): Map<string, Tensor> {
    const steps = program.steps;
    for (let index = 0; index < steps.length; index++) {
      const step = steps[index]!;
      const inputs: (Tensor | undefined)[] = new Array(step.inputs.length);
      for (let i = 0; i < step.inputs.length; i++) {
        const name = step.inputs[i]!;
        if (!name) continue;
        const t = values.get(name);
        if (t === undefined) throw new Error(`step ${describeStep(step)} reads ${name}, which no earlier step produced`);
        inputs[i] = t;
      }
      let outputs: Tensor[];
      const start = timings ? performance.now() : 0;
      try {
        outputs = step.run(inputs);
        if (timings) timings.push({ step: index, opType: step.opType, kind: step.kind, ms: performance.now() - start });
      } catch (e) {
        const err = e as Error;
        throw new Error(`${describeStep(step)}: ${err.message}`, { cause: err });
      }
      for (let i = 0; i < step.outputs.length; i++) {
        const name = step.outputs[i]!;
        const t = outputs[i];
        if (!name || t === undefined) continue;
        const previous = produced.has(name) ? values.get(name) : undefined;
        if (previous) drop(previous);
        values.set(name, t);
        hold(t);
        produced.add(name);
        if (!last.has(name)) {
          // Nothing reads it and it is no graph output.
          drop(t);
          produced.delete(name);
          values.delete(name);
        }
      }
      for (const name of dying[index]!) {
        const t = values.get(name);
        values.delete(name);
        if (t && produced.delete(name)) drop(t);
      }
    }
    const out = new Map<string, Tensor>();
    for (const name of program.outputNames) {
      const t = values.get(name);
      if (t === undefined) throw new Error(`graph output ${name} was not produced`);
      out.set(name, program.exportTensor ? program.exportTensor(t) : t);
    }
    return out;
  }
}

export function describeStep(step: Step): string {
  const names = step.nodes.length > 3 ? `${step.nodes.slice(0, 3).join(", ")}, …` : step.nodes.join(", ");
  return `${step.opType} [${names}]`;
}
