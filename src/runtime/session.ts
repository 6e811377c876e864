/**
 * The integer-only inference session: compile a quantized ONNX model once, run it many times.
 *
 *   const session = createIntegerSession("model.int8.onnx");
 *   const { logits } = session.run({ x: { dtype: "float32", dims: [1, 1, 28, 28], data } });
 *   console.log(formatReport(session.report));   // what runs on integers, what stays float, why
 *   session.dispose();
 *
 * `run` is synchronous: the kernels run on this thread (and, with threads > 1, on worker threads
 * that this thread waits for).
 */
import { type Dim, type Model, type ValueInfo, cloneModel } from "../graph/ir.js";
import { loadModel } from "../onnx/files.js";
import { decodeModel } from "../onnx/decode.js";
import { sizeOf, type Tensor } from "../tensor/tensor.js";
import { type Int8Backend, referenceBackend } from "./backend.js";
import { type CompileFusions, type CompileReport, compileModel } from "./compile/compiler.js";
import { type Program, type StepTiming, runProgram } from "./program.js";
import { createWasmBackend, wasmSimdSupported } from "./wasm_backend.js";

export type KernelChoice = "wasm" | "reference";

export interface IntegerSessionOptions {
  /** "wasm" (WebAssembly SIMD, the default where the runtime has SIMD) or "reference" (plain TypeScript). */
  kernels?: KernelChoice;
  /** Threads for the WebAssembly kernels (default 1). */
  threads?: number;
  /** Concrete shapes for inputs with dynamic dims, used to check shapes at compile time. */
  inputShapes?: Record<string, Dim[]>;
  /**
   * Graph inputs to freeze as constants before compiling (e.g. the scale and zero-point inputs of a
   * test model whose quantization parameters are inputs): the compiler can then prepare integer
   * kernels for them. They are no longer inputs of the session.
   */
  constants?: Record<string, Tensor>;
  /** Turn off fusions (LayerNorm as one step, Softmax with its bias and DequantizeLinear, Conv with its MaxPool): same values, more steps. */
  fusions?: CompileFusions;
}

export interface IntegerSession {
  readonly inputs: ValueInfo[];
  readonly outputs: ValueInfo[];
  readonly report: CompileReport;
  run(feeds: Record<string, Tensor>): Record<string, Tensor>;
  /** Bytes the kernels hold in WebAssembly memory (packed weights and, during a run, activations). */
  bytesInUse(): number;
  /** Like run, and also the wall time of every step (for profiling). */
  runProfiled(feeds: Record<string, Tensor>): { outputs: Record<string, Tensor>; timings: StepTiming[] };
  dispose(): void;
}

function checkFeed(info: ValueInfo, t: Tensor): void {
  if (!t || typeof t !== "object" || !Array.isArray(t.dims)) throw new Error(`input ${info.name}: expected a tensor { dtype, dims, data }`);
  if (t.dtype !== info.dtype) throw new Error(`input ${info.name}: expected ${info.dtype}, got ${t.dtype}`);
  if (t.data.length !== sizeOf(t.dims)) {
    throw new Error(`input ${info.name}: dims [${t.dims.join(", ")}] need ${sizeOf(t.dims)} values, got ${t.data.length}`);
  }
  if (info.shape) {
    if (info.shape.length !== t.dims.length) {
      throw new Error(`input ${info.name}: expected rank ${info.shape.length} [${info.shape.map((d) => d ?? "?").join(", ")}], got dims [${t.dims.join(", ")}]`);
    }
    for (let i = 0; i < info.shape.length; i++) {
      const d = info.shape[i];
      if (typeof d === "number" && d !== t.dims[i]) {
        throw new Error(`input ${info.name}: dim ${i} must be ${d}, got dims [${t.dims.join(", ")}]`);
      }
    }
  }
}

function toModel(model: Model | string | Uint8Array, constants: Record<string, Tensor> | undefined): Model {
  let m = typeof model === "string" ? loadModel(model) : model instanceof Uint8Array ? decodeModel(model) : model;
  if (constants && Object.keys(constants).length > 0) {
    m = cloneModel(m);
    for (const [name, t] of Object.entries(constants)) {
      const info = m.graph.inputs.find((v) => v.name === name);
      if (!info) throw new Error(`constants: ${name} is not an input of the model`);
      checkFeed(info, t);
      m.graph.initializers.set(name, t);
      m.graph.inputs = m.graph.inputs.filter((v) => v.name !== name);
    }
  }
  return m;
}

export function chooseBackend(kernels: KernelChoice | undefined, threads: number): Int8Backend {
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw new Error(`threads must be an integer in [1, 64], got ${threads}`);
  const choice = kernels ?? (wasmSimdSupported() ? "wasm" : "reference");
  if (choice === "reference") return referenceBackend;
  if (choice !== "wasm") throw new Error(`kernels must be "wasm" or "reference", got ${JSON.stringify(choice)}`);
  if (!wasmSimdSupported()) throw new Error("this JavaScript runtime has no WebAssembly SIMD; use kernels: \"reference\"");
  return createWasmBackend({ threads });
}

/** Compile a quantized model (a Model, a path to an .onnx file, or its bytes) into a session. */
export function createIntegerSession(model: Model | string | Uint8Array, options: IntegerSessionOptions = {}): IntegerSession {
  const m = toModel(model, options.constants);
  const backend = chooseBackend(options.kernels, options.threads ?? 1);
  let program: Program;
  let report: CompileReport;
  try {
    ({ program, report } = compileModel(m, {
      backend, ...(options.inputShapes ? { inputShapes: options.inputShapes } : {}), ...(options.fusions ? { fusions: options.fusions } : {}),
    }));
  } catch (e) {
    backend.dispose();
    throw e;
  }
  program.release = (t) => backend.release(t);
  program.exportTensor = (t) => backend.exportTensor(t);
  const inputs = m.graph.inputs.filter((v) => program.inputNames.includes(v.name));
  const inputByName = new Map(inputs.map((v) => [v.name, v]));
  const outputs = m.graph.outputs;
  let disposed = false;
  return {
    inputs,
    outputs,
    report,
    run(feeds) {
      return Object.fromEntries(runProgram(program, checkFeeds(feeds)));
    },
    bytesInUse: () => backend.bytesInUse(),
    runProfiled(feeds) {
      const timings: StepTiming[] = [];
      const outputs = Object.fromEntries(runProgram(program, checkFeeds(feeds), timings));
      return { outputs, timings };
    },
    dispose() {
      if (!disposed) backend.dispose();
      disposed = true;
    },
  };

  function checkFeeds(feeds: Record<string, Tensor>): Map<string, Tensor> {
    if (disposed) throw new Error("the session was disposed");
    if (feeds === null || typeof feeds !== "object") throw new Error("feeds must be an object { inputName: tensor }");
    const map = new Map<string, Tensor>();
    for (const name in feeds) {
      if (!Object.hasOwn(feeds, name)) continue;
      const info = inputByName.get(name);
      if (!info) throw new Error(`unknown input ${name}; the model's inputs are: ${inputs.map((v) => v.name).join(", ")}`);
      checkFeed(info, feeds[name]!);
      map.set(name, feeds[name]!);
    }
    if (map.size !== inputs.length) {
      const absent = inputs.filter((v) => !map.has(v.name)).map((v) => v.name);
      throw new Error(`missing input${absent.length > 1 ? "s" : ""}: ${absent.join(", ")}`);
    }
    return map;
  }
}
