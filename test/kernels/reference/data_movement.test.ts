import { test } from "node:test";
import assert from "node:assert/strict";
import { flatten, reshape, squeeze, transpose, unsqueeze } from "../../../src/kernels/reference/index.js";
import { int8Tensor, randomInt8Tensor, rng, values } from "./helpers.js";

test("reshape/flatten/squeeze/unsqueeze are views sharing the data", () => {
  const x = int8Tensor("int8", [2, 1, 3], [1, 2, 3, 4, 5, 6]);
  const r = reshape(x, [0, -1]);
  assert.deepEqual(r.dims, [2, 3]);
  assert.equal(r.data, x.data);
  assert.deepEqual(reshape(x, [3, 2]).dims, [3, 2]);
  assert.deepEqual(reshape(x, [-1]).dims, [6]);
  assert.deepEqual(flatten(x).dims, [2, 3]);
  assert.deepEqual(flatten(x, 0).dims, [1, 6]);
  assert.deepEqual(flatten(x, -1).dims, [2, 3]);
  assert.deepEqual(squeeze(x).dims, [2, 3]);
  assert.deepEqual(squeeze(x, [1]).dims, [2, 3]);
  assert.deepEqual(unsqueeze(x, [0, 4]).dims, [1, 2, 1, 3, 1]);
  assert.deepEqual(unsqueeze(x, [-1]).dims, [2, 1, 3, 1]);
  assert.equal(unsqueeze(x, [0]).data, x.data);
  assert.throws(() => reshape(x, [4, -1]), /cannot infer/);
  assert.throws(() => reshape(x, [-1, -1]), /more than one −1/);
  assert.throws(() => reshape(x, [5]), /cannot view/);
  assert.throws(() => squeeze(x, [0]), /axis 0 has size 2/);
  assert.throws(() => unsqueeze(x, [0, 0]), /repeat/);
});

test("transpose: hand-worked 2-D and 3-D", () => {
  const x = int8Tensor("uint8", [2, 3], [1, 2, 3, 4, 5, 6]);
  const t = transpose(x);
  assert.deepEqual(t.dims, [3, 2]);
  assert.deepEqual(values(t), [1, 4, 2, 5, 3, 6]);
  // [2, 2, 2] with perm [2, 0, 1]: out[k][i][j] = x[i][j][k]
  const y = int8Tensor("int8", [2, 2, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(values(transpose(y, [2, 0, 1])), [0, 2, 4, 6, 1, 3, 5, 7]);
  assert.throws(() => transpose(y, [0, 0, 1]), /not a permutation/);
});

test("transpose: NCHW → NHWC → NCHW round trip and index check on a random tensor", () => {
  const x = randomInt8Tensor(rng(5), "int8", [2, 3, 4, 5]);
  const nhwc = transpose(x, [0, 2, 3, 1]);
  assert.deepEqual(nhwc.dims, [2, 4, 5, 3]);
  const xs = values(x);
  const ts = values(nhwc);
  for (let n = 0; n < 2; n++) for (let c = 0; c < 3; c++) for (let h = 0; h < 4; h++) for (let w = 0; w < 5; w++) {
    assert.equal(ts[((n * 4 + h) * 5 + w) * 3 + c], xs[((n * 3 + c) * 4 + h) * 5 + w]);
  }
  assert.deepEqual(values(transpose(nhwc, [0, 3, 1, 2])), xs);
  assert.ok(transpose(x, [0, 1, 2, 3]).data instanceof Int8Array);
});
