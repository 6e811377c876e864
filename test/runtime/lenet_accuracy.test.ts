// Issue 4, item 5: the trained MNIST LeNet (test/fixtures/mnist/lenet.onnx), quantized by octet,
// has the same test accuracy through octet's integer engine as through onnxruntime-node running
// the same QDQ model (±0.05 point), and the two agree within one output step on ≥ 99 % of logits.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { quantizeFile } from "../../src/api/node.js";
import { argmaxRows } from "../../src/analyze/metrics.js";
import { loadMnist } from "../../src/data/mnist.js";
import { loadModel } from "../../src/onnx/files.js";
import { createIntegerSession } from "../../src/runtime/index.js";

const fixture = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "mnist", "lenet.onnx");

test("MNIST LeNet: integer engine accuracy equals onnxruntime-node's on the same int8 model (±0.05 point)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "octet-lenet-"));
  try {
    const quantized = join(dir, "lenet.int8.onnx");
    await quantizeFile(fixture, quantized, { calib: "mnist", data: { samples: 256, warn: () => {} } });
    const model = loadModel(quantized);
    // The logits' output step, from the model's last QuantizeLinear.
    const lastQ = model.graph.nodes.find((n) => n.opType === "QuantizeLinear" && model.graph.nodes.some((d) => d.opType === "DequantizeLinear" && d.inputs[0] === n.outputs[0] && d.outputs[0] === "logits"));
    assert.ok(lastQ, "the logits come out of a QuantizeLinear/DequantizeLinear pair");
    const step = (model.graph.initializers.get(lastQ.inputs[1]!)!.data as Float32Array)[0]!;

    const { images, labels, count } = loadMnist("test");
    const ortSession = await ort.InferenceSession.create(quantized, { intraOpNumThreads: 1 });
    const engine = createIntegerSession(model, { threads: 1 });
    const batch = 500;
    let ortCorrect = 0;
    let engineCorrect = 0;
    let withinOneStep = 0;
    let largestSteps = 0;
    try {
      for (let from = 0; from < count; from += batch) {
        const n = Math.min(batch, count - from);
        const x = images.slice(from * 784, (from + n) * 784);
        const a = (await ortSession.run({ input: new ort.Tensor("float32", x, [n, 1, 28, 28]) })).logits!.data as Float32Array;
        const b = engine.run({ input: { dtype: "float32", dims: [n, 1, 28, 28], data: x } }).logits!.data as Float32Array;
        assert.equal(b.length, n * 10);
        const ortClasses = argmaxRows(a, 10);
        const engineClasses = argmaxRows(b, 10);
        for (let i = 0; i < n; i++) {
          if (ortClasses[i] === labels[from + i]) ortCorrect++;
          if (engineClasses[i] === labels[from + i]) engineCorrect++;
        }
        for (let i = 0; i < n * 10; i++) {
          const steps = Math.abs(a[i]! - b[i]!) / step;
          if (steps <= 1.0001) withinOneStep++;
          largestSteps = Math.max(largestSteps, steps);
        }
      }
    } finally {
      engine.dispose();
      await ortSession.release();
    }
    const ortAccuracy = ortCorrect / count;
    const engineAccuracy = engineCorrect / count;
    t.diagnostic(`accuracy: engine ${(100 * engineAccuracy).toFixed(2)} %, onnxruntime ${(100 * ortAccuracy).toFixed(2)} %; ` +
      `${withinOneStep} / ${count * 10} logits within one step, largest difference ${largestSteps.toFixed(2)} steps`);
    // The float model scores 99.32 %; int8 is expected to stay above 99 %.
    assert.ok(ortAccuracy >= 0.99, `onnxruntime accuracy ${ortAccuracy}`);
    assert.ok(Math.abs(engineAccuracy - ortAccuracy) <= 0.0005 + 1e-12, `engine ${engineAccuracy} vs onnxruntime ${ortAccuracy}`);
    assert.ok(withinOneStep / (count * 10) >= 0.99, `${withinOneStep} of ${count * 10} logits within one step`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
