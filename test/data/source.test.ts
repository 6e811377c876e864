import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import type { ValueInfo } from "../../src/graph/ir.js";
import type { DataSource, Feeds } from "../../src/data/feeds.js";
import { loadMnist } from "../../src/data/mnist.js";
import { writeNpy } from "../../src/data/npy.js";
import { openDataSource } from "../../src/data/source.js";

let dir = "";
const lenet: ValueInfo[] = [{ name: "input", dtype: "float32", shape: ["N", 1, 28, 28] }];

async function collect(src: DataSource): Promise<Feeds[]> {
  const out: Feeds[] = [];
  for await (const f of src) out.push(f);
  return out;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "octet-source-"));
  await mkdir(join(dir, "npy"));
  for (let i = 0; i < 10; i++) await writeNpy(join(dir, "npy", `${String(i).padStart(2, "0")}.npy`), { dtype: "float32", dims: [2], data: Float32Array.from([i, -i]) });
  await mkdir(join(dir, "images"));
  for (const name of ["p.png", "q.png", "r.png"]) {
    await sharp(Buffer.from(new Array(4 * 6 * 3).fill(255)), { raw: { width: 6, height: 4, channels: 3 } }).toFile(join(dir, "images", name));
  }
  await mkdir(join(dir, "both"));
  await writeNpy(join(dir, "both", "a.npy"), { dtype: "float32", dims: [2], data: new Float32Array(2) });
  await writeFile(join(dir, "both", "b.png"), await sharp(Buffer.from([0, 0, 0]), { raw: { width: 1, height: 1, channels: 3 } }).png().toBuffer());
  await mkdir(join(dir, "nothing"));
  await writeFile(join(dir, "nothing", "data.csv"), "1,2\n");
  await writeNpy(join(dir, "zero.npy"), { dtype: "float32", dims: [0, 2], data: new Float32Array(0) });
  await writeFile(join(dir, "table.csv"), "1,2\n");
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('"mnist" feeds a LeNet-shaped input from the training split; "mnist:test" and [N,784] work too', async () => {
  const out = await collect(await openDataSource("mnist", lenet, { batch: 16, samples: 40 }));
  assert.deepEqual(out.map((f) => f.input!.dims), [[16, 1, 28, 28], [16, 1, 28, 28], [8, 1, 28, 28]]);
  assert.deepEqual(Array.from((out[0]!.input!.data as Float32Array).subarray(0, 784)), Array.from(loadMnist("train").images.subarray(0, 784)));
  const mlp: ValueInfo[] = [{ name: "x", dtype: "float32", shape: ["N", 784] }];
  const flat = await collect(await openDataSource("mnist:test", mlp, { batch: 5, samples: 5 }));
  assert.deepEqual(flat[0]!.x!.dims, [5, 784]);
  assert.deepEqual(Array.from(flat[0]!.x!.data as Float32Array).slice(0, 784), Array.from(loadMnist("test").images.subarray(0, 784)));
  await assert.rejects(openDataSource("mnist", [{ name: "x", dtype: "float32", shape: ["N", 3, 32, 32] }]), /fits none of \[N, 1, 28, 28\]/);
  await assert.rejects(openDataSource("mnist", [...lenet, { name: "y", dtype: "float32", shape: ["N"] }]), /MNIST can feed only a model with one input; this model has 2/);
});

test('"random" warns that accuracy will suffer and makes the requested number of samples', async () => {
  const warnings: string[] = [];
  const src = await openDataSource("random", lenet, { batch: 8, samples: 20, seed: 5, warn: (m) => warnings.push(m) });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /"random" is synthetic.*accuracy will suffer/);
  const out = await collect(src);
  assert.deepEqual(out.map((f) => f.input!.dims[0]), [8, 8, 4]);
  const defaults = await collect(await openDataSource("random", lenet, { batch: 32, warn: () => {} }));
  assert.equal(defaults[0]!.input!.dims[0], 32);
});

test("a directory of .npy files and a directory of images are detected by their contents", async () => {
  const vec: ValueInfo[] = [{ name: "v", dtype: "float32", shape: ["N", 2] }];
  const npy = await collect(await openDataSource(join(dir, "npy"), vec, { batch: 4 }));
  assert.deepEqual(npy.map((f) => f.v!.dims[0]), [4, 4, 2]);
  assert.deepEqual(Array.from(npy[2]!.v!.data as Float32Array), [8, -8, 9, -9]);
  const one = await collect(await openDataSource(join(dir, "npy", "03.npy"), vec));
  assert.deepEqual(Array.from(one[0]!.v!.data as Float32Array), [3, -3]);

  // Size, layout and channels come from the model input: NHWC, 2×3, one channel.
  const gray: ValueInfo[] = [{ name: "img", dtype: "float32", shape: ["N", 2, 3, 1] }];
  const imgs = await collect(await openDataSource(join(dir, "images"), gray, { batch: 2, image: { mean: [0.5], std: [0.5] } }));
  assert.deepEqual(imgs.map((f) => f.img!.dims), [[2, 2, 3, 1], [1, 2, 3, 1]]);
  for (const v of imgs[0]!.img!.data as Float32Array) assert.ok(Math.abs(v - 1) < 1e-6); // (255/255 − 0.5) / 0.5
  const dynamic: ValueInfo[] = [{ name: "img", dtype: "float32", shape: ["N", 3, "H", "W"] }];
  await assert.rejects(openDataSource(join(dir, "images"), dynamic), /does not fix the image height and width: give an image size/);
  const sized = await collect(await openDataSource(join(dir, "images"), dynamic, { image: { size: [8, 8] } }));
  assert.deepEqual(sized[0]!.img!.dims, [1, 3, 8, 8]);
  const bytes: ValueInfo[] = [{ name: "img", dtype: "uint8", shape: ["N", 3, 4, 6] }];
  await assert.rejects(collect(await openDataSource(join(dir, "images"), bytes)), /calibration data batch 0 \(sample 0\): input "img" has dtype float32 but the model expects uint8/);
});

test("missing paths, unknown files, mixed and empty directories are clear errors", async () => {
  await assert.rejects(openDataSource(join(dir, "absent"), lenet), /calibration data ".*absent" not found \(expected "mnist", "mnist:test", "random", a directory/);
  await assert.rejects(openDataSource(join(dir, "table.csv"), lenet), /is a file of an unknown kind/);
  await assert.rejects(openDataSource(join(dir, "both"), lenet), /holds both NumPy files \(1\) and images \(1\): put them in separate directories/);
  await assert.rejects(openDataSource(join(dir, "nothing"), lenet, { label: "evaluation data" }), /evaluation data directory .*nothing contains no \.npy, \.npz or image files/);
  const vec: ValueInfo[] = [{ name: "v", dtype: "float32", shape: ["N", 2] }];
  await assert.rejects(collect(await openDataSource(join(dir, "zero.npy"), vec)), /calibration data .*zero\.npy contains no samples/);
  await assert.rejects(collect(await openDataSource("mnist", lenet, { samples: 0 })), /calibration data mnist contains no samples/);
});

test("a fixed batch dimension overrides the requested batch and drops a short last batch", async () => {
  const fixed: ValueInfo[] = [{ name: "v", dtype: "float32", shape: [4, 2] }];
  const warnings: string[] = [];
  const out = await collect(await openDataSource(join(dir, "npy"), fixed, { batch: 3, warn: (m) => warnings.push(m) }));
  assert.deepEqual(out.map((f) => f.v!.dims), [[4, 2], [4, 2]]);
  assert.match(warnings[0]!, /fixed batch size of 4 .*using batches of 4 instead of 3/);
  const few = await openDataSource(join(dir, "npy"), fixed, { samples: 3, warn: () => {} });
  await assert.rejects(collect(few), /contains no samples \(or fewer than one batch of 4/);
  const fixedMnist = await collect(await openDataSource("mnist", [{ name: "input", dtype: "float32", shape: [2, 1, 28, 28] }], { samples: 5 }));
  assert.deepEqual(fixedMnist.map((f) => f.input!.dims[0]), [2, 2]);
});
