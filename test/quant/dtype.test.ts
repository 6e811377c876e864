import { test } from "node:test";
import assert from "node:assert/strict";
import { qRange, bitsOf, isSigned, parseQuantDType, QUANT_DTYPES, isQuantDType } from "../../src/quant/dtype.js";

test("full ranges are QuantizeLinear's saturation ranges (ONNX operator spec)", () => {
  assert.deepEqual(qRange("uint16"), { qmin: 0, qmax: 65535 });
  assert.deepEqual(qRange("int16"), { qmin: -32768, qmax: 32767 });
  assert.deepEqual(qRange("uint8"), { qmin: 0, qmax: 255 });
  assert.deepEqual(qRange("int8"), { qmin: -128, qmax: 127 });
  assert.deepEqual(qRange("uint4"), { qmin: 0, qmax: 15 });
  assert.deepEqual(qRange("int4"), { qmin: -8, qmax: 7 });
});

test("narrow ranges drop the lowest code: TFLite int8 weights [-127,127], TF FakeQuant unsigned [1, 2^b-1]", () => {
  assert.deepEqual(qRange("int8", true), { qmin: -127, qmax: 127 });
  assert.deepEqual(qRange("int4", true), { qmin: -7, qmax: 7 });
  assert.deepEqual(qRange("int16", true), { qmin: -32767, qmax: 32767 });
  assert.deepEqual(qRange("uint8", true), { qmin: 1, qmax: 255 });
  assert.deepEqual(qRange("uint4", true), { qmin: 1, qmax: 15 });
  assert.deepEqual(qRange("uint16", true), { qmin: 1, qmax: 65535 });
});

test("narrow unsigned is narrow signed shifted by 2^(b-1)", () => {
  for (const [s, u] of [["int8", "uint8"], ["int4", "uint4"], ["int16", "uint16"]] as const) {
    const shift = 2 ** (bitsOf(s) - 1);
    assert.equal(qRange(u, true).qmin, qRange(s, true).qmin + shift);
    assert.equal(qRange(u, true).qmax, qRange(s, true).qmax + shift);
  }
});

test("bits and signedness", () => {
  assert.deepEqual(QUANT_DTYPES.map(bitsOf), [8, 8, 16, 16, 4, 4]);
  assert.deepEqual(QUANT_DTYPES.map(isSigned), [true, false, true, false, true, false]);
});

test("parseQuantDType accepts the names, ignoring case and spaces", () => {
  assert.equal(parseQuantDType("int8"), "int8");
  assert.equal(parseQuantDType(" UINT4 "), "uint4");
  assert.equal(parseQuantDType("Int16"), "int16");
});

test("parseQuantDType rejects unknown names and lists the valid ones", () => {
  for (const bad of ["int3", "float32", "", "int32", "i8"]) {
    assert.throws(() => parseQuantDType(bad), (e: Error) =>
      e.message.includes(JSON.stringify(bad)) && e.message.includes("int8, uint8, int16, uint16, int4, uint4"));
  }
  assert.equal(isQuantDType("toString"), false);
  assert.throws(() => qRange("int32" as never), /unknown quantization dtype "int32"/);
});
