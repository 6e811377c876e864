/**
 * An ONNX model as a trainable network: the graph's float initializers become parameters (weights,
 * biases, BatchNorm scale/shift, constant operands of Add/Mul) or state (BatchNorm running
 * statistics), and a forward pass runs the nodes in topological order on the training ops, so any
 * model made of the supported ops can be fine-tuned — a model trained elsewhere (PyTorch, ...) as
 * well as octet's own Sequential exports. Afterwards `toModel()` writes the trained values back into
 * a copy of the original graph, which is otherwise unchanged.
 *
 * Supported (ai.onnx, 2-D spatial): Conv, Gemm, MatMul, Add, Mul, BatchNormalization (inference
 * form), Relu, Clip, HardSwish, Sigmoid, MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape,
 * Concat, Identity, Dropout (the identity: fine-tuning does not drop). One float input, one output.
 *
 * Hooks let a caller (quantization-aware training) replace values as they are computed, replace
 * initializers as nodes read them, or compute a node itself (BatchNorm folded into its conv).
 */
import { cloneModel, floatAttr, intAttr, intsAttr, stringAttr, topologicalOrder, type Model, type Node } from "../graph/ir.js";
import { numbersOf } from "../graph/constants.js";
import { tensor, type Tensor } from "../tensor/tensor.js";
import { clip, hardSwish, relu, sigmoid } from "./activations.js";
import { add, mul } from "./arith.js";
import { conv2d } from "./conv.js";
import { gemm, matmul } from "./linear.js";
import { batchNorm, type BatchNormState } from "./norm.js";
import { avgPool2d, globalAvgPool, maxPool2d } from "./pool.js";
import { concat, flatten, reshape } from "./shape.js";
import { constant, parameter, type Var } from "./tape.js";

export const TRAINABLE_OPS = [
  "Conv", "Gemm", "MatMul", "Add", "Mul", "BatchNormalization", "Relu", "Clip", "HardSwish", "Sigmoid",
  "MaxPool", "AveragePool", "GlobalAveragePool", "Flatten", "Reshape", "Concat", "Identity", "Dropout",
] as const;

export interface GraphHooks {
  /** Every computed value (the graph input, each node output) passes through here before it is read. */
  value?(name: string, v: Var): Var;
  /** Every parameter, as `node` reads it at input `index`. */
  parameter?(name: string, v: Var, node: Node, index: number): Var;
  /** Computes `node` itself: returns the values it produced (any names), or undefined to let the model run it. */
  node?(node: Node, read: (name: string) => Var): Map<string, Var> | undefined;
}

export interface GraphForwardContext {
  training: boolean;
}

/** Which inputs of a node are trainable parameters, BatchNorm statistics, or fixed constants. */
function inputRole(node: Node, index: number): "parameter" | "statistic" | "constant" {
  switch (node.opType) {
    case "BatchNormalization": return index >= 3 ? "statistic" : "parameter";
    case "Clip": case "Reshape": return "constant";
    default: return "parameter";
  }
}

export class GraphModel {
  /** Trainable float initializers by name. */
  readonly params = new Map<string, Var>();
  /** Running statistics of each BatchNormalization node, by node name. */
  readonly batchNorms = new Map<string, BatchNormState>();
  private readonly constants = new Map<string, Tensor>();
  /** Initializers held as BatchNorm running statistics (read through `batchNorms`). */
  private readonly statistics = new Set<string>();
  readonly order: Node[];
  readonly inputName: string;
  readonly outputName: string;

  /** `model` is read, never modified; its initializer values are copied. */
  constructor(readonly model: Model) {
    const g = model.graph;
    const inputs = g.inputs.filter((i) => !g.initializers.has(i.name));
    if (inputs.length !== 1) throw new Error(`training needs a model with one input, this one has ${inputs.length} (${inputs.map((i) => i.name).join(", ")})`);
    if (inputs[0]!.dtype !== "float32") throw new Error(`training needs a float32 input, ${inputs[0]!.name} is ${inputs[0]!.dtype}`);
    if (g.outputs.length !== 1) throw new Error(`training needs a model with one output, this one has ${g.outputs.length}`);
    this.inputName = inputs[0]!.name;
    this.outputName = g.outputs[0]!.name;
    const unsupported = g.nodes.filter((n) => n.domain !== "" || !(TRAINABLE_OPS as readonly string[]).includes(n.opType));
    if (unsupported.length) {
      const list = unsupported.slice(0, 5).map((n) => `${n.name || "(unnamed)"} (${n.domain ? n.domain + "." : ""}${n.opType})`).join(", ");
      throw new Error(`cannot train this model: unsupported op${unsupported.length > 1 ? "s" : ""} ${list}${unsupported.length > 5 ? ", …" : ""}; supported: ${TRAINABLE_OPS.join(", ")}`);
    }
    this.order = topologicalOrder(g);
    const roles = new Map<string, string>();
    for (const node of this.order) {
      checkAttributes(node);
      node.inputs.forEach((name, index) => {
        const init = g.initializers.get(name);
        if (!name || !init) return;
        const role = inputRole(node, index);
        const previous = roles.get(name);
        if (previous && previous !== role) throw new Error(`initializer ${name} is used both as a ${previous} and as a ${role} (node ${node.name})`);
        roles.set(name, role);
        if (role === "constant") {
          this.constants.set(name, init);
          return;
        }
        if (role === "statistic") this.statistics.add(name);
        if (init.dtype !== "float32") throw new Error(`initializer ${name} read by ${node.name} (${node.opType}) is ${init.dtype}; trainable tensors must be float32`);
        if (role === "parameter" && !this.params.has(name)) {
          this.params.set(name, parameter(Float32Array.from(init.data as Float32Array), [...init.dims]));
        }
      });
      if (node.opType === "BatchNormalization") {
        const [mean, variance] = [g.initializers.get(node.inputs[3] ?? ""), g.initializers.get(node.inputs[4] ?? "")];
        if (!mean || !variance) throw new Error(`BatchNormalization ${node.name}: running mean and variance must be initializers`);
        this.batchNorms.set(node.name, {
          runningMean: Float32Array.from(mean.data as Float32Array),
          runningVar: Float32Array.from(variance.data as Float32Array),
          momentum: floatAttr(node, "momentum", 0.9),
          epsilon: floatAttr(node, "epsilon", 1e-5),
        });
      }
    }
  }

  param(name: string): Var {
    const p = this.params.get(name);
    if (!p) throw new Error(`model has no parameter ${name}`);
    return p;
  }

  /** Runs the graph on `x` (checked against the declared input shape) and returns its output. */
  forward(x: Var, ctx: GraphForwardContext, hooks: GraphHooks = {}): Var {
    const declared = this.model.graph.inputs.find((i) => i.name === this.inputName)!.shape;
    if (declared) {
      const bad = declared.length !== x.dims.length || declared.some((d, k) => typeof d === "number" && d !== x.dims[k]);
      if (bad) throw new Error(`input ${this.inputName} has dims [${x.dims.join(", ")}], the model expects [${declared.map((d) => d ?? "?").join(", ")}]`);
    }
    const values = new Map<string, Var>();
    const set = (name: string, v: Var) => values.set(name, hooks.value ? hooks.value(name, v) : v);
    set(this.inputName, x);
    const read = (name: string): Var => {
      const v = values.get(name);
      if (v) return v;
      const c = this.constants.get(name);
      if (c) return constant(Float32Array.from(numbersOf(c)), [...c.dims]);
      throw new Error(`value ${name} is not computed before it is read`);
    };
    for (const node of this.order) {
      if (node.outputs.every((o) => !o || values.has(o))) continue; // computed by a hook together with an earlier node
      const own = hooks.node?.(node, read);
      if (own) {
        for (const [name, v] of own) set(name, v);
        continue;
      }
      const inputs = node.inputs.map((name, index) => {
        if (!name || this.statistics.has(name)) return undefined;
        const p = this.params.get(name);
        if (p) return hooks.parameter ? hooks.parameter(name, p, node, index) : p;
        return read(name);
      });
      let y: Var;
      try {
        y = this.runNode(node, inputs, ctx.training);
      } catch (e) {
        throw new Error(`node ${node.name} (${node.opType}): ${(e as Error).message}`);
      }
      set(node.outputs[0]!, y);
    }
    return read(this.outputName);
  }

  /** One node on the training ops, with its inputs given (parameters already substituted). */
  runNode(node: Node, inputs: (Var | undefined)[], training: boolean): Var {
    const need = (i: number): Var => {
      const v = inputs[i];
      if (!v) throw new Error(`input ${i} is missing`);
      return v;
    };
    const x = need(0);
    switch (node.opType) {
      case "Conv": {
        const w = need(1);
        if (w.dims.length !== 4) throw new Error(`only 2-D convolutions train; weight dims [${w.dims.join(", ")}]`);
        return conv2d(x, w, inputs[2] ?? null, {
          strides: intsAttr(node, "strides", [1, 1]), pads: intsAttr(node, "pads", [0, 0, 0, 0]),
          dilations: intsAttr(node, "dilations", [1, 1]), group: intAttr(node, "group", 1),
        });
      }
      case "Gemm":
        return gemm(x, need(1), inputs[2] ?? null, {
          transA: intAttr(node, "transA", 0) === 1, transB: intAttr(node, "transB", 0) === 1,
          alpha: floatAttr(node, "alpha", 1), beta: floatAttr(node, "beta", 1),
        });
      case "MatMul": return matmul(x, need(1));
      case "Add": return add(x, need(1));
      case "Mul": return mul(x, need(1));
      case "BatchNormalization": return batchNorm(x, need(1), need(2), this.batchNorms.get(node.name)!, training);
      case "Relu": return relu(x);
      case "Clip": {
        const bound = (i: number, attrName: string, fallback: number) => {
          const v = inputs[i];
          if (v) {
            if (v.size !== 1) throw new Error(`Clip bound ${i} must be a scalar`);
            return v.data[0]!;
          }
          return floatAttr(node, attrName, fallback);
        };
        return clip(x, bound(1, "min", -3.4028234663852886e38), bound(2, "max", 3.4028234663852886e38));
      }
      case "HardSwish": return hardSwish(x);
      case "Sigmoid": return sigmoid(x);
      case "MaxPool":
        return maxPool2d(x, intsAttr(node, "kernel_shape", []), { strides: intsAttr(node, "strides", [1, 1]), pads: intsAttr(node, "pads", [0, 0, 0, 0]) });
      case "AveragePool":
        return avgPool2d(x, intsAttr(node, "kernel_shape", []), {
          strides: intsAttr(node, "strides", [1, 1]), pads: intsAttr(node, "pads", [0, 0, 0, 0]),
          countIncludePad: intAttr(node, "count_include_pad", 0) === 1,
        });
      case "GlobalAveragePool": return globalAvgPool(x);
      case "Flatten": return flatten(x, intAttr(node, "axis", 1));
      case "Reshape": {
        if (intAttr(node, "allowzero", 0) !== 0) throw new Error("Reshape with allowzero = 1 is not supported");
        const shape = inputs[1];
        if (!shape) throw new Error("Reshape needs a constant shape input");
        return reshape(x, Array.from(shape.data));
      }
      case "Concat": return concat(inputs.filter((v): v is Var => !!v), intAttr(node, "axis", 0));
      case "Identity": case "Dropout": return x;
      default: throw new Error(`unsupported op ${node.opType}`);
    }
  }

  /** A copy of the model holding the trained parameters and BatchNorm statistics. */
  toModel(): Model {
    const copy = cloneModel(this.model);
    const inits = copy.graph.initializers;
    for (const [name, p] of this.params) inits.set(name, tensor("float32", [...p.dims], p.data.slice()));
    for (const node of this.order) {
      const bn = this.batchNorms.get(node.name);
      if (!bn) continue;
      inits.set(node.inputs[3]!, tensor("float32", [bn.runningMean.length], bn.runningMean.slice()));
      inits.set(node.inputs[4]!, tensor("float32", [bn.runningVar.length], bn.runningVar.slice()));
    }
    return copy;
  }
}

/** Attribute values the training ops do not implement are errors, not silent differences. */
function checkAttributes(node: Node): void {
  const fail = (what: string) => {
    throw new Error(`cannot train node ${node.name} (${node.opType}): ${what}`);
  };
  if (["Conv", "MaxPool", "AveragePool"].includes(node.opType)) {
    const autoPad = stringAttr(node, "auto_pad", "NOTSET");
    if (autoPad !== "NOTSET") fail(`auto_pad ${autoPad} (only explicit pads)`);
  }
  if (node.opType === "MaxPool" || node.opType === "AveragePool") {
    if (intAttr(node, "ceil_mode", 0) !== 0) fail("ceil_mode 1");
    if (intsAttr(node, "dilations", [1, 1]).some((d) => d !== 1)) fail("dilated pooling");
    if (node.outputs.length > 1 && node.outputs[1]) fail("MaxPool indices output");
    if (intsAttr(node, "kernel_shape", []).length !== 2) fail("only 2-D pooling");
  }
  if (node.opType === "BatchNormalization") {
    if (intAttr(node, "training_mode", 0) !== 0 || node.outputs.slice(1).some((o) => o)) fail("training-mode outputs");
  }
  if (node.opType === "Dropout" && node.outputs.slice(1).some((o) => o)) fail("Dropout mask output");
}
