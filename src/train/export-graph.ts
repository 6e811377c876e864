/**
 * A trained Sequential as octet's Graph IR of standard ONNX ops (opset 13, or 14 when a HardSwish
 * needs it), ready for the ONNX
 * writer (src/onnx) and for the rest of octet (calibration, quantization):
 *   conv2d → Conv, linear → Gemm(transB = 1), batchnorm → BatchNormalization (inference form,
 *   running statistics), relu → Relu, relu6 / clip → Clip (min and max as inputs, opset ≥ 11),
 *   hardswish → HardSwish, sigmoid → Sigmoid, maxpool2d → MaxPool, avgpool2d → AveragePool,
 *   globalavgpool → GlobalAveragePool, flatten → Flatten; dropout is left out (identity at
 *   inference, as ONNX Dropout is outside training mode).
 * Initializers are copies, so later training does not change an exported graph.
 */
import { makeNode, type Attribute, type Graph, type Model, type Node } from "../graph/ir.js";
import { tensor } from "../tensor/tensor.js";
import type { Sequential } from "./layers.js";

export interface ExportOptions {
  /** Dims of one sample, e.g. [1, 28, 28]; the batch axis is symbolic ("batch"). */
  sampleDims: number[];
  inputName?: string;
  outputName?: string;
  graphName?: string;
}

const ints = (value: number[]): Attribute => ({ kind: "ints", value });
const int = (value: number): Attribute => ({ kind: "int", value });
const float = (value: number): Attribute => ({ kind: "float", value });

export function sequentialToGraph(model: Sequential, opts: ExportOptions): Graph {
  const input = opts.inputName ?? "input";
  const output = opts.outputName ?? "logits";
  const graph: Graph = {
    name: opts.graphName ?? "octet_sequential",
    nodes: [],
    inputs: [{ name: input, dtype: "float32", shape: ["batch", ...opts.sampleDims] }],
    outputs: [],
    initializers: new Map(),
    valueInfo: new Map(),
  };
  const init = (name: string, dims: number[], data: Float32Array): string => {
    graph.initializers.set(name, tensor("float32", dims, data.slice()));
    return name;
  };
  const param = (name: string): string => {
    const v = model.params.get(name);
    if (!v) throw new Error(`model has no parameter ${name}`);
    return init(name, [...v.dims], v.data);
  };
  const optionalParam = (name: string): string[] => (model.params.has(name) ? [param(name)] : []);
  let current = input;
  const last = model.specs.length - 1;
  model.specs.forEach((s, i) => {
    if (s.type === "dropout") return;
    const out = i === last ? output : `${i}.${s.type}`;
    let node: Node;
    switch (s.type) {
      case "conv2d": {
        const kernel = s.kernel;
        node = makeNode("Conv", [current, param(`${i}.weight`), ...optionalParam(`${i}.bias`)], [out], {
          kernel_shape: ints([...kernel]), strides: ints([...(s.strides ?? [1, 1])]),
          pads: ints(onnxPads(s.pads)), dilations: ints([...(s.dilations ?? [1, 1])]), group: int(s.group ?? 1),
        });
        break;
      }
      case "linear":
        node = makeNode("Gemm", [current, param(`${i}.weight`), ...optionalParam(`${i}.bias`)], [out], { transB: int(1) });
        break;
      case "batchnorm": {
        const bn = model.batchNorms.get(i)!;
        node = makeNode("BatchNormalization", [
          current, param(`${i}.scale`), param(`${i}.bias`),
          init(`${i}.running_mean`, [bn.runningMean.length], bn.runningMean), init(`${i}.running_var`, [bn.runningVar.length], bn.runningVar),
        ], [out], { epsilon: float(bn.epsilon), momentum: float(bn.momentum) });
        break;
      }
      case "relu": node = makeNode("Relu", [current], [out]); break;
      case "relu6":
      case "clip": {
        const [lo, hi] = s.type === "relu6" ? [0, 6] : [s.min, s.max];
        node = makeNode("Clip", [current, init(`${i}.min`, [], Float32Array.of(lo)), init(`${i}.max`, [], Float32Array.of(hi))], [out]);
        break;
      }
      case "hardswish": node = makeNode("HardSwish", [current], [out]); break;
      case "sigmoid": node = makeNode("Sigmoid", [current], [out]); break;
      case "maxpool2d":
        node = makeNode("MaxPool", [current], [out], {
          kernel_shape: ints([...s.kernel]), strides: ints([...(s.strides ?? s.kernel)]), pads: ints(onnxPads(s.pads)),
        });
        break;
      case "avgpool2d":
        node = makeNode("AveragePool", [current], [out], {
          kernel_shape: ints([...s.kernel]), strides: ints([...(s.strides ?? s.kernel)]), pads: ints(onnxPads(s.pads)),
          count_include_pad: int(s.countIncludePad ? 1 : 0),
        });
        break;
      case "globalavgpool": node = makeNode("GlobalAveragePool", [current], [out]); break;
      case "flatten": node = makeNode("Flatten", [current], [out], { axis: int(s.axis ?? 1) }); break;
    }
    graph.nodes.push(node);
    current = out;
  });
  if (current !== output) {
    // The last layer was a dropout: name the final value with an Identity.
    graph.nodes.push(makeNode("Identity", [current], [output]));
  }
  graph.outputs.push({ name: output, dtype: "float32" });
  return graph;
}

/** octet's pads [top, left, bottom, right] are ONNX's [x1_begin, x2_begin, x1_end, x2_end]. */
function onnxPads(p: readonly number[] | undefined): number[] {
  return p ? [...p] : [0, 0, 0, 0];
}

export function sequentialToModel(model: Sequential, opts: ExportOptions): Model {
  return {
    irVersion: 8,
    // HardSwish entered ONNX at opset 14; everything else here is opset 13.
    opsetImports: [{ domain: "", version: model.specs.some((s) => s.type === "hardswish") ? 14 : 13 }],
    producerName: "octet",
    producerVersion: "0.1.0",
    domain: "",
    modelVersion: 1,
    docString: "trained with octet's train/ engine",
    metadata: new Map(),
    graph: sequentialToGraph(model, opts),
  };
}
