import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { encodeNpz, parseNpz, readNpz, writeNpz } from "../../src/data/npz.js";
import { parseNpy } from "../../src/data/npy.js";

/** A minimal hand-made .npy (v1.0) of uint8 values. */
function npyU8(shape: string, values: number[]): Uint8Array {
  const header = new TextEncoder().encode(`{'descr': '|u1', 'fortran_order': False, 'shape': ${shape}, }\n`);
  const out = new Uint8Array(10 + header.length + values.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0]);
  out.set(header, 10);
  out.set(values, 10 + header.length);
  return out;
}

test("parses an archive built independently (stored and deflated entries), stripping .npy", () => {
  for (const level of [0, 9] as const) {
    const zip = zipSync({ "x.npy": npyU8("(2,)", [3, 4]), "mask.npy": npyU8("(1, 1)", [1]) }, { level });
    const arrays = parseNpz(zip);
    assert.deepEqual([...arrays.keys()].sort(), ["mask", "x"]);
    assert.deepEqual(Array.from(arrays.get("x")!.data as Uint8Array), [3, 4]);
    assert.deepEqual(arrays.get("mask")!.dims, [1, 1]);
  }
});

test("encodeNpz writes name.npy entries that decode to the same arrays", () => {
  const zip = encodeNpz({ a: { dtype: "float32", dims: [2], data: new Float32Array([0.5, -1]) }, arr_0: { dtype: "int64", dims: [], data: new BigInt64Array([9n]) } }, { compress: true });
  const entries = unzipSync(zip);
  assert.deepEqual(Object.keys(entries).sort(), ["a.npy", "arr_0.npy"]);
  assert.deepEqual(Array.from(parseNpy(entries["a.npy"]!).data as Float32Array), [0.5, -1]);
  const back = parseNpz(zip);
  assert.equal((back.get("arr_0")!.data as BigInt64Array)[0], 9n);
});

test("errors name the problem: not a zip, a non-.npy entry, a bad entry", () => {
  assert.throws(() => parseNpz(new Uint8Array([1, 2, 3, 4])), /not a valid \.npz \(zip\) archive/);
  assert.throws(() => parseNpz(zipSync({ "notes.txt": new Uint8Array([65]) })), /entry "notes.txt" is not a \.npy file/);
  assert.throws(() => parseNpz(zipSync({ "x.npy": npyU8("(3,)", [1]) })), /entry "x.npy": .*truncated/);
  assert.throws(() => encodeNpz({ s: { dtype: "string", dims: [1], data: ["a"] } }), /array "s": a string tensor/);
});

test("writeNpz and readNpz round-trip through a file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "octet-npz-"));
  try {
    const path = join(dir, "feeds.npz");
    await writeNpz(path, new Map([["input", { dtype: "uint16", dims: [2], data: new Uint16Array([7, 65535]) }]]));
    const arrays = await readNpz(path);
    assert.deepEqual(Array.from(arrays.get("input")!.data as Uint16Array), [7, 65535]);
    await assert.rejects(readNpz(join(dir, "none.npz")), /cannot read .*none\.npz/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
