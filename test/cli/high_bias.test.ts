import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeNode, type Model } from "../../src/graph/ir.js";
import { loadModel, saveModel } from "../../src/onnx/files.js";
import { writeNpy } from "../../src/data/npy.js";
import { modelOf, randomTensor, rng } from "../helpers/models.js";

const bin = join(import.meta.dirname, "../../bin/octet.js");

function octet(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * x [N, 4] ∈ [−1, 1] → A: Gemm 4→3 → Relu → B: Gemm 3→2. A's channel 0 has bias 5 and weights of
 * magnitude 0.1, so it stays within 5 ± 0.4: its minimum (> 4.6) can move into B's bias.
 * Channels 1 and 2 have bias 0 and −1 and cross zero.
 */
function highBiasGemms(): Model {
  const f = (dims: number[], v: number[]) => ({ dtype: "float32" as const, dims, data: Float32Array.from(v) });
  const t = { transB: { kind: "int" as const, value: 1 } };
  return modelOf({
    name: "high_bias_gemms",
    nodes: [
      makeNode("Gemm", ["x", "wa", "ba"], ["h"], t, "A"),
      makeNode("Relu", ["h"], ["r"], {}, "relu"),
      makeNode("Gemm", ["r", "wb", "bb"], ["y"], t, "B"),
    ],
    inputs: [{ name: "x", dtype: "float32", shape: ["N", 4] }],
    outputs: [{ name: "y", dtype: "float32", shape: ["N", 2] }],
    initializers: new Map([
      ["wa", f([3, 4], [0.1, -0.1, 0.1, -0.1, 1, 0.5, -0.5, 1, -1, 0.5, 1, 0.25])], ["ba", f([3], [5, 0, -1])],
      ["wb", f([2, 3], [0.5, 1, -1, 0.25, -0.5, 1])], ["bb", f([2], [0, 0.1])],
    ]),
    valueInfo: new Map(),
  });
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "octet-hba-"));
  saveModel(highBiasGemms(), join(dir, "model.onnx"));
  mkdirSync(join(dir, "calib"));
  const r = rng(9);
  for (let i = 0; i < 16; i++) await writeNpy(join(dir, "calib", `${String(i).padStart(2, "0")}.npy`), randomTensor([1, 4], 1, r));
  return dir;
}

test("octet quantize --cle --high-bias-absorption reports which channels moved and the ranges", async () => {
  const dir = await setup();
  const q = octet("quantize", join(dir, "model.onnx"), "-o", join(dir, "q.onnx"), "--calib", join(dir, "calib"), "--cle", "--high-bias-absorption", "--method", "minmax");
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stderr, /high-bias absorption: 1 channel moved in 1 pair\n/);
  // Channel 0's minimum is above 5 − 0.4 before CLE; CLE divides it by its scale, so only its presence is checked.
  const line = q.stderr.split("\n").find((l) => l.includes("A → B"));
  assert.ok(line, q.stderr);
  assert.match(line!, /1\/3 channels moved \(ch 0: [0-9.e+-]+\); range h \[[^\]]+\] → \[[^\]]+\], r \[0, [0-9.e+-]+\] → \[0, [0-9.e+-]+\]/);
  // The range of r after absorption is below its range before (channel 0 dominated it).
  const [, rBefore, rAfter] = /r \[0, ([0-9.e+-]+)\] → \[0, ([0-9.e+-]+)\]/.exec(line!)!;
  assert.ok(Number(rAfter) < Number(rBefore), line);
  assert.ok(existsSync(join(dir, "q.onnx")));
  assert.ok(loadModel(join(dir, "q.onnx")).graph.nodes.some((n) => n.opType === "QuantizeLinear"));
});

test("octet analyze --json carries the absorption report; --high-bias-absorption without --cle is an error", async () => {
  const dir = await setup();
  const a = octet("analyze", join(dir, "model.onnx"), "--calib", join(dir, "calib"), "--cle", "--high-bias-absorption", "--no-layerwise", "--json", "-q");
  assert.equal(a.code, 0, a.stderr);
  const report = JSON.parse(a.stdout).optimizations.highBiasAbsorption;
  assert.equal(report.channelsMoved, 1);
  assert.deepEqual(report.pairs.map((p: { first: string; second: string }) => `${p.first}→${p.second}`), ["A→B"]);
  assert.deepEqual(report.pairs[0].shifts.map((s: { channel: number }) => s.channel), [0]);

  for (const command of ["quantize", "analyze"]) {
    const args = command === "quantize" ? ["-o", join(dir, "bad.onnx")] : [];
    const r = octet(command, join(dir, "model.onnx"), ...args, "--calib", join(dir, "calib"), "--high-bias-absorption");
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--high-bias-absorption runs after cross-layer equalization: add --cle/);
    assert.ok(!existsSync(join(dir, "bad.onnx")));
  }
});
