import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ValueInfo } from "../../src/graph/ir.js";
import type { DataSource, Feeds } from "../../src/data/feeds.js";
import { writeNpy } from "../../src/data/npy.js";
import { writeNpz } from "../../src/data/npz.js";
import { numpyDirFeeds, numpyFilesFeeds } from "../../src/data/npy_dir.js";
import type { Tensor } from "../../src/tensor/tensor.js";

let dir = "";
const f32 = (dims: number[], values: number[]): Tensor => ({ dtype: "float32", dims, data: Float32Array.from(values) });
const single: ValueInfo[] = [{ name: "x", dtype: "float32", shape: ["N", 2] }];

async function collect(src: DataSource): Promise<Feeds[]> {
  const out: Feeds[] = [];
  for await (const f of src) out.push(f);
  return out;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "octet-npydir-"));
  // Mixed: one sample without batch dim, a batch of 3, one sample with batch dim 1.
  await mkdir(join(dir, "mixed"));
  await writeNpy(join(dir, "mixed", "000.npy"), f32([2], [0, 1]));
  await writeNpy(join(dir, "mixed", "001.npy"), f32([3, 2], [2, 3, 4, 5, 6, 7]));
  await writeNpy(join(dir, "mixed", "002.npy"), f32([1, 2], [8, 9]));
  await writeFile(join(dir, "mixed", "readme.txt"), "ignored");
  // A hand-written file (not through writeNpy) read through the same path.
  const header = new TextEncoder().encode("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n");
  const hand = new Uint8Array(10 + header.length + 8);
  hand.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
  hand.set(header, 10);
  hand.set(new Uint8Array(Float32Array.from([10, 11]).buffer), 10 + header.length);
  await writeFile(join(dir, "mixed", "003.npy"), hand);

  await mkdir(join(dir, "multi"));
  await writeNpz(join(dir, "multi", "a.npz"), { image: f32([2, 2], [1, 2, 3, 4]), scale: f32([1], [0.5]) });
  await writeNpz(join(dir, "multi", "b.npz"), { image: f32([1, 2, 2], [5, 6, 7, 8]), scale: f32([1, 1], [2]) });

  await mkdir(join(dir, "nan"));
  await writeNpy(join(dir, "nan", "0.npy"), f32([2], [1, 2]));
  await writeNpy(join(dir, "nan", "1.npy"), f32([2], [3, Number.NaN]));

  await mkdir(join(dir, "empty"));
  await writeFile(join(dir, "empty", "x.txt"), "");
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("files holding one sample or a batch are joined into batches of N, in name order", async () => {
  const out = await collect(await numpyDirFeeds(join(dir, "mixed"), single, { batch: 4 }));
  assert.deepEqual(out.map((f) => f.x!.dims), [[4, 2], [2, 2]]);
  assert.deepEqual(out.flatMap((f) => Array.from(f.x!.data as Float32Array)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const limited = await collect(await numpyDirFeeds(join(dir, "mixed"), single, { batch: 2, limit: 3 }));
  assert.deepEqual(limited.flatMap((f) => Array.from(f.x!.data as Float32Array)), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(limited.map((f) => f.x!.dims[0]), [2, 1]);
});

test(".npz files feed several inputs by name; a single positional array feeds a single input", async () => {
  const inputs: ValueInfo[] = [
    { name: "image", dtype: "float32", shape: ["N", 2, 2] },
    { name: "scale", dtype: "float32", shape: ["N", 1] },
  ];
  const out = await collect(await numpyDirFeeds(join(dir, "multi"), inputs, { batch: 2 }));
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]!.image!.dims, [2, 2, 2]);
  assert.deepEqual(Array.from(out[0]!.image!.data as Float32Array), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(Array.from(out[0]!.scale!.data as Float32Array), [0.5, 2]);

  const positional = join(dir, "positional.npz");
  await writeNpz(positional, { arr_0: f32([2], [4, 2]) });
  const one = await collect(numpyFilesFeeds([positional], single, { batch: 1 }));
  assert.deepEqual(Array.from(one[0]!.x!.data as Float32Array), [4, 2]);
});

test("mismatches are errors naming the file", async () => {
  const two: ValueInfo[] = [{ name: "a", dtype: "float32", shape: ["N", 2] }, { name: "b", dtype: "float32", shape: ["N", 2] }];
  await assert.rejects(numpyDirFeeds(join(dir, "mixed"), two, { batch: 1 }), /000\.npy is a \.npy file, which feeds only a single-input model; this model has 2 inputs \("a", "b"\)/);
  const rank3: ValueInfo[] = [{ name: "x", dtype: "float32", shape: ["N", 1, 1, 2] }];
  await assert.rejects(collect(await numpyDirFeeds(join(dir, "mixed"), rank3, { batch: 1 })), /000\.npy: array "x" has shape \[2\] \(rank 1\), but model input "x" has rank 4/);
  const wrongName: ValueInfo[] = [{ name: "image", dtype: "float32", shape: ["N", 2, 2] }, { name: "offset", dtype: "float32", shape: ["N", 1] }];
  await assert.rejects(collect(await numpyDirFeeds(join(dir, "multi"), wrongName, { batch: 1 })), /calibration data file .*a\.npz: model input "offset" is missing/);
  const int: ValueInfo[] = [{ name: "x", dtype: "int32", shape: ["N", 2] }];
  await assert.rejects(collect(await numpyDirFeeds(join(dir, "mixed"), int, { batch: 1 })), /000\.npy: input "x" has dtype float32 but the model expects int32/);
});

test("NaN in a file is reported with that file and index", async () => {
  const src = await numpyDirFeeds(join(dir, "nan"), single, { batch: 8, label: "eval data" });
  await assert.rejects(collect(src), /eval data file .*nan\/1\.npy: input "x" has a non-finite value \(NaN\) at index \[0, 1\]/);
});

test("a directory without NumPy files is a clear error", async () => {
  await assert.rejects(numpyDirFeeds(join(dir, "empty"), single, { batch: 1 }), /calibration data .*empty contains no \.npy or \.npz files/);
});
