/**
 * The reference kernels against ONNX Runtime's own integer operators on random data:
 * QLinearConv (float requantization in MLAS, round half to even) must agree with octet's
 * fixed-point conv2d within one step everywhere, and differ rarely; ConvInteger exactly.
 * The single-node models are built here with the ONNX protobuf binding.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { onnx } from "../../../src/onnx/proto.js";
import { conv2d, convInteger, prepareConv2d } from "../../../src/kernels/reference/index.js";
import type { Tensor } from "../../../src/tensor/tensor.js";
import { int32Tensor, qp, qpPerAxis, randomInt, randomInt8Tensor, rng } from "./helpers.js";

const ONNX_TYPE = { float32: 1, uint8: 2, int8: 3, int32: 6 } as const;

function initializer(name: string, dtype: keyof typeof ONNX_TYPE, dims: number[], values: ArrayLike<number>) {
  const bytes = dtype === "float32" ? new Uint8Array(Float32Array.from(values).buffer)
    : dtype === "int32" ? new Uint8Array(Int32Array.from(values).buffer)
    : dtype === "int8" ? new Uint8Array(Int8Array.from(values).buffer) : Uint8Array.from(values);
  return { name, dataType: ONNX_TYPE[dtype], dims, rawData: bytes };
}

type IntAttribute = { name: string; ints: number[] } | { name: string; i: number };

function singleNodeModel(opType: string, inputs: string[], attrs: IntAttribute[], initializers: ReturnType<typeof initializer>[],
  x: { dtype: keyof typeof ONNX_TYPE; dims: number[] }, yDType: keyof typeof ONNX_TYPE): Uint8Array {
  const valueInfo = (name: string, dtype: keyof typeof ONNX_TYPE, dims?: number[]) => ({
    name, type: { tensorType: { elemType: ONNX_TYPE[dtype], shape: dims ? { dim: dims.map((d) => ({ dimValue: d })) } : undefined } },
  });
  const model = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "g",
      node: [{ opType, input: inputs, output: ["y"], attribute: attrs.map((a) => ("ints" in a ? { name: a.name, type: 7, ints: a.ints } : { name: a.name, type: 2, i: a.i })) }],
      initializer: initializers,
      input: [valueInfo("x", x.dtype, x.dims)],
      output: [valueInfo("y", yDType)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

async function runOrt(model: Uint8Array, x: Tensor): Promise<number[]> {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, graphOptimizationLevel: "disabled" });
  const feeds = { x: new ort.Tensor(x.dtype as "uint8" | "int8", x.data as Uint8Array, x.dims) };
  const out = await session.run(feeds);
  return Array.from(out.y!.data as ArrayLike<number>);
}

const CASES = [
  { name: "3×3 pad 1, 16 channels", xDims: [1, 8, 12, 12], wDims: [16, 8, 3, 3], group: 1, pads: [1, 1, 1, 1], strides: [1, 1] },
  { name: "depthwise 3×3 stride 2", xDims: [1, 12, 11, 9], wDims: [12, 1, 3, 3], group: 12, pads: [1, 1, 1, 1], strides: [2, 2] },
  { name: "1×1, 64 → 32", xDims: [1, 64, 7, 7], wDims: [32, 64, 1, 1], group: 1, pads: [0, 0, 0, 0], strides: [1, 1] },
];

for (const [ci, c] of CASES.entries()) {
  test(`QLinearConv in ONNX Runtime vs octet conv2d: ${c.name}`, async () => {
    const random = rng(500 + ci);
    const x = randomInt8Tensor(random, "uint8", c.xDims);
    const w = randomInt8Tensor(random, "int8", c.wDims, -127, 127);
    const outChannels = c.wDims[0]!;
    const xScale = 0.0123;
    const xZero = 117;
    const wScales = Array.from({ length: outChannels }, () => Math.fround(0.002 + random() * 0.006));
    const bias = Array.from({ length: outChannels }, () => randomInt(random, -4000, 4000));
    // Output params from the real output range, so that few values saturate.
    const acc = convInteger(x, w, xZero, [0], { pads: c.pads, strides: c.strides, group: c.group });
    const plane = acc.data.length / outChannels;
    const real = Array.from(acc.data, (a, i) => (a + bias[Math.floor(i / plane)]!) * xScale * wScales[Math.floor(i / plane)]!);
    const lo = Math.min(0, ...real);
    const hi = Math.max(0, ...real);
    const yScale = Math.fround((hi - lo) / 255);
    const yZero = Math.round(-lo / yScale);
    const model = singleNodeModel("QLinearConv",
      ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point", "B"],
      [{ name: "pads", ints: c.pads }, { name: "strides", ints: c.strides }, { name: "group", i: c.group }],
      [
        initializer("x_scale", "float32", [], [xScale]), initializer("x_zero_point", "uint8", [], [xZero]),
        initializer("w", "int8", c.wDims, w.data as Int8Array), initializer("w_scale", "float32", [outChannels], wScales),
        initializer("w_zero_point", "int8", [outChannels], new Array(outChannels).fill(0)),
        initializer("y_scale", "float32", [], [yScale]), initializer("y_zero_point", "uint8", [], [yZero]),
        initializer("B", "int32", [outChannels], bias),
      ], { dtype: "uint8", dims: c.xDims }, "uint8");
    const expected = await runOrt(model, x);

    const plan = prepareConv2d({ pads: c.pads, strides: c.strides, group: c.group },
      { input: qp("uint8", xScale, xZero), weight: qpPerAxis("int8", wScales, new Array(outChannels).fill(0), 0), output: qp("uint8", yScale, yZero) });
    const got = Array.from(conv2d(plan, x, w, int32Tensor([outChannels], bias)).data);
    assert.equal(got.length, expected.length);
    let off = 0;
    got.forEach((v, i) => {
      const d = Math.abs(v - expected[i]!);
      assert.ok(d <= 1, `${c.name}: element ${i}: octet ${v}, ONNX Runtime ${expected[i]}`);
      off += d;
    });
    assert.ok(off <= 1 + got.length * 0.01, `${c.name}: ${off} of ${got.length} elements one step off`);
    const distinct = new Set(got).size;
    assert.ok(distinct > 100, `${c.name}: only ${distinct} distinct outputs: the comparison would be weak`);
  });
}

test("ConvInteger in ONNX Runtime vs octet convInteger: exact", async () => {
  const random = rng(77);
  const xDims = [1, 3, 9, 7];
  const wDims = [5, 3, 3, 2];
  const x = randomInt8Tensor(random, "uint8", xDims);
  const w = randomInt8Tensor(random, "uint8", wDims);
  const model = singleNodeModel("ConvInteger", ["x", "w", "x_zero_point", "w_zero_point"],
    [{ name: "pads", ints: [1, 0, 2, 1] }, { name: "strides", ints: [2, 1] }],
    [initializer("w", "uint8", wDims, w.data as Uint8Array), initializer("x_zero_point", "uint8", [], [131]), initializer("w_zero_point", "uint8", [], [119])],
    { dtype: "uint8", dims: xDims }, "int32");
  const expected = await runOrt(model, x);
  const got = convInteger(x, w, 131, [119], { pads: [1, 0, 2, 1], strides: [2, 1] });
  assert.deepEqual(Array.from(got.data), expected);
});
