import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveModel } from "../../src/onnx/files.js";
import { writeNpy } from "../../src/data/npy.js";
import { smallCnn, randomTensor, rng } from "../helpers/models.js";

const bin = join(import.meta.dirname, "../../bin/octet.js");

function octet(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function workdir() {
  const dir = mkdtempSync(join(tmpdir(), "octet-cli-"));
  saveModel(smallCnn(), join(dir, "model.onnx"));
  return dir;
}

async function npyDir(dir: string, count: number, poison = false) {
  mkdirSync(dir);
  const r = rng(3);
  for (let i = 0; i < count; i++) {
    const t = randomTensor([1, 1, 8, 8], 1, r);
    if (poison && i === count - 1) (t.data as Float32Array)[5] = NaN;
    await writeNpy(join(dir, `${String(i).padStart(3, "0")}.npy`), t);
  }
}

test("quantize from a .npy directory, then inspect and compare the result", async () => {
  const dir = workdir();
  await npyDir(join(dir, "calib"), 8);
  const q = octet("quantize", join(dir, "model.onnx"), "-o", join(dir, "q.onnx"), "--calib", join(dir, "calib"), "--method", "mse", "--batch", "4");
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stderr, /quantized \d+ nodes/);
  const i = octet("inspect", join(dir, "q.onnx"));
  assert.equal(i.code, 0, i.stderr);
  assert.match(i.stdout, /QuantizeLinear/);
  assert.match(i.stdout, /w1_quantized|w1_dequantized/);
  const c = octet("compare", join(dir, "model.onnx"), join(dir, "q.onnx"), "--data", join(dir, "calib"), "--runs", "3", "--json");
  assert.equal(c.code, 0, c.stderr);
  const result = JSON.parse(c.stdout);
  assert.equal(result.samples, 8);
  assert.ok(result.outputs[0].sqnr > 20, `SQNR ${result.outputs[0].sqnr}`);
  assert.ok(result.sizes.reference > result.sizes.quantized);
});

test("tensorrt preset writes a calibration cache whose scales are amax/127 as big-endian float32 hex", () => {
  const dir = workdir();
  const q = octet("quantize", join(dir, "model.onnx"), "-o", join(dir, "trt.onnx"), "--calib", "random", "--samples", "8", "--preset", "tensorrt", "--method", "minmax");
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stderr, /random/i, "random data warns that accuracy will suffer");
  const lines = readFileSync(join(dir, "trt.cache"), "utf8").trim().split("\n");
  assert.equal(lines[0], "TRT-8601-MinMaxCalibration");
  const entry = lines.find((l) => l.startsWith("x: "));
  assert.ok(entry, "the model input is in the cache");
  const bits = parseInt(entry.slice(3), 16);
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  const scale = view.getFloat32(0);
  // random data is uniform in [0, 1): amax ≤ 1, so the scale is just under 1/127.
  assert.ok(scale > 0.9 / 127 && scale <= 1 / 127 + 1e-9, `scale ${scale}`);
});

test("calibration saved in two halves and merged equals calibrating on all the data", async () => {
  const dir = workdir();
  await npyDir(join(dir, "a"), 4);
  await npyDir(join(dir, "all"), 4);
  const m = join(dir, "model.onnx");
  assert.equal(octet("quantize", m, "-o", join(dir, "q1.onnx"), "--calib", join(dir, "a"), "--samples", "2", "--save-calib", join(dir, "c1.json"), "--method", "percentile").code, 0);
  // the second half: files 2 and 3 only
  mkdirSync(join(dir, "b"));
  for (const f of ["002.npy", "003.npy"]) writeFileSync(join(dir, "b", f), readFileSync(join(dir, "a", f)));
  assert.equal(octet("quantize", m, "-o", join(dir, "q2.onnx"), "--calib", join(dir, "b"), "--save-calib", join(dir, "c2.json"), "--method", "percentile").code, 0);
  const merged = octet("quantize", m, "-o", join(dir, "merged.onnx"), "--load-calib", `${join(dir, "c1.json")},${join(dir, "c2.json")}`, "--method", "percentile");
  assert.equal(merged.code, 0, merged.stderr);
  const whole = octet("quantize", m, "-o", join(dir, "whole.onnx"), "--calib", join(dir, "all"), "--method", "percentile");
  assert.equal(whole.code, 0, whole.stderr);
  assert.deepEqual(readFileSync(join(dir, "merged.onnx")), readFileSync(join(dir, "whole.onnx")));
});

test("bad inputs: clear errors, exit code ≠ 0, no output left behind", async () => {
  const dir = workdir();
  const out = join(dir, "out.onnx");
  writeFileSync(join(dir, "junk.onnx"), "this is not a protobuf at all, just text\n");
  const cases: [string[], RegExp][] = [
    [["quantize", join(dir, "junk.onnx"), "-o", out, "--calib", "random"], /not a valid ONNX model/],
    [["quantize", join(dir, "missing.onnx"), "-o", out, "--calib", "random"], /does not exist/],
    [["quantize", join(dir, "model.onnx"), "-o", join(dir, "nodir", "q.onnx"), "--calib", "random"], /directory .* does not exist/],
    [["quantize", join(dir, "model.onnx"), "-o", join(dir, "model.onnx"), "--calib", "random"], /is the input model/],
    [["quantize", join(dir, "model.onnx"), "-o", out], /--calib/],
    [["quantize", join(dir, "model.onnx"), "-o", out, "--calib", join(dir, "nothing-here")], /does not exist|not found/i],
  ];
  const truncated = readFileSync(join(dir, "model.onnx")).subarray(0, 300);
  writeFileSync(join(dir, "truncated.onnx"), truncated);
  cases.push([["quantize", join(dir, "truncated.onnx"), "-o", out, "--calib", "random"], /not a valid ONNX model|truncated|raw data/]);
  await npyDir(join(dir, "nan"), 3, true);
  cases.push([["quantize", join(dir, "model.onnx"), "-o", out, "--calib", join(dir, "nan")], /NaN/]);
  mkdirSync(join(dir, "empty"));
  cases.push([["quantize", join(dir, "model.onnx"), "-o", out, "--calib", join(dir, "empty")], /no samples|no .npy|contains no|empty/i]);
  mkdirSync(join(dir, "wrongshape"));
  await writeNpy(join(dir, "wrongshape", "a.npy"), randomTensor([1, 3, 8, 8], 1, rng(1)));
  cases.push([["quantize", join(dir, "model.onnx"), "-o", out, "--calib", join(dir, "wrongshape")], /shape|dimension/i]);
  for (const [args, message] of cases) {
    const r = octet(...args);
    assert.notEqual(r.code, 0, `${args.join(" ")} should fail`);
    assert.match(r.stderr, /^octet: error: /m, args.join(" "));
    assert.match(r.stderr, message, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(existsSync(out), false, `${args.join(" ")} left ${out}`);
  }
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes(".tmp")), [], "no temporary files left");
  // The input model is untouched.
  assert.ok(readFileSync(join(dir, "model.onnx")).length > 1000);
});

test("an existing output is not overwritten without --force", () => {
  const dir = workdir();
  writeFileSync(join(dir, "q.onnx"), "keep me");
  const r = octet("quantize", join(dir, "model.onnx"), "-o", join(dir, "q.onnx"), "--calib", "random", "--samples", "4");
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /already exists/);
  assert.equal(readFileSync(join(dir, "q.onnx"), "utf8"), "keep me");
  const f = octet("quantize", join(dir, "model.onnx"), "-o", join(dir, "q.onnx"), "--calib", "random", "--samples", "4", "--force");
  assert.equal(f.code, 0, f.stderr);
  assert.notEqual(readFileSync(join(dir, "q.onnx"), "utf8"), "keep me");
});
