/** Parsers for option values shared by the commands; each error names the option and the value. */
import { InvalidArgumentError } from "commander";
import type { DataSourceOptions } from "../data/source.js";
import type { ImageLayout } from "../data/images.js";

export function positiveInt(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got "${v}"`);
    return n;
  };
}

export function numberList(v: string): number[] {
  const parts = v.split(",").map((s) => Number(s.trim()));
  if (!parts.length || parts.some((n) => !Number.isFinite(n))) throw new InvalidArgumentError(`expected comma-separated numbers, got "${v}"`);
  return parts;
}

export function imageSize(v: string): [number, number] {
  const parts = v.toLowerCase().split(/[x,]/).map(Number);
  if (parts.length === 1 && Number.isInteger(parts[0]) && parts[0]! > 0) return [parts[0]!, parts[0]!];
  if (parts.length !== 2 || parts.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(`--size must be HxW (e.g. 224x224), got "${v}"`);
  return [parts[0]!, parts[1]!];
}

export function list(v: string, previous: string[] = []): string[] {
  return [...previous, ...v.split(",").map((s) => s.trim()).filter(Boolean)];
}

/** `name:d1,d2,...` → [name, dims]; repeatable. */
export function inputShape(v: string, previous: Record<string, number[]> = {}): Record<string, number[]> {
  const m = /^(.+):([0-9]+(?:[x,][0-9]+)*)$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`--input-shape must be name:d1,d2,... (e.g. x:1,3,224,224), got "${v}"`);
  return { ...previous, [m[1]!]: m[2]!.split(/[x,]/).map(Number) };
}

export interface DataCliOptions {
  inputShape?: Record<string, number[]>;
  samples?: number;
  batch?: number;
  size?: [number, number];
  mean?: number[];
  std?: number[];
  layout?: string;
  bgr?: boolean;
  seed?: number;
}

export function dataSourceOptions(o: DataCliOptions, label: string): DataSourceOptions {
  const image: DataSourceOptions["image"] = {};
  if (o.size) image.size = o.size;
  if (o.mean) image.mean = o.mean;
  if (o.std) image.std = o.std;
  if (o.layout) {
    if (o.layout !== "NCHW" && o.layout !== "NHWC") throw new Error(`--layout must be NCHW or NHWC, got "${o.layout}"`);
    image.layout = o.layout as ImageLayout;
  }
  if (o.bgr) image.bgr = true;
  const options: DataSourceOptions = { image, label, warn: (m) => process.stderr.write(`octet: warning: ${m}\n`) };
  if (o.samples !== undefined) options.samples = o.samples;
  if (o.batch !== undefined) options.batch = o.batch;
  if (o.seed !== undefined) options.seed = o.seed;
  if (o.inputShape) options.random = { shapes: o.inputShape };
  return options;
}

import type { Command } from "commander";

/** The data options (`--samples --batch --size --mean --std --layout --bgr --seed`) on a command. */
export function addDataOptions(cmd: Command): Command {
  return cmd
    .option("--samples <n>", "use at most N samples", positiveInt("--samples"))
    .option("--batch <n>", "samples per batch", positiveInt("--batch"))
    .option("--size <HxW>", "image size (image directories)", imageSize)
    .option("--mean <list>", "per-channel mean after /255 (image directories)", numberList)
    .option("--std <list>", "per-channel std (image directories)", numberList)
    .option("--layout <NCHW|NHWC>", "image tensor layout")
    .option("--bgr", "channels in BGR order")
    .option("--seed <n>", "seed for random data", (v) => Number(v))
    .option("--input-shape <name:dims>", "concrete shape for random data of an input with dynamic dims, e.g. x:1,3,224,224 (repeatable)", inputShape);
}
