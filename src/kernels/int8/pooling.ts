/**
 * MaxPool and AveragePool on the WebAssembly module (assembly/int8/pooling.ts), for the reference
 * kernels' plans and bit for bit their results. Geometries where a window could see no input at
 * all (pads as large as the kernel, ceil mode) go to the reference kernel, which reports them.
 */
import {
  type AveragePool2dPlan, type Int8Tensor, type MaxPool2dPlan, averagePool2d, int8Data, maxPool2d, slidingOutputSize,
} from "../reference/index.js";
import type { Tensor } from "../../tensor/tensor.js";
import { requantizeByteTable } from "./movement.js";
import type { KernelTask } from "./thread_pool.js";
import type { Int8Wasm } from "./wasm.js";

interface Geometry {
  window: MaxPool2dPlan["window"];
  kernelH: number;
  kernelW: number;
  ceilMode: boolean;
}

/** True when every window of every input size has at least one tap inside the image. */
export function alwaysSeesInput(g: Geometry): boolean {
  const w = g.window;
  return !g.ceilMode && w.padTop < g.kernelH && w.padBottom < g.kernelH && w.padLeft < g.kernelW && w.padRight < g.kernelW &&
    w.dilationH === 1 && w.dilationW === 1;
}

export function outputSize(g: Geometry, h: number, w: number): [number, number] {
  const win = g.window;
  return [
    slidingOutputSize(h, g.kernelH, win.strideH, win.padTop, win.padBottom, win.dilationH, g.ceilMode, "pool"),
    slidingOutputSize(w, g.kernelW, win.strideW, win.padLeft, win.padRight, win.dilationW, g.ceilMode, "pool"),
  ];
}

function planeTasks(wasm: Int8Wasm, planes: number, work: number, task: (p0: number, p1: number) => KernelTask): KernelTask[] {
  const parts = work >= 1 << 16 && wasm.threads > 1 ? Math.min(planes, wasm.threads * 4) : 1;
  const per = Math.ceil(planes / parts);
  const tasks: KernelTask[] = [];
  for (let p0 = 0; p0 < planes; p0 += per) tasks.push(task(p0, Math.min(planes, p0 + per)));
  return tasks;
}

export function wasmMaxPool(wasm: Int8Wasm, plan: MaxPool2dPlan): (x: Tensor) => Int8Tensor {
  if (!alwaysSeesInput(plan)) return (x) => maxPool2d(plan, x);
  const bytes = requantizeByteTable(plan.requantize);
  const table = bytes ? wasm.persistent(256) : 0;
  if (bytes) wasm.u8.set(bytes, table);
  const win = plan.window;
  return (x) => {
    if (x.dtype !== plan.requantize.inputDType || x.dims.length !== 4) return maxPool2d(plan, x);
    const data = int8Data(x, "maxPool2d input");
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const [oh, ow] = outputSize(plan, h, w);
    const y = wasm.newTensor(plan.requantize.outputDType, [n, c, oh, ow]);
    wasm.beginCall();
    try {
      const src = wasm.putBytes(data);
      const out = wasm.offsetOf(y.data)!;
      wasm.run(planeTasks(wasm, n * c, y.data.length * plan.kernelH * plan.kernelW, (p0, p1) => ({
        kernel: "maxPool",
        args: [src, h, w, plan.kernelH, plan.kernelW, win.strideH, win.strideW, win.padTop, win.padLeft, win.dilationH, win.dilationW,
          oh, ow, x.dtype === "int8" ? 1 : 0, table, p0, p1, out],
      })));
    } finally {
      wasm.endCall();
    }
    return y;
  };
}

export function wasmAveragePool(wasm: Int8Wasm, plan: AveragePool2dPlan): (x: Tensor) => Int8Tensor {
  if (!alwaysSeesInput(plan)) return (x) => averagePool2d(plan, x);
  const r = plan.rescale;
  const multipliers = r.sameParams ? 0 : wasm.persistentInt32(r.multipliers.flatMap((m) => [m.multiplier, m.shift, m.inputShift]));
  const win = plan.window;
  return (x) => {
    if (x.dtype !== r.inputDType || x.dims.length !== 4) return averagePool2d(plan, x);
    const data = int8Data(x, "averagePool2d input");
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const [oh, ow] = outputSize(plan, h, w);
    const y = wasm.newTensor(r.outputDType, [n, c, oh, ow]);
    wasm.beginCall();
    try {
      const src = wasm.putBytes(data);
      const out = wasm.offsetOf(y.data)!;
      wasm.run(planeTasks(wasm, n * c, y.data.length * plan.kernelH * plan.kernelW, (p0, p1) => ({
        kernel: "averagePool",
        args: [src, h, w, plan.kernelH, plan.kernelW, win.strideH, win.strideW, win.padTop, win.padLeft, win.padBottom, win.padRight,
          win.dilationH, win.dilationW, oh, ow, x.dtype === "int8" ? 1 : 0, r.inputZeroPoint, plan.countIncludePad ? 1 : 0, multipliers,
          r.outputZeroPoint, r.qmin, r.qmax, p0, p1, out],
      })));
    } finally {
      wasm.endCall();
    }
    return y;
  };
}
