/** numberAt: one element of a numeric tensor as a number, whatever its storage (the boundary steps read scales and zero points this way). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { numberAt } from "../../src/tensor/tensor.js";

test("numberAt reads one element of float32, float16, int64 and 8-bit tensors; strings are refused", () => {
  assert.equal(numberAt({ dtype: "float32", dims: [2], data: Float32Array.of(0.5, -3.25) }, 1), -3.25);
  // float16 bits: 0x3c00 = 1, 0xc500 = −5, 0x3555 ≈ 0.333251953125.
  const half = { dtype: "float16" as const, dims: [3], data: Uint16Array.of(0x3c00, 0xc500, 0x3555) };
  assert.deepEqual([0, 1, 2].map((i) => numberAt(half, i)), [1, -5, 0.333251953125]);
  assert.equal(numberAt({ dtype: "int64", dims: [], data: BigInt64Array.of(-7n) }), -7);
  assert.equal(numberAt({ dtype: "uint8", dims: [], data: Uint8Array.of(255) }), 255);
  assert.throws(() => numberAt({ dtype: "string", dims: [1], data: ["x"] } as never), /string tensor/);
});
