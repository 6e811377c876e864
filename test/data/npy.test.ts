import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeNpy, parseNpy, readNpy, writeNpy } from "../../src/data/npy.js";
import type { Tensor } from "../../src/tensor/tensor.js";

/** Build a .npy file by hand: magic, version, little-endian header length, header text, data. */
function handMade(major: number, header: string, data: Uint8Array): Uint8Array {
  const headerBytes = new TextEncoder().encode(header);
  const lengthBytes = major === 1 ? 2 : 4;
  const out = new Uint8Array(8 + lengthBytes + headerBytes.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const n = headerBytes.length;
  if (major === 1) out.set([n & 0xff, n >> 8], 8);
  else out.set([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24], 8);
  out.set(headerBytes, 8 + lengthBytes);
  out.set(data, 8 + lengthBytes + n);
  return out;
}

test("parses a hand-built v1.0 float32 file", () => {
  // float32 little-endian: 1.0 = 00 00 80 3f, 2.0 = 00 00 00 40, -0.5 = 00 00 00 bf,
  // 0 = 00 00 00 00, 3.0 = 00 00 40 40, 0.25 = 00 00 80 3e.
  const data = new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0, 0xbf, 0, 0, 0, 0, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0x3e]);
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + " ".repeat(3) + "\n";
  const t = parseNpy(handMade(1, header, data));
  assert.equal(t.dtype, "float32");
  assert.deepEqual(t.dims, [2, 3]);
  assert.deepEqual(Array.from(t.data as Float32Array), [1, 2, -0.5, 0, 3, 0.25]);
});

test("parses v2.0 and v3.0 headers, double quotes, no trailing comma, Python 2 longs", () => {
  const int16 = new Uint8Array([0x01, 0x00, 0xff, 0xff, 0x00, 0x80]); // 1, -1, -32768
  const v2 = parseNpy(handMade(2, '{"descr": "<i2", "shape": (3L,), "fortran_order": False}\n', int16));
  assert.equal(v2.dtype, "int16");
  assert.deepEqual(v2.dims, [3]);
  assert.deepEqual(Array.from(v2.data as Int16Array), [1, -1, -32768]);
  const v3 = parseNpy(handMade(3, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }\n", new Uint8Array([0, 1, 254, 255])));
  assert.equal(v3.dtype, "uint8");
  assert.deepEqual(Array.from(v3.data as Uint8Array), [0, 1, 254, 255]);
});

test("parses a scalar, an empty array, bool, int64, float64 and float16", () => {
  const f8 = new Uint8Array(new Float64Array([Math.PI]).buffer);
  const scalar = parseNpy(handMade(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", f8));
  assert.deepEqual(scalar.dims, []);
  assert.equal((scalar.data as Float64Array)[0], Math.PI);

  const empty = parseNpy(handMade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }\n", new Uint8Array(0)));
  assert.deepEqual(empty.dims, [0, 5]);
  assert.equal(empty.data.length, 0);

  const bools = parseNpy(handMade(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", new Uint8Array([1, 0, 1])));
  assert.equal(bools.dtype, "bool");
  assert.deepEqual(Array.from(bools.data as Uint8Array), [1, 0, 1]);

  // -2 as int64 little-endian: fe ff ff ff ff ff ff ff
  const i8 = parseNpy(handMade(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
  assert.equal(i8.dtype, "int64");
  assert.equal((i8.data as BigInt64Array)[0], -2n);

  // half 1.0 = 0x3c00, -2.0 = 0xc000
  const f2 = parseNpy(handMade(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }\n", new Uint8Array([0x00, 0x3c, 0x00, 0xc0])));
  assert.equal(f2.dtype, "float16");
  assert.deepEqual(Array.from(f2.data as Uint16Array), [0x3c00, 0xc000]);
});

test("accepts fortran_order True when the layout equals C order (one dimension longer than 1)", () => {
  const t = parseNpy(handMade(1, "{'descr': '|i1', 'fortran_order': True, 'shape': (1, 3), }\n", new Uint8Array([1, 2, 0xff])));
  assert.deepEqual(Array.from(t.data as Int8Array), [1, 2, -1]);
});

test("rejects big-endian, Fortran order, unknown dtypes, objects, structured dtypes with clear errors", () => {
  const be = handMade(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(4));
  assert.throws(() => parseNpy(be), /big-endian/);
  const fortran = handMade(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", new Uint8Array(16));
  assert.throws(() => parseNpy(fortran), /Fortran order/);
  const complex = handMade(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(8));
  assert.throws(() => parseNpy(complex), /dtype "<c8" is not supported/);
  const object = handMade(1, "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(8));
  assert.throws(() => parseNpy(object), /object arrays/);
  const structured = handMade(1, "{'descr': [('x', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(4));
  assert.throws(() => parseNpy(structured), /structured dtypes/);
  const noShape = handMade(1, "{'descr': '<f4', 'fortran_order': False}\n", new Uint8Array(0));
  assert.throws(() => parseNpy(noShape), /'shape'/);
});

test("rejects bad magic, unknown versions, truncated and overlong files", () => {
  assert.throws(() => parseNpy(new TextEncoder().encode("PK\x03\x04 not numpy at all")), /magic/);
  const v4 = handMade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", new Uint8Array(4));
  v4[6] = 4;
  assert.throws(() => parseNpy(v4), /version 4\.0/);
  const good = handMade(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", new Uint8Array(16));
  assert.throws(() => parseNpy(good.subarray(0, good.length - 1)), /truncated: .* needs 16 data bytes, found 15/);
  assert.throws(() => parseNpy(good.subarray(0, 30)), /truncated: its header claims/);
  const longer = new Uint8Array(good.length + 2);
  longer.set(good);
  assert.throws(() => parseNpy(longer), /2 unexpected bytes/);
  const garbage = handMade(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }\n", new Uint8Array(4));
  assert.throws(() => parseNpy(garbage), /not a valid Python literal/);
});

test("encodes the exact header NumPy writes, aligned to 64 bytes", () => {
  const t: Tensor = { dtype: "float32", dims: [3], data: new Float32Array([1, 2, 3]) };
  const bytes = encodeNpy(t);
  const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  // 10 prefix bytes + dict (57) + padding + '\n' = 128 (the next multiple of 64 above 68).
  assert.equal(dict.length, 57); // 10 + 7 + 17 + 7 + 9 + 6 + 1 characters
  const headerLength = 128 - 10;
  assert.deepEqual(Array.from(bytes.subarray(0, 10)), [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, headerLength, 0]);
  const header = new TextDecoder("latin1").decode(bytes.subarray(10, 128));
  assert.equal(header, dict + " ".repeat(headerLength - dict.length - 1) + "\n");
  assert.equal(bytes.length, 128 + 12);
  assert.deepEqual(Array.from(bytes.subarray(128, 132)), [0, 0, 0x80, 0x3f]); // 1.0f
  // Python's repr of shapes: "()" for a scalar, "(2, 3)" for two dims.
  const scalarHeader = new TextDecoder().decode(encodeNpy({ dtype: "int32", dims: [], data: new Int32Array([7]) }));
  assert.match(scalarHeader, /'shape': \(\), \}/);
  assert.match(new TextDecoder().decode(encodeNpy({ dtype: "uint8", dims: [2, 3], data: new Uint8Array(6) })), /'descr': '\|u1', 'fortran_order': False, 'shape': \(2, 3\), \}/);
});

test("round-trips every supported dtype, including views with a byte offset", () => {
  const cases: Tensor[] = [
    { dtype: "float32", dims: [2, 2], data: new Float32Array([1.5, -2, 3e-8, 1e30]) },
    { dtype: "float64", dims: [3], data: new Float64Array([Math.E, -0, 1e-300]) },
    { dtype: "float16", dims: [2], data: new Uint16Array([0x3c00, 0x7bff]) },
    { dtype: "int8", dims: [2], data: new Int8Array([-128, 127]) },
    { dtype: "uint8", dims: [1, 1, 2], data: new Uint8Array([0, 255]) },
    { dtype: "int16", dims: [2], data: new Int16Array([-32768, 32767]) },
    { dtype: "uint16", dims: [2], data: new Uint16Array([0, 65535]) },
    { dtype: "int32", dims: [2], data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) },
    { dtype: "uint32", dims: [1], data: new Uint32Array([2 ** 32 - 1]) },
    { dtype: "int64", dims: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) },
    { dtype: "uint64", dims: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    { dtype: "bool", dims: [3], data: new Uint8Array([1, 0, 1]) },
    { dtype: "float32", dims: [2], data: new Float32Array([9, 8, 7, 6]).subarray(1, 3) },
  ];
  for (const t of cases) {
    const back = parseNpy(encodeNpy(t));
    assert.equal(back.dtype, t.dtype);
    assert.deepEqual(back.dims, t.dims);
    assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(t.data as ArrayLike<unknown>));
  }
});

test("a header over 64 KiB switches to format 2.0", () => {
  const dims = new Array<number>(30000).fill(1);
  const bytes = encodeNpy({ dtype: "uint8", dims, data: new Uint8Array(1) });
  assert.equal(bytes[6], 2);
  const headerLength = new DataView(bytes.buffer).getUint32(8, true);
  assert.equal((12 + headerLength) % 64, 0);
  assert.deepEqual(parseNpy(bytes).dims, dims);
});

test("refuses tensors NumPy cannot hold", () => {
  assert.throws(() => encodeNpy({ dtype: "int4", dims: [1], data: new Int8Array(1) }), /int4 tensor has no NumPy .npy dtype: widen/);
  assert.throws(() => encodeNpy({ dtype: "string", dims: [1], data: ["a"] }), /string tensor/);
  assert.throws(() => encodeNpy({ dtype: "float32", dims: [3], data: new Float32Array(2) }), /holds 2 values instead of 3/);
});

test("writeNpy writes atomically (no temp files left) and readNpy names the file in errors", async () => {
  const dir = await mkdtemp(join(tmpdir(), "octet-npy-"));
  try {
    const path = join(dir, "x.npy");
    const t: Tensor = { dtype: "int32", dims: [2, 2], data: new Int32Array([1, 2, 3, 4]) };
    await writeNpy(path, t);
    await writeNpy(path, { ...t, data: new Int32Array([5, 6, 7, 8]) }); // overwrite in place
    assert.deepEqual(await readdir(dir), ["x.npy"]);
    assert.deepEqual(Array.from((await readNpy(path)).data as Int32Array), [5, 6, 7, 8]);
    const bytes = await readFile(path);
    await writeFile(join(dir, "cut.npy"), bytes.subarray(0, bytes.length - 3));
    await assert.rejects(readNpy(join(dir, "cut.npy")), (e: Error) => e.message.includes("cut.npy") && e.message.includes("truncated"));
    await assert.rejects(readNpy(join(dir, "missing.npy")), /cannot read .*missing\.npy/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
