/** ONNX ModelProto bytes → octet Model (Graph IR). */
import type { Attribute, Dim, Graph, Model, Node, ValueInfo } from "../graph/ir.js";
import { setOuterScope } from "../graph/ir.js";
import type { Tensor } from "../tensor/tensor.js";
import { dtypeFromOnnx } from "./dtype.js";
import { onnx, toInt, type IAttributeProto, type IGraphProto, type IModelProto, type INodeProto, type IValueInfoProto } from "./proto.js";
import { tensorFromProto, type ExternalDataReader } from "./tensor_proto.js";

/** The ai.onnx opsets octet reads and writes. */
export const MIN_OPSET = 9;
export const MAX_OPSET = 21;

export function decodeModel(bytes: Uint8Array, readExternal?: ExternalDataReader, source = "model"): Model {
  let proto: IModelProto;
  try {
    proto = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`${source} is not a valid ONNX model (protobuf decoding failed: ${(e as Error).message})`);
  }
  if (!proto.graph || !proto.graph.node) {
    throw new Error(`${source} is not a valid ONNX model: it has no graph`);
  }
  const opsetImports = (proto.opsetImport ?? []).map((o) => ({ domain: o.domain ?? "", version: toInt(o.version) }));
  const main = opsetImports.find((o) => o.domain === "" || o.domain === "ai.onnx");
  if (!main) throw new Error(`${source}: the model imports no ai.onnx opset`);
  if (main.version < MIN_OPSET || main.version > MAX_OPSET) {
    throw new Error(`${source}: ai.onnx opset ${main.version} is not supported (octet supports opsets ${MIN_OPSET}–${MAX_OPSET})`);
  }
  if (proto.functions && proto.functions.length) {
    throw new Error(`${source}: model-local functions (${proto.functions.map((f) => f.name).join(", ")}) are not supported`);
  }
  const graph = decodeGraph(proto.graph, readExternal, new Set());
  return {
    irVersion: toInt(proto.irVersion),
    opsetImports,
    producerName: proto.producerName ?? "",
    producerVersion: proto.producerVersion ?? "",
    domain: proto.domain ?? "",
    modelVersion: toInt(proto.modelVersion),
    docString: proto.docString ?? "",
    metadata: new Map((proto.metadataProps ?? []).map((e) => [e.key ?? "", e.value ?? ""])),
    graph,
  };
}

function decodeGraph(gp: IGraphProto, readExternal: ExternalDataReader | undefined, outer: Set<string>): Graph {
  const initializers = new Map<string, Tensor>();
  for (const tp of gp.initializer ?? []) {
    if (!tp.name) throw new Error(`graph ${gp.name}: an initializer has no name`);
    initializers.set(tp.name, tensorFromProto(tp, readExternal));
  }
  if (gp.sparseInitializer && gp.sparseInitializer.length) {
    throw new Error(`graph ${gp.name}: sparse initializers are not supported`);
  }
  // ONNX before IR 4 listed initializers among the inputs too; they are constants, not inputs.
  const inputs = (gp.input ?? []).filter((v) => !initializers.has(v.name ?? "")).map((v) => decodeValueInfo(v, true));
  const outputs = (gp.output ?? []).map((v) => decodeValueInfo(v, true));
  const valueInfo = new Map<string, ValueInfo>();
  for (const v of gp.valueInfo ?? []) {
    const vi = decodeValueInfo(v, false);
    if (vi) valueInfo.set(vi.name, vi);
  }
  const scope = new Set([...outer, ...initializers.keys(), ...inputs.map((v) => v!.name)]);
  const nodes: Node[] = [];
  const names = new Set<string>();
  for (const [i, np] of (gp.node ?? []).entries()) {
    const node = decodeNode(np, i, readExternal, scope);
    // Passes and --exclude address nodes by name: make every name present and unique.
    let name = node.name || `${node.opType}_${i}`;
    while (names.has(name)) name = `${name}_${i}`;
    node.name = name;
    names.add(name);
    for (const o of node.outputs) scope.add(o);
    nodes.push(node);
  }
  const graph: Graph = {
    name: gp.name ?? "graph",
    nodes,
    inputs: inputs as ValueInfo[],
    outputs: outputs as ValueInfo[],
    initializers,
    valueInfo,
  };
  setOuterScope(graph, outer);
  return graph;
}

function decodeValueInfo(v: IValueInfoProto, required: true): ValueInfo;
function decodeValueInfo(v: IValueInfoProto, required: false): ValueInfo | undefined;
function decodeValueInfo(v: IValueInfoProto, required: boolean): ValueInfo | undefined {
  const name = v.name ?? "";
  const tt = v.type?.tensorType;
  if (!tt) {
    if (required) throw new Error(`graph input/output ${name} is not a tensor (sequences, maps and optionals are not supported)`);
    return undefined;
  }
  const dtype = dtypeFromOnnx(tt.elemType ?? 0, `value ${name}`);
  const shape: Dim[] | undefined = tt.shape
    ? (tt.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null ? toInt(d.dimValue) : undefined))
    : undefined;
  return shape ? { name, dtype, shape } : { name, dtype };
}

function decodeNode(np: INodeProto, index: number, readExternal: ExternalDataReader | undefined, scope: Set<string>): Node {
  const opType = np.opType ?? "";
  if (!opType) throw new Error(`node #${index} (${np.name ?? "unnamed"}) has no op_type`);
  const attributes = new Map<string, Attribute>();
  for (const ap of np.attribute ?? []) {
    attributes.set(ap.name ?? "", decodeAttribute(ap, `node ${np.name || index} (${opType})`, readExternal, scope));
  }
  const node: Node = {
    name: np.name ?? "",
    opType,
    domain: np.domain === "ai.onnx" ? "" : np.domain ?? "",
    inputs: [...(np.input ?? [])],
    outputs: [...(np.output ?? [])],
    attributes,
  };
  if (np.docString) node.docString = np.docString;
  return node;
}

const A = onnx.AttributeProto.AttributeType;

function decodeAttribute(ap: IAttributeProto, where: string, readExternal: ExternalDataReader | undefined, scope: Set<string>): Attribute {
  const td = new TextDecoder();
  const name = ap.name ?? "";
  if (ap.refAttrName) throw new Error(`${where}: attribute ${name} refers to a function attribute, which is not supported`);
  // Old exporters leave `type` unset; infer it from the field that is filled.
  const type = ap.type || inferAttributeType(ap);
  switch (type) {
    case A.INT: return { kind: "int", value: toInt(ap.i) };
    case A.FLOAT: return { kind: "float", value: ap.f ?? 0 };
    case A.STRING: return { kind: "string", value: td.decode(ap.s ?? new Uint8Array()) };
    case A.INTS: return { kind: "ints", value: (ap.ints ?? []).map(toInt) };
    case A.FLOATS: return { kind: "floats", value: [...(ap.floats ?? [])] };
    case A.STRINGS: return { kind: "strings", value: (ap.strings ?? []).map((b) => td.decode(b)) };
    case A.TENSOR: return { kind: "tensor", value: tensorFromProto(ap.t!, readExternal) };
    case A.GRAPH: return { kind: "graph", value: decodeGraph(ap.g!, readExternal, scope) };
    case A.GRAPHS: return { kind: "graphs", value: (ap.graphs ?? []).map((g) => decodeGraph(g, readExternal, scope)) };
    default:
      throw new Error(`${where}: attribute ${name} has unsupported type ${A[type as number] ?? type}`);
  }
}

function inferAttributeType(ap: IAttributeProto): number {
  if (ap.ints && ap.ints.length) return A.INTS;
  if (ap.floats && ap.floats.length) return A.FLOATS;
  if (ap.strings && ap.strings.length) return A.STRINGS;
  if (ap.t) return A.TENSOR;
  if (ap.g) return A.GRAPH;
  if (ap.s && ap.s.length) return A.STRING;
  if (ap.f) return A.FLOAT;
  return A.INT;
}
