// Every training op's gradient against central finite differences (see gradcheck.ts), on the
// reference kernels; Conv, Gemm and MatMul also on the WebAssembly kernels (one and two threads).
import { after, describe, test } from "node:test";
import { referenceKernels, type FloatKernels } from "../../src/kernels/float/kernels.js";
import { WasmFloatKernels } from "../../src/kernels/float/wasm.js";
import { clip, hardSwish, relu, relu6, sigmoid } from "../../src/train/activations.js";
import { add, mul } from "../../src/train/arith.js";
import { useFloatKernels } from "../../src/train/backend.js";
import { conv2d } from "../../src/train/conv.js";
import { dropout } from "../../src/train/dropout.js";
import { Rng } from "../../src/train/init.js";
import { gemm, linear, matmul } from "../../src/train/linear.js";
import { softmaxCrossEntropy } from "../../src/train/loss.js";
import { batchNorm, batchNormState } from "../../src/train/norm.js";
import { avgPool2d, globalAvgPool, maxPool2d } from "../../src/train/pool.js";
import { concat, flatten, reshape } from "../../src/train/shape.js";
import { gradCheck, randomInput, separatedInput } from "./gradcheck.js";

const wasm1 = new WasmFloatKernels({ threads: 1 });
const wasm2 = new WasmFloatKernels({ threads: 2 });
after(() => { wasm1.dispose(); wasm2.dispose(); useFloatKernels(referenceKernels); });

function withKernels(k: FloatKernels, body: () => void): void {
  const previous = useFloatKernels(k);
  try { body(); } finally { if (previous) useFloatKernels(previous); }
}

const convCases: Array<{ name: string; x: number[]; w: number[]; opts: Parameters<typeof conv2d>[3] }> = [
  { name: "plain 3×3", x: [2, 2, 5, 6], w: [3, 2, 3, 3], opts: {} },
  { name: "strides and asymmetric pads", x: [2, 2, 6, 5], w: [2, 2, 3, 2], opts: { strides: [2, 3], pads: [1, 2, 0, 1] } },
  { name: "dilation", x: [1, 2, 7, 7], w: [2, 2, 3, 3], opts: { dilations: [2, 3], pads: [1, 1, 1, 1] } },
  { name: "groups", x: [2, 4, 5, 5], w: [6, 2, 3, 3], opts: { group: 2, pads: [1, 1, 1, 1] } },
  { name: "depthwise", x: [2, 3, 6, 6], w: [3, 1, 3, 3], opts: { group: 3, strides: [2, 2], pads: [1, 1, 1, 1] } },
];

for (const [kernelName, kernels] of [["reference", referenceKernels], ["wasm ×1", wasm1], ["wasm ×2", wasm2]] as const) {
  describe(`gradients on ${kernelName} kernels`, () => {
    for (const c of convCases) {
      test(`Conv: ${c.name}`, () => withKernels(kernels, () => {
        const rng = new Rng(1);
        gradCheck(`conv ${c.name}`, ([x, w, b]) => conv2d(x!, w!, b!, c.opts), [randomInput(rng, c.x), randomInput(rng, c.w), randomInput(rng, [c.w[0]!])]);
      }));
    }
    test("Gemm in every transpose combination, alpha, beta and broadcast C", () => withKernels(kernels, () => {
      const rng = new Rng(2);
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const cDims of [[5], [3, 1], [3, 5], []]) {
            gradCheck(`gemm ${transA} ${transB} [${cDims}]`, ([a, b, cc]) => gemm(a!, b!, cc!, { transA, transB, alpha: 0.7, beta: 1.3 }),
              [randomInput(rng, transA ? [4, 3] : [3, 4]), randomInput(rng, transB ? [5, 4] : [4, 5]), randomInput(rng, cDims)]);
          }
        }
      }
    }));
    test("MatMul with batch axes and with a vector", () => withKernels(kernels, () => {
      const rng = new Rng(3);
      gradCheck("matmul 3-D", ([a, b]) => matmul(a!, b!), [randomInput(rng, [2, 3, 4]), randomInput(rng, [4, 5])]);
      gradCheck("matmul 1-D", ([a, b]) => matmul(a!, b!), [randomInput(rng, [4]), randomInput(rng, [4, 3])]);
    }));
    test("Linear (Gemm transB)", () => withKernels(kernels, () => {
      const rng = new Rng(4);
      gradCheck("linear", ([x, w, b]) => linear(x!, w!, b!), [randomInput(rng, [3, 6]), randomInput(rng, [4, 6]), randomInput(rng, [4])]);
    }));
  });
}

describe("gradients of the JavaScript ops", () => {
  useFloatKernels(referenceKernels);
  const rng = new Rng(11);

  test("BatchNormalization, training statistics", () => {
    const state = batchNormState(3);
    gradCheck("batchnorm train", ([x, s, b]) => batchNorm(x!, s!, b!, state, true),
      [randomInput(rng, [4, 3, 2, 3]), randomInput(rng, [3], 0.5, 1.5), randomInput(rng, [3])], { eps: 1e-2, rtol: 2e-2, atol: 3e-3 });
  });
  test("BatchNormalization, inference (running statistics)", () => {
    const state = batchNormState(3);
    state.runningMean.set([0.2, -0.1, 0.4]);
    state.runningVar.set([0.5, 1.5, 2]);
    gradCheck("batchnorm infer", ([x, s, b]) => batchNorm(x!, s!, b!, state, false),
      [randomInput(rng, [2, 3, 2, 2]), randomInput(rng, [3], 0.5, 1.5), randomInput(rng, [3])]);
  });
  test("Relu", () => gradCheck("relu", ([x]) => relu(x!), [separatedInput(rng, [3, 4, 5], 0.05, 0.025)]));
  test("Clip and Relu6", () => {
    gradCheck("clip", ([x]) => clip(x!, -0.4, 0.6), [separatedInput(rng, [40], 0.05, 0.025)]);
    gradCheck("relu6", ([x]) => relu6(x!), [separatedInput(rng, [60], 0.25, 0.11)]);
  });
  test("HardSwish across its three pieces", () => gradCheck("hardswish", ([x]) => hardSwish(x!), [separatedInput(rng, [50], 0.17, 0.05)]));
  test("Sigmoid", () => gradCheck("sigmoid", ([x]) => sigmoid(x!), [randomInput(rng, [20], -4, 4)]));
  test("MaxPool with strides and pads", () => {
    gradCheck("maxpool", ([x]) => maxPool2d(x!, [3, 3], { strides: [2, 2], pads: [1, 1, 1, 1] }), [separatedInput(rng, [2, 2, 5, 6])]);
    gradCheck("maxpool overlapping", ([x]) => maxPool2d(x!, [2, 3], { strides: [1, 2] }), [separatedInput(rng, [1, 2, 4, 7])]);
  });
  test("AveragePool with and without count_include_pad", () => {
    for (const countIncludePad of [false, true]) {
      gradCheck("avgpool", ([x]) => avgPool2d(x!, [3, 2], { strides: [2, 1], pads: [1, 1, 1, 0], countIncludePad }), [randomInput(rng, [2, 2, 5, 4])]);
    }
  });
  test("GlobalAveragePool", () => gradCheck("gap", ([x]) => globalAvgPool(x!), [randomInput(rng, [2, 3, 4, 5])]));
  test("Add and Mul with broadcasting", () => {
    for (const [a, b] of [[[2, 3, 4], [2, 3, 4]], [[2, 3, 4], [4]], [[2, 1, 4], [3, 1]], [[3, 1], [1]]]) {
      gradCheck(`add [${a}] [${b}]`, ([x, y]) => add(x!, y!), [randomInput(rng, a!), randomInput(rng, b!)]);
      gradCheck(`mul [${a}] [${b}]`, ([x, y]) => mul(x!, y!), [randomInput(rng, a!), randomInput(rng, b!)]);
    }
  });
  test("Concat on inner and outer axes", () => {
    gradCheck("concat 1", ([a, b]) => concat([a!, b!], 1), [randomInput(rng, [2, 3, 2]), randomInput(rng, [2, 1, 2])]);
    gradCheck("concat -1", ([a, b, c]) => concat([a!, b!, c!], -1), [randomInput(rng, [2, 2]), randomInput(rng, [2, 3]), randomInput(rng, [2, 1])]);
    gradCheck("concat 0", ([a, b]) => concat([a!, b!], 0), [randomInput(rng, [1, 3]), randomInput(rng, [2, 3])]);
  });
  test("Flatten and Reshape (through a Mul so the gradient is not all ones)", () => {
    const w = randomInput(rng, [2, 12]);
    gradCheck("flatten", ([x, s]) => mul(flatten(x!), s!), [randomInput(rng, [2, 3, 4]), w]);
    gradCheck("reshape", ([x, s]) => mul(reshape(x!, [0, -1]), s!), [randomInput(rng, [2, 3, 4]), w]);
  });
  test("Dropout (same mask on every evaluation via a fixed seed)", () => {
    gradCheck("dropout", ([x]) => dropout(x!, 0.3, true, new Rng(5)), [randomInput(rng, [4, 6])]);
  });
  test("Softmax cross-entropy", () => {
    const labels = [2, 0, 4];
    gradCheck("softmax ce", ([z]) => softmaxCrossEntropy(z!, labels), [randomInput(rng, [3, 5], -3, 3)]);
  });
  test("a small CNN end to end (conv → BN → HardSwish → pool → linear → loss)", () => {
    const state = batchNormState(3);
    gradCheck("cnn", ([x, w, s, b, fw]) => {
      const h = globalAvgPool(hardSwish(batchNorm(conv2d(x!, w!, null, { pads: [1, 1, 1, 1] }), s!, b!, state, true)));
      return softmaxCrossEntropy(linear(flatten(h), fw!, null), [1, 0]);
    }, [randomInput(rng, [2, 2, 4, 4]), randomInput(rng, [3, 2, 3, 3]), randomInput(rng, [3], 0.5, 1.5), randomInput(rng, [3]), randomInput(rng, [2, 3])],
    { rtol: 3e-2, atol: 2e-3 });
  });
});
