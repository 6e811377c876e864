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

/**
 * What runProgram derives from a program once. Values live in numbered slots (an array per run
 * instead of a map by name), and each step's reads, writes and the values it ends are slot lists.
 */
interface RunPlan {
  slotOf: Map<string, number>;
  /** The slots at the start of a run: the constants, the rest empty. */
  initial: (Tensor | undefined)[];
  /** Per step: the slot of each input (−1: an omitted optional input). */
  reads: Int32Array[];
  /** Per step: the slot of each output (−1: omitted, or read by nobody and no graph output). */
  writes: Int32Array[];
  /** Per step: the slots of produced values whose last reader it is. */
  ends: Int32Array[];
  outputs: Int32Array;
}

function makeRunPlan(program: Program): RunPlan {
  const slotOf = new Map<string, number>();
  const slot = (name: string) => {
    let s = slotOf.get(name);
    if (s === undefined) slotOf.set(name, (s = slotOf.size));
    return s;
  };
  for (const name of program.constants.keys()) slot(name);
  for (const name of program.inputNames) slot(name);
  // The index of the last step reading each value; graph outputs live to the end.
  const last = new Map<string, number>();
  program.steps.forEach((s, i) => {
    for (const v of s.inputs) if (v) last.set(v, i);
  });
  for (const o of program.outputNames) last.set(o, Infinity);
  const reads = program.steps.map((step) => Int32Array.from(step.inputs, (name) => (name ? slot(name) : -1)));
  const writes = program.steps.map((step) => Int32Array.from(step.outputs, (name) => (name && last.has(name) ? slot(name) : -1)));
  const ends = program.steps.map((step, index) => Int32Array.from(
    [...new Set(step.inputs)].filter((name) => name && last.get(name) === index && !program.constants.has(name)), slot));
  const outputs = Int32Array.from(program.outputNames, slot);
  const initial: (Tensor | undefined)[] = new Array(slotOf.size).fill(undefined);
  for (const [name, t] of program.constants) initial[slotOf.get(name)!] = t;
  return { slotOf, initial, reads, writes, ends, outputs };
}

/** The plan of a program, made at its first run (a program is not changed once compiled). */
function runPlan(program: Program): RunPlan {
  let plan = runPlans.get(program);
  if (!plan) runPlans.set(program, (plan = makeRunPlan(program)));
  return plan;
}

const runPlans = new WeakMap<Program, RunPlan>();

/** Wall time of one step of one run, for profiles. */
export interface StepTiming {
  step: number;
  opType: string;
  kind: StepKind;
  ms: number;
}

/**
 * Step outputs' data in use: views such as Reshape's share their input's data, so outputs are
 * counted by data, and handed to program.release when the last value using the data is dead.
 */
class LiveData {
  private readonly counts = new Map<object, number>();

  constructor(private readonly release: ((t: Tensor) => void) | undefined) {}

  hold(t: Tensor): void {
    this.counts.set(t.data, (this.counts.get(t.data) ?? 0) + 1);
  }

  drop(t: Tensor): void {
    const count = (this.counts.get(t.data) ?? 1) - 1;
    if (count > 0) {
      this.counts.set(t.data, count);
      return;
    }
    this.counts.delete(t.data);
    this.release?.(t);
  }
}

/**
 * Runs every step in order. Errors name the step's nodes. With `timings`, each step's time is
 * appended. Values a step produced are dropped after their last reader (see LiveData).
 */
export function runProgram(program: Program, feeds: Map<string, Tensor>, timings?: StepTiming[]): Map<string, Tensor> {
  const plan = runPlan(program);
  const values = plan.initial.slice();
  for (const [name, t] of feeds) {
    const s = plan.slotOf.get(name);
    if (s !== undefined) values[s] = t;
  }
  // produced[s]: slot s holds a value a step of this run produced (and must drop).
  const produced = new Uint8Array(values.length);
  const live = new LiveData(program.release);
  try {
    return runSteps(program, plan, values, produced, live, timings);
  } finally {
    // After an error (or for values nobody read), free whatever is still held.
    for (let s = 0; s < values.length; s++) if (produced[s]) live.drop(values[s]!);
  }
}

function runSteps(
  program: Program, plan: RunPlan, values: (Tensor | undefined)[], produced: Uint8Array, live: LiveData, timings: StepTiming[] | undefined,
): Map<string, Tensor> {
  const steps = program.steps;
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index]!;
    const reads = plan.reads[index]!;
    const inputs: (Tensor | undefined)[] = new Array(reads.length);
    for (let i = 0; i < reads.length; i++) {
      const s = reads[i]!;
      if (s < 0) continue;
      const t = values[s];
      if (t === undefined) throw new Error(`step ${describeStep(step)} reads ${step.inputs[i]}, which no earlier step produced`);
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
    const writes = plan.writes[index]!;
    for (let i = 0; i < writes.length; i++) {
      const t = outputs[i];
      if (t === undefined) continue;
      const s = writes[i]!;
      if (s < 0) {
        // Nothing reads it and it is no graph output (or the step has no such output).
        if (step.outputs[i]) {
          live.hold(t);
          live.drop(t);
        }
        continue;
      }
      if (produced[s]) live.drop(values[s]!);
      values[s] = t;
      live.hold(t);
      produced[s] = 1;
    }
    const ends = plan.ends[index]!;
    for (let i = 0; i < ends.length; i++) {
      const s = ends[i]!;
      const t = values[s];
      values[s] = undefined;
      if (t && produced[s]) {
        produced[s] = 0;
        live.drop(t);
      }
    }
  }
  const out = new Map<string, Tensor>();
  program.outputNames.forEach((name, i) => {
    const t = values[plan.outputs[i]!];
    if (t === undefined) throw new Error(`graph output ${name} was not produced`);
    out.set(name, program.exportTensor ? program.exportTensor(t) : t);
  });
  return out;
}

export function describeStep(step: Step): string {
  const names = step.nodes.length > 3 ? `${step.nodes.slice(0, 3).join(", ")}, …` : step.nodes.join(", ");
  return `${step.opType} [${names}]`;
}
