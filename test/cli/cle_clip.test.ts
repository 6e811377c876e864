import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, saveModel } from "../../src/onnx/files.js";
import { depthwiseNet } from "../optimize/nets.js";

const bin = join(import.meta.dirname, "../../bin/octet.js");

test("octet quantize --cle-clip: Relu6 pairs are skipped by default and equalized (Clip → Relu) with 'relu'", () => {
  const dir = mkdtempSync(join(tmpdir(), "octet-cle-clip-"));
  try {
    // conv1 → Relu6 → dwconv → Relu6 → pwconv → Relu6 → GAP → flatten → fc: three pairs, each through a Relu6.
    saveModel(depthwiseNet({ activation: "Relu6" }), join(dir, "net.onnx"));
    const run = (policy: string) => spawnSync(process.execPath, [bin, "quantize", join(dir, "net.onnx"), "-o", join(dir, `${policy}.onnx`),
      "--calib", "random", "--samples", "8", "--cle", "--cle-clip", policy], { encoding: "utf8" });
    const skip = run("skip");
    assert.equal(skip.status, 0, skip.stderr);
    assert.match(skip.stderr, /cross-layer equalization: 0 pairs equalized/);
    const relu = run("relu");
    assert.equal(relu.status, 0, relu.stderr);
    assert.match(relu.stderr, /cross-layer equalization: 3 pairs equalized in \d+ sweeps, \d+ skipped, Clip → Relu: act1, act2, act3/);
    assert.match(relu.stderr, /pair conv1, dwconv: 8 channels scaled/);
    // The written model has no Clip left between the equalized layers.
    assert.equal(loadModel(join(dir, "relu.onnx")).graph.nodes.filter((n) => n.opType === "Clip").length, 0);
    assert.ok(loadModel(join(dir, "skip.onnx")).graph.nodes.some((n) => n.opType === "Clip"));
    const bad = spawnSync(process.execPath, [bin, "quantize", join(dir, "net.onnx"), "-o", join(dir, "bad.onnx"), "--calib", "random", "--cle", "--cle-clip", "sometimes"], { encoding: "utf8" });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--cle-clip.*sometimes|sometimes.*--cle-clip|Allowed choices/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
