// Reading the ONNX backend node tests of Debian's libonnx-testdata: a model and its first data set.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Model } from "../../src/graph/ir.js";
import { decodeModel } from "../../src/onnx/decode.js";
import { onnx } from "../../src/onnx/proto.js";
import { tensorFromProto } from "../../src/onnx/tensor_proto.js";
import type { Tensor } from "../../src/tensor/tensor.js";

export const NODE_TESTS = "/usr/share/libonnx-testdata/data/node";

export interface NodeTest {
  model: Model;
  /** input_*.pb and output_*.pb of test_data_set_0, in index order. */
  inputs: Tensor[];
  outputs: Tensor[];
}

export function loadNodeTest(name: string): NodeTest {
  const dir = join(NODE_TESTS, name);
  if (!existsSync(dir)) throw new Error(`${dir} is missing: install the Debian package libonnx-testdata (apt-get install -y libonnx-testdata)`);
  const model = decodeModel(readFileSync(join(dir, "model.onnx")), undefined, name);
  const data = join(dir, "test_data_set_0");
  const files = readdirSync(data);
  const read = (prefix: string) => files
    .filter((f) => f.startsWith(prefix))
    .sort((a, b) => Number(a.match(/\d+/)![0]) - Number(b.match(/\d+/)![0]))
    .map((f) => tensorFromProto(onnx.TensorProto.decode(readFileSync(join(data, f)))));
  return { model, inputs: read("input_"), outputs: read("output_") };
}

/** The graph inputs fed by data (not initializers), in order. */
export function fedInputNames(model: Model): string[] {
  return model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)).map((v) => v.name);
}
