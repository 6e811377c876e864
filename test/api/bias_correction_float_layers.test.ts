// Bias correction is right only for quantized layers: a layer the user keeps in float (--exclude)
// must keep its original bias, and analysis must compare against the uncorrected float model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import type { Model } from "../../src/graph/ir.js";
import { buildWithExclusions, floatReference } from "../../src/analyze/quantized_model.js";
import { quantizeWithOptimizations } from "../../src/api/optimized_quantize.js";
import { depthwiseNet, inputBatches, sourceOf } from "../optimize/nets.js";

const createExecutor = (m: Model) => createOrtNodeExecutor(m);

test("quantizeWithOptimizations --bias-correction: excluded layers keep their original biases; the analysis reference is uncorrected", async () => {
  const model = depthwiseNet({ spread: 1.5 });
  const data = sourceOf(inputBatches(4, 8, 17));
  const r = await quantizeWithOptimizations(model, data, { createExecutor, method: "minmax", weightType: "int4", biasCorrection: true, exclude: ["pwconv"] });
  const corrected = r.optimizations.biasCorrection!.layers.map((l) => l.node);
  assert.ok(corrected.includes("dwconv"), `dwconv is corrected (${corrected.join(", ")})`);
  const original = (name: string) => Array.from(model.graph.initializers.get(name)!.data as Float32Array);
  // The float pwconv in the written model reads its bias straight from an initializer.
  const pw = r.model.graph.nodes.find((n) => n.name === "pwconv")!;
  const pwBias = r.model.graph.initializers.get(pw.inputs[2]!);
  assert.ok(pwBias && pwBias.dtype === "float32", "the excluded pwconv keeps a float bias");
  assert.deepEqual(Array.from(pwBias.data as Float32Array), original("b3"));
  // The quantized dwconv's bias did move (int32 bias, dequantized ≠ original).
  const reference = floatReference(r.setup);
  for (const b of ["b1", "b2", "b3", "b4"]) assert.deepEqual(Array.from(reference.graph.initializers.get(b)!.data as Float32Array), original(b), b);
  assert.notDeepEqual(Array.from(r.setup.model.graph.initializers.get("b2")!.data as Float32Array), original("b2"));
  // A mixed-precision candidate that leaves the corrected dwconv in float gets its original bias back.
  const candidate = buildWithExclusions(r.setup, ["dwconv"]).model;
  const dw = candidate.graph.nodes.find((n) => n.name === "dwconv")!;
  assert.deepEqual(Array.from(candidate.graph.initializers.get(dw.inputs[2]!)!.data as Float32Array), original("b2"));
});
