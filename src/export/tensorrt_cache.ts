/**
 * TensorRT calibration cache (the file IInt8Calibrator::writeCalibrationCache produces): a header
 * line `TRT-<version>-<algorithm>` and one line per tensor `name: <hex>`, where hex is the 8
 * big-endian hex digits of the IEEE-754 float32 scale amax/127 (TensorRT's INT8 is symmetric).
 */
import type { QParams } from "../quant/qparams.js";
import type { CalibrationMethod } from "../calibrate/calibrate.js";

export interface TensorRtCacheOptions {
  /** TensorRT version as it writes it, e.g. 8601 for 8.6.1. */
  version?: number;
  method: CalibrationMethod;
}

export function tensorRtCache(params: Map<string, QParams>, names: Iterable<string>, options: TensorRtCacheOptions): string {
  const algorithm = options.method === "entropy" ? "EntropyCalibration2" : "MinMaxCalibration";
  const lines = [`TRT-${options.version ?? 8601}-${algorithm}`];
  for (const name of names) {
    const qp = params.get(name);
    if (!qp) continue;
    if (qp.scale.length !== 1 || qp.zeroPoint[0] !== 0 || qp.dtype !== "int8") {
      throw new Error(`tensor ${name}: a TensorRT cache needs symmetric per-tensor int8 params (use --preset tensorrt)`);
    }
    lines.push(`${name}: ${float32Hex(qp.scale[0]!)}`);
  }
  return lines.join("\n") + "\n";
}

export function float32Hex(x: number): string {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, x, false);
  return view.getUint32(0, false).toString(16).padStart(8, "0");
}
