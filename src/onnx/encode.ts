/** octet Model (Graph IR) → ONNX ModelProto bytes. Deterministic: the same Model gives the same bytes. */
import type { Attribute, Graph, Model, Node, ValueInfo } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";
import { onnxFromDType } from "./dtype.js";
import { onnx, type IAttributeProto, type IGraphProto, type INodeProto, type ITensorProto, type IValueInfoProto } from "./proto.js";
import { tensorToProto } from "./tensor_proto.js";

/** Decides, per initializer, whether its bytes go to an external file; returns the proto to embed. */
export type ExternalDataWriter = (name: string, t: Tensor, proto: ITensorProto) => ITensorProto;

export function encodeModel(model: Model, writeExternal?: ExternalDataWriter): Uint8Array {
  const proto = {
    irVersion: model.irVersion,
    opsetImport: model.opsetImports.map((o) => ({ domain: o.domain, version: o.version })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    domain: model.domain,
    modelVersion: model.modelVersion,
    docString: model.docString,
    graph: encodeGraph(model.graph, writeExternal),
    metadataProps: [...model.metadata].map(([key, value]) => ({ key, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(proto)).finish();
}

function encodeGraph(g: Graph, writeExternal?: ExternalDataWriter): IGraphProto {
  return {
    name: g.name,
    node: g.nodes.map((n) => encodeNode(n, writeExternal)),
    initializer: [...g.initializers].map(([name, t]) => {
      const tp = tensorToProto(name, t);
      return writeExternal ? writeExternal(name, t, tp) : tp;
    }),
    input: g.inputs.map(encodeValueInfo),
    output: g.outputs.map(encodeValueInfo),
    valueInfo: [...g.valueInfo.values()].map(encodeValueInfo),
  };
}

export function encodeValueInfo(v: ValueInfo): IValueInfoProto {
  const tensorType: Record<string, unknown> = { elemType: onnxFromDType(v.dtype) };
  if (v.shape) {
    tensorType.shape = {
      dim: v.shape.map((d) => (typeof d === "number" ? { dimValue: d } : typeof d === "string" ? { dimParam: d } : {})),
    };
  }
  return { name: v.name, type: { tensorType } };
}

function encodeNode(n: Node, writeExternal?: ExternalDataWriter): INodeProto {
  const np: INodeProto = {
    name: n.name,
    opType: n.opType,
    input: n.inputs,
    output: n.outputs,
    attribute: [...n.attributes].map(([name, a]) => encodeAttribute(name, a, writeExternal)),
  };
  if (n.domain) np.domain = n.domain;
  if (n.docString) np.docString = n.docString;
  return np;
}

const A = onnx.AttributeProto.AttributeType;

function encodeAttribute(name: string, a: Attribute, writeExternal?: ExternalDataWriter): IAttributeProto {
  const te = new TextEncoder();
  switch (a.kind) {
    case "int": return { name, type: A.INT, i: a.value };
    case "float": return { name, type: A.FLOAT, f: a.value };
    case "string": return { name, type: A.STRING, s: te.encode(a.value) };
    case "ints": return { name, type: A.INTS, ints: a.value };
    case "floats": return { name, type: A.FLOATS, floats: a.value };
    case "strings": return { name, type: A.STRINGS, strings: a.value.map((s) => te.encode(s)) };
    case "tensor": return { name, type: A.TENSOR, t: tensorToProto("", a.value) };
    case "graph": return { name, type: A.GRAPH, g: encodeGraph(a.value, writeExternal) };
    case "graphs": return { name, type: A.GRAPHS, graphs: a.value.map((g) => encodeGraph(g, writeExternal)) };
  }
}
