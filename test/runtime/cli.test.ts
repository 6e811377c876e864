/**
 * `octet run` (src/runtime/cli.ts), driven in-process through commander as the `octet` command
 * registers it: .npy in, .npy out (atomically, never overwriting without --force), the same numbers
 * as the library session, and clear errors for bad arguments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { quantizeModel } from "../../src/api/quantize.js";
import { createOrtNodeExecutor } from "../../src/calibrate/ort_node.js";
import { readNpy, writeNpy } from "../../src/data/npy.js";
import { saveModel } from "../../src/onnx/files.js";
import { registerRun } from "../../src/runtime/cli.js";
import { createIntegerSession } from "../../src/runtime/index.js";
import { randomTensor, rng, smallCnn } from "../helpers/models.js";

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "octet-run-"));
  const r = rng(4);
  async function* calib() {
    for (let i = 0; i < 3; i++) yield { x: randomTensor([4, 1, 8, 8], 1, r) };
  }
  const { model } = await quantizeModel(smallCnn(), calib(), { createExecutor: (m) => createOrtNodeExecutor(m) });
  saveModel(model, join(dir, "q.onnx"));
  const x = randomTensor([3, 1, 8, 8], 1, rng(5));
  await writeNpy(join(dir, "x.npy"), x);
  return { dir, model, x };
}

async function run(...args: string[]): Promise<void> {
  const program = new Command("octet").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerRun(program);
  await program.parseAsync(["run", ...args, "--quiet"], { from: "user" });
}

test("octet run writes the engine's outputs as .npy, and refuses to overwrite without --force", async () => {
  const { dir, model, x } = await setup();
  const out = join(dir, "y.npy");
  await run(join(dir, "q.onnx"), "--input", join(dir, "x.npy"), "--output", out);
  const y = await readNpy(out);
  const session = createIntegerSession(model);
  const expected = session.run({ x }).logits!;
  session.dispose();
  assert.deepEqual(y.dims, [3, 10]);
  assert.deepEqual(Array.from(y.data as Float32Array), Array.from(expected.data as Float32Array));
  await assert.rejects(run(join(dir, "q.onnx"), "--input", join(dir, "x.npy"), "--output", out), /y\.npy exists \(use --force to overwrite\)/);
  await run(join(dir, "q.onnx"), "--input", `x=${join(dir, "x.npy")}`, "--output", `logits=${out}`, "--force", "--kernels", "reference", "--threads", "2");
  assert.deepEqual(Array.from((await readNpy(out)).data as Float32Array), Array.from(expected.data as Float32Array));
  // No temporary files left beside the output.
  assert.deepEqual(readdirSync(dir).sort(), ["q.onnx", "x.npy", "y.npy"]);
});

test("octet run --output <directory> writes one <output name>.npy per output", async () => {
  const { dir } = await setup();
  await run(join(dir, "q.onnx"), "-i", join(dir, "x.npy"), "-o", join(dir, "outputs"), "--runs", "2");
  assert.ok(existsSync(join(dir, "outputs", "logits.npy")));
});

test("octet run: bad arguments are clear errors", async () => {
  const { dir } = await setup();
  const model = join(dir, "q.onnx");
  await assert.rejects(run(join(dir, "missing.onnx"), "-i", join(dir, "x.npy")), /model .*missing\.onnx does not exist/);
  await assert.rejects(run(model, "-i", `nope=${join(dir, "x.npy")}`), /the model has no input nope \(inputs: x\)/);
  await assert.rejects(run(model, "-i", join(dir, "x.npy"), "-o", `nope=${join(dir, "z.npy")}`), /the model has no output nope \(outputs: logits\)/);
  await assert.rejects(run(model, "-i", join(dir, "absent.npy")), /cannot read .*absent\.npy/);
  await assert.rejects(run(model, "-i", join(dir, "x.npy"), "--kernels", "gpu"), /--kernels must be wasm or reference/);
  await assert.rejects(run(model, "-i", join(dir, "x.npy"), "--threads", "0"), /--threads must be a positive integer/);
  const wrong = join(dir, "wrong.npy");
  await writeNpy(wrong, randomTensor([1, 2, 8, 8], 1, rng(1)));
  await assert.rejects(run(model, "-i", wrong), /input x: dim 1 must be 1/);
});
