/**
 * The 8-bit WebAssembly convolution kernels on the PP-OCRv4 detector's and recogniser's own layer
 * shapes (batch 1): depthwise, 1×1 with few input channels, the 3-channel stems and the 3×3
 * convolutions of the detector's neck, each timed alone through the engine's entry point
 * (src/kernels/int8/conv.ts: prepared once, then called on a resident input).
 *
 *   node --import tsx bench/runtime_conv_shapes.ts [--threads 1,2] [--rounds 15] [--only dw,pw,conv] [--table]
 *                                                 [--compare DIR]
 *
 * Reports per shape the median (and fastest) time of `rounds` calls after a warm-up and the
 * throughput 2·MACs / time in GOP/s. `--table` fuses a byte table into every layer's output (the
 * engine does this for Hardswish and other element-wise activations). `--compare DIR` loads the
 * kernels of another octet checkout (e.g. a `git worktree` of an older commit, with a node_modules
 * link to this one's; it builds its own build/wasm/int8.wasm) into the same process and times
 * both, taking turns call by call, so that load from other processes hits both alike: the ratio
 * columns (other / this, > 1: this tree is faster; of the medians, then of the fastest calls)
 * are the figures to compare, not seconds across runs.
 */
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Tensor } from "../src/tensor/tensor.js";

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

interface Shape {
  kind: "dw" | "pw" | "conv";
  /** Input [C, H, W]. */
  input: [number, number, number];
  outChannels: number;
  kernel: [number, number];
  strides: [number, number];
  /** Where the shape occurs. */
  model: string;
}

const dw = (c: number, h: number, w: number, k: number, sh: number, sw: number, model: string): Shape =>
  ({ kind: "dw", input: [c, h, w], outChannels: c, kernel: [k, k], strides: [sh, sw], model });
const pw = (c: number, h: number, w: number, out: number, model: string): Shape =>
  ({ kind: "pw", input: [c, h, w], outChannels: out, kernel: [1, 1], strides: [1, 1], model });
const conv = (c: number, h: number, w: number, out: number, k: number, s: number, model: string): Shape =>
  ({ kind: "conv", input: [c, h, w], outChannels: out, kernel: [k, k], strides: [s, s], model });

const SHAPES: Shape[] = [
  dw(16, 240, 320, 3, 1, 1, "det"), dw(32, 240, 320, 3, 2, 2, "det"), dw(48, 120, 160, 3, 1, 1, "det"),
  dw(48, 120, 160, 3, 2, 2, "det"), dw(96, 60, 80, 3, 1, 1, "det"), dw(192, 30, 40, 5, 1, 1, "det"),
  dw(384, 15, 20, 5, 1, 1, "det"), dw(64, 24, 160, 3, 1, 1, "rec"), dw(64, 24, 160, 3, 2, 1, "rec"),
  dw(128, 12, 160, 3, 1, 2, "rec"), dw(240, 12, 80, 5, 1, 1, "rec"), dw(480, 6, 80, 5, 2, 1, "rec"),
  pw(16, 240, 320, 32, "det"), pw(12, 120, 160, 96, "det"), pw(32, 120, 160, 48, "det"), pw(48, 120, 160, 48, "det"),
  pw(48, 120, 160, 12, "det"), pw(18, 60, 80, 96, "det"), pw(192, 15, 20, 384, "det"), pw(16, 24, 160, 32, "rec"),
  pw(32, 24, 160, 64, "rec"), pw(64, 12, 160, 128, "rec"), pw(240, 12, 80, 240, "rec"),
  conv(3, 480, 640, 16, 3, 2, "det"), conv(3, 48, 320, 16, 3, 2, "rec"), conv(96, 120, 160, 24, 3, 1, "det"),
];

const threadsList = arg("threads", "1,2").split(",").map(Number);
const rounds = Number(arg("rounds", "15"));
const only = new Set(arg("only", "dw,pw,conv").split(","));
const withTable = process.argv.includes("--table");
const here = resolve(fileURLToPath(import.meta.url), "..", "..");
const compare = process.argv.includes("--compare") ? resolve(arg("compare", "")) : undefined;

/** One checkout's kernels, loaded by path so that two checkouts can share a process. */
interface Tree {
  label: string;
  Int8Wasm: typeof import("../src/kernels/int8/wasm.js").Int8Wasm;
  wasmConv2d: typeof import("../src/kernels/int8/conv.js").wasmConv2d;
  prepareConv2d: typeof import("../src/kernels/reference/index.js").prepareConv2d;
}

async function loadTree(root: string, label: string): Promise<Tree> {
  const src = (p: string) => join(root, "src", p);
  const { Int8Wasm } = await import(src("kernels/int8/wasm.ts")) as Pick<Tree, "Int8Wasm">;
  const { wasmConv2d } = await import(src("kernels/int8/conv.ts")) as Pick<Tree, "wasmConv2d">;
  const { prepareConv2d } = await import(src("kernels/reference/index.ts")) as Pick<Tree, "prepareConv2d">;
  return { label, Int8Wasm, wasmConv2d, prepareConv2d };
}

/** Deterministic pseudo-random bytes. */
function bytes(n: number, seed: number): Uint8Array {
  let s = seed >>> 0;
  return Uint8Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s >>> 24;
  });
}

function layer(tree: Tree, wasm: InstanceType<Tree["Int8Wasm"]>, s: Shape): { run: () => void; macs: number } {
  const [c, h, w] = s.input;
  const group = s.kind === "dw" ? c : 1;
  const [kh, kw] = s.kernel;
  const pads: [number, number, number, number] = [kh >> 1, kw >> 1, kh >> 1, kw >> 1];
  const outC = s.outChannels;
  const inPerGroup = c / group;
  const q = (scale: ArrayLike<number>, zero: ArrayLike<number>, dtype: "uint8" | "int8", axis?: number) =>
    ({ dtype, scale: Float32Array.from(scale), zeroPoint: Int32Array.from(zero), ...(axis === undefined ? {} : { axis }) });
  const wScales = Array.from({ length: outC }, (_, i) => 0.002 + 0.0001 * (i % 13));
  const plan = tree.prepareConv2d({ strides: s.strides, pads, group }, {
    input: q([0.02], [131], "uint8"), weight: q(wScales, new Array(outC).fill(0), "int8", 0), output: q([0.05], [117], "uint8"),
  });
  const weight: Tensor = { dtype: "int8", dims: [outC, inPerGroup, kh, kw], data: new Int8Array(bytes(outC * inPerGroup * kh * kw, 7).buffer) };
  const bias = Int32Array.from({ length: outC }, (_, i) => ((i * 7919) % 4001) - 2000);
  const kernel = tree.wasmConv2d(wasm, plan, weight, bias);
  if (withTable) kernel.fuseOutputTable(bytes(256, 11), "uint8");
  // A resident input, as in the engine (one kernel's output is the next one's input).
  const x = wasm.newTensor("uint8", [1, c, h, w]);
  (x.data as Uint8Array).set(bytes(c * h * w, 3));
  const oh = Math.floor((h + 2 * (kh >> 1) - kh) / s.strides[0]) + 1;
  const ow = Math.floor((w + 2 * (kw >> 1) - kw) / s.strides[1]) + 1;
  return {
    run: () => { wasm.release(kernel(x).data); },
    macs: outC * oh * ow * inPerGroup * kh * kw,
  };
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1]!;
}

const trees = [await loadTree(here, "this")];
if (compare) trees.push(await loadTree(compare, "other"));
console.log(`load average: ${loadavg().map((v) => v.toFixed(2)).join(", ")}; ${rounds} rounds${withTable ? ", fused output table" : ""}${compare ? `; other = ${compare}` : ""}`);
for (const threads of threadsList) {
  const wasms = trees.map((t) => new t.Int8Wasm({ threads }));
  console.log(`\n${threads} thread${threads > 1 ? "s" : ""}`);
  const head = ["model", "layer".padEnd(38), "ms".padStart(7), "(min)".padStart(7), "GOP/s".padStart(7)];
  if (compare) head.push("other ms".padStart(9), "(min)".padStart(7), "GOP/s".padStart(7), "ratio".padStart(6), "(min)".padStart(6));
  console.log(head.join(" "));
  let total = 0, totalOther = 0;
  for (const s of SHAPES.filter((x) => only.has(x.kind))) {
    const layers = trees.map((t, i) => layer(t, wasms[i]!, s));
    const times = trees.map(() => [] as number[]);
    for (const l of layers) l.run();
    for (let r = 0; r < rounds; r++) {
      layers.forEach((l, i) => {
        const t0 = performance.now();
        l.run();
        times[i]!.push(performance.now() - t0);
      });
    }
    const macs = layers[0]!.macs;
    const ms = times.map(median);
    total += ms[0]!;
    const name = `${s.kind} [${s.input}]→${s.outChannels} ${s.kernel.join("×")}/${s.strides.join(",")}`;
    const row = [s.model.padEnd(5), name.padEnd(38), ms[0]!.toFixed(3).padStart(7), Math.min(...times[0]!).toFixed(3).padStart(7),
      (2 * macs / ms[0]! / 1e6).toFixed(1).padStart(7)];
    if (compare) {
      totalOther += ms[1]!;
      const min = times.map((t) => Math.min(...t));
      row.push(ms[1]!.toFixed(3).padStart(9), min[1]!.toFixed(3).padStart(7), (2 * macs / ms[1]! / 1e6).toFixed(1).padStart(7),
        (ms[1]! / ms[0]!).toFixed(2).padStart(6), (min[1]! / min[0]!).toFixed(2).padStart(6));
    }
    console.log(row.join(" "));
  }
  console.log(`sum of medians: ${total.toFixed(2)} ms${compare ? `, other ${totalOther.toFixed(2)} ms (ratio ${(totalOther / total).toFixed(2)})` : ""}`);
  for (const w of wasms) w.dispose();
}
