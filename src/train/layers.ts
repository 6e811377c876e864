/**
 * Models as plain data: a list of layer specs (JSON-serialisable, so a checkpoint or a worker can
 * rebuild the model) plus the parameter values. Every layer maps to standard ONNX ops, which is
 * what export-graph.ts relies on:
 *   conv2d → Conv, linear → Gemm (transB = 1), batchnorm → BatchNormalization, relu → Relu,
 *   relu6/clip → Clip, hardswish → HardSwish, sigmoid → Sigmoid, maxpool2d → MaxPool,
 *   avgpool2d → AveragePool, globalavgpool → GlobalAveragePool, flatten → Flatten,
 *   dropout → nothing (identity at inference).
 */
import { batchNorm, batchNormState, type BatchNormState } from "./norm.js";
import { conv2d } from "./conv.js";
import { linear } from "./linear.js";
import { clip, hardSwish, relu, relu6, sigmoid } from "./activations.js";
import { avgPool2d, globalAvgPool, maxPool2d } from "./pool.js";
import { flatten } from "./shape.js";
import { dropout } from "./dropout.js";
import { fanInBias, heUniform, Rng } from "./init.js";
import { parameter, type Var } from "./tape.js";

export type LayerSpec =
  | {
      type: "conv2d"; inChannels: number; outChannels: number; kernel: [number, number];
      strides?: [number, number]; pads?: [number, number, number, number]; dilations?: [number, number];
      group?: number; bias?: boolean;
    }
  | { type: "linear"; inFeatures: number; outFeatures: number; bias?: boolean }
  | { type: "batchnorm"; channels: number; momentum?: number; epsilon?: number }
  | { type: "relu" } | { type: "relu6" } | { type: "hardswish" } | { type: "sigmoid" }
  | { type: "clip"; min: number; max: number }
  | { type: "maxpool2d"; kernel: [number, number]; strides?: [number, number]; pads?: [number, number, number, number] }
  | { type: "avgpool2d"; kernel: [number, number]; strides?: [number, number]; pads?: [number, number, number, number]; countIncludePad?: boolean }
  | { type: "globalavgpool" }
  | { type: "flatten"; axis?: number }
  | { type: "dropout"; ratio: number };

export interface ForwardContext {
  training: boolean;
  /** Dropout masks draw from here; required when training a model with dropout. */
  rng?: Rng;
}

export interface NamedTensor {
  name: string;
  dims: number[];
  data: Float32Array;
}

/** A chain of layers with named parameters ("<index>.weight", "<index>.bias", ...). */
export class Sequential {
  /** Trainable parameters by name, in layer order. */
  readonly params = new Map<string, Var>();
  /** BatchNorm running statistics by layer index. */
  readonly batchNorms = new Map<number, BatchNormState>();

  constructor(readonly specs: readonly LayerSpec[], rng: Rng) {
    specs.forEach((s, i) => this.create(i, s, rng));
  }

  private create(i: number, s: LayerSpec, rng: Rng): void {
    const positive = (name: string, v: number) => {
      if (!Number.isInteger(v) || v < 1) throw new Error(`layer ${i} (${s.type}): ${name} must be a positive integer, got ${v}`);
    };
    switch (s.type) {
      case "conv2d": {
        positive("inChannels", s.inChannels);
        positive("outChannels", s.outChannels);
        const group = s.group ?? 1;
        positive("group", group);
        if (s.inChannels % group || s.outChannels % group) throw new Error(`layer ${i} (conv2d): group ${group} must divide the channel counts`);
        const dims = [s.outChannels, s.inChannels / group, s.kernel[0], s.kernel[1]];
        this.params.set(`${i}.weight`, parameter(heUniform(rng, dims), dims));
        if (s.bias ?? true) this.params.set(`${i}.bias`, parameter(fanInBias(rng, s.outChannels, dims[1]! * dims[2]! * dims[3]!), [s.outChannels]));
        break;
      }
      case "linear": {
        positive("inFeatures", s.inFeatures);
        positive("outFeatures", s.outFeatures);
        const dims = [s.outFeatures, s.inFeatures];
        this.params.set(`${i}.weight`, parameter(heUniform(rng, dims), dims));
        if (s.bias ?? true) this.params.set(`${i}.bias`, parameter(fanInBias(rng, s.outFeatures, s.inFeatures), [s.outFeatures]));
        break;
      }
      case "batchnorm":
        positive("channels", s.channels);
        this.params.set(`${i}.scale`, parameter(new Float32Array(s.channels).fill(1), [s.channels]));
        this.params.set(`${i}.bias`, parameter(new Float32Array(s.channels), [s.channels]));
        this.batchNorms.set(i, batchNormState(s.channels, s.momentum, s.epsilon));
        break;
      case "dropout":
        if (!(s.ratio >= 0 && s.ratio < 1)) throw new Error(`layer ${i} (dropout): ratio must be in [0, 1), got ${s.ratio}`);
        break;
      case "clip":
        if (!(s.min <= s.max)) throw new Error(`layer ${i} (clip): min ${s.min} exceeds max ${s.max}`);
        break;
      case "relu": case "relu6": case "hardswish": case "sigmoid":
      case "maxpool2d": case "avgpool2d": case "globalavgpool": case "flatten":
        break;
      default:
        throw new Error(`layer ${i}: unknown layer type ${(s as { type: string }).type}`);
    }
  }

  param(name: string): Var {
    const p = this.params.get(name);
    if (!p) throw new Error(`model has no parameter ${name}`);
    return p;
  }

  private optional(name: string): Var | null {
    return this.params.get(name) ?? null;
  }

  forward(x: Var, ctx: ForwardContext): Var {
    let h = x;
    this.specs.forEach((s, i) => {
      switch (s.type) {
        case "conv2d":
          h = conv2d(h, this.param(`${i}.weight`), this.optional(`${i}.bias`), {
            strides: s.strides, pads: s.pads, dilations: s.dilations, group: s.group,
          });
          break;
        case "linear": h = linear(h, this.param(`${i}.weight`), this.optional(`${i}.bias`)); break;
        case "batchnorm": h = batchNorm(h, this.param(`${i}.scale`), this.param(`${i}.bias`), this.batchNorms.get(i)!, ctx.training); break;
        case "relu": h = relu(h); break;
        case "relu6": h = relu6(h); break;
        case "clip": h = clip(h, s.min, s.max); break;
        case "hardswish": h = hardSwish(h); break;
        case "sigmoid": h = sigmoid(h); break;
        case "maxpool2d": h = maxPool2d(h, s.kernel, { strides: s.strides ?? s.kernel, pads: s.pads }); break;
        case "avgpool2d": h = avgPool2d(h, s.kernel, { strides: s.strides ?? s.kernel, pads: s.pads, countIncludePad: s.countIncludePad }); break;
        case "globalavgpool": h = globalAvgPool(h); break;
        case "flatten": h = flatten(h, s.axis ?? 1); break;
        case "dropout": {
          if (ctx.training && s.ratio > 0 && !ctx.rng) throw new Error(`layer ${i} (dropout): training needs ctx.rng`);
          h = ctx.rng ? dropout(h, s.ratio, ctx.training, ctx.rng) : h;
          break;
        }
      }
    });
    return h;
  }

  /** Every tensor that defines the trained model: parameters, then BatchNorm running statistics. */
  state(): NamedTensor[] {
    const out: NamedTensor[] = [];
    for (const [name, v] of this.params) out.push({ name, dims: [...v.dims], data: v.data });
    for (const [i, bn] of this.batchNorms) {
      out.push({ name: `${i}.running_mean`, dims: [bn.runningMean.length], data: bn.runningMean });
      out.push({ name: `${i}.running_var`, dims: [bn.runningVar.length], data: bn.runningVar });
    }
    return out;
  }

  /** Copies values into the model; every tensor of `state()` must be present with matching dims. */
  loadState(tensors: readonly NamedTensor[]): void {
    const byName = new Map(tensors.map((t) => [t.name, t]));
    for (const own of this.state()) {
      const t = byName.get(own.name);
      if (!t) throw new Error(`state has no tensor ${own.name}`);
      if (t.dims.length !== own.dims.length || t.dims.some((d, k) => d !== own.dims[k])) {
        throw new Error(`state tensor ${own.name} has dims [${t.dims.join(", ")}], the model needs [${own.dims.join(", ")}]`);
      }
      own.data.set(t.data);
    }
  }
}

/** LeNet of the MNIST story: Conv 20@5×5 → ReLU → MaxPool 2 → Conv 50@5×5 → ReLU → MaxPool 2 → FC 500 → ReLU → FC 10. */
export function lenetSpecs(): LayerSpec[] {
  return [
    { type: "conv2d", inChannels: 1, outChannels: 20, kernel: [5, 5] },
    { type: "relu" },
    { type: "maxpool2d", kernel: [2, 2] },
    { type: "conv2d", inChannels: 20, outChannels: 50, kernel: [5, 5] },
    { type: "relu" },
    { type: "maxpool2d", kernel: [2, 2] },
    { type: "flatten" },
    { type: "linear", inFeatures: 800, outFeatures: 500 },
    { type: "relu" },
    { type: "linear", inFeatures: 500, outFeatures: 10 },
  ];
}
