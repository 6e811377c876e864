/**
 * The observer contract (PyTorch-observer style, two verbs): `update(values)` records statistics of
 * one batch of a tensor, `range()` turns them into the clipping range [min, max] that quant/ maps to
 * a scale and zero point. State is plain JSON and mergeable, so calibration can be split across
 * processes or machines and the parts combined.
 *
 * This file holds what all observers share: the interface, the options and their validation, the
 * serialised state types and the two errors every observer raises (non-finite input, no data).
 */
import type { HistogramState } from "./histogram.js";

export type ObserverMethod = "minmax" | "moving-average" | "percentile" | "entropy" | "mse";

export const OBSERVER_METHODS: readonly ObserverMethod[] = [
  "minmax", "moving-average", "percentile", "entropy", "mse",
];

/** A clipping range. quant/ widens it to include 0 before computing parameters. */
export interface Range {
  min: number;
  max: number;
}

export interface ObserverOptions {
  /** Target integer width; decides the number of quantization levels (entropy, MSE). Default 8. */
  bits?: number;
  /** Symmetric about 0 (range = [−T, T]) or asymmetric (tight [lo, hi]). Default false. */
  symmetric?: boolean;
  /**
   * Narrow integer range (e.g. [−127, 127] instead of [−128, 127]). Only the MSE observer uses it,
   * to model the integer grid quant/ will actually use. Default false.
   */
  narrowRange?: boolean;
  /** Percentile observer: the percentile kept, in [50, 100]. Default 99.99 (NVIDIA pytorch-quantization). */
  percentile?: number;
  /** Moving-average observer: weight of each new batch, in (0, 1]. Default 0.01 (PyTorch). */
  averagingConstant?: number;
  /** Histogram observers: number of |x| bins (a power of two); the signed histogram has twice as many. Default 2048. */
  bins?: number;
}

/** Options with every default filled in; this is what observer state records. */
export interface ResolvedObserverOptions {
  bits: number;
  symmetric: boolean;
  narrowRange: boolean;
  percentile: number;
  averagingConstant: number;
  bins: number;
}

export const DEFAULT_OBSERVER_OPTIONS: Readonly<ResolvedObserverOptions> = Object.freeze({
  bits: 8,
  symmetric: false,
  narrowRange: false,
  percentile: 99.99,
  averagingConstant: 0.01,
  bins: 2048,
});

export interface MinMaxState {
  method: "minmax";
  options: ResolvedObserverOptions;
  /** null until a value has been observed (JSON has no ±Infinity). */
  min: number | null;
  max: number | null;
  count: number;
}

export interface MovingAverageState {
  method: "moving-average";
  options: ResolvedObserverOptions;
  min: number | null;
  max: number | null;
  /** Number of non-empty batches averaged; the weight of this state when merging. */
  batches: number;
}

export interface HistogramObserverState {
  method: "percentile" | "entropy" | "mse";
  options: ResolvedObserverOptions;
  histogram: HistogramState;
}

/** Plain JSON-serialisable observer state; `observerFromState` rebuilds an observer from it. */
export type ObserverState = MinMaxState | MovingAverageState | HistogramObserverState;

export interface Observer {
  readonly method: ObserverMethod;
  readonly options: Readonly<ResolvedObserverOptions>;
  /** Record one batch. Throws (and records nothing) if any value is NaN or ±Infinity. */
  update(values: Float32Array): void;
  /** The clipping range. Throws if no value has been observed. */
  range(): Range;
  /** A plain JSON-serialisable snapshot (a copy: later updates do not change it). */
  state(): ObserverState;
  /** Add another observer's statistics (same method and options) to this one. */
  merge(other: Observer | ObserverState): void;
}

/** The error `range()` throws on an observer that has seen no data. */
export function noDataError(method: ObserverMethod): Error {
  return new Error(`${method} observer: no calibration data observed`);
}

export function assertFloat32Array(values: unknown, method: ObserverMethod): asserts values is Float32Array {
  if (!(values instanceof Float32Array)) {
    throw new Error(`${method} observer: update() takes a Float32Array, got ${describe(values)}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

const OPTION_KEYS = new Set(Object.keys(DEFAULT_OBSERVER_OPTIONS));

/** Fills defaults and rejects unknown keys and out-of-range values with a message naming the option. */
export function resolveObserverOptions(options: ObserverOptions = {}): ResolvedObserverOptions {
  if (options === null || typeof options !== "object") {
    throw new Error(`observer options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      throw new Error(`unknown observer option "${key}" (known: ${[...OPTION_KEYS].join(", ")})`);
    }
  }
  const o: ResolvedObserverOptions = { ...DEFAULT_OBSERVER_OPTIONS };
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (o as unknown as Record<string, unknown>)[key] = value;
  }
  if (!Number.isInteger(o.bits) || o.bits < 2 || o.bits > 16) {
    throw new Error(`observer option bits must be an integer in [2, 16], got ${o.bits}`);
  }
  if (typeof o.symmetric !== "boolean") {
    throw new Error(`observer option symmetric must be a boolean, got ${describe(o.symmetric)}`);
  }
  if (typeof o.narrowRange !== "boolean") {
    throw new Error(`observer option narrowRange must be a boolean, got ${describe(o.narrowRange)}`);
  }
  if (typeof o.percentile !== "number" || !(o.percentile >= 50 && o.percentile <= 100)) {
    throw new Error(`observer option percentile must be a number in [50, 100], got ${o.percentile}`);
  }
  if (typeof o.averagingConstant !== "number" || !(o.averagingConstant > 0 && o.averagingConstant <= 1)) {
    throw new Error(`observer option averagingConstant must be in (0, 1], got ${o.averagingConstant}`);
  }
  if (!isPowerOfTwo(o.bins) || o.bins < 2 || o.bins > 1 << 24) {
    // A power of two makes every bin edge k·R/bins an exact binary fraction of the (power-of-two)
    // histogram limit R, which is what makes growing and merging histograms exact.
    throw new Error(`observer option bins must be a power of two in [2, 2^24], got ${o.bins}`);
  }
  return o;
}

export function sameOptions(a: ResolvedObserverOptions, b: ResolvedObserverOptions): boolean {
  for (const key of OPTION_KEYS) {
    if ((a as unknown as Record<string, unknown>)[key] !== (b as unknown as Record<string, unknown>)[key]) return false;
  }
  return true;
}

/**
 * Turns a merge argument into state and checks it fits `self`: same method, same options (merging
 * statistics gathered for a different target is almost certainly a wiring mistake).
 */
export function stateToMerge(self: Observer, other: Observer | ObserverState): ObserverState {
  if (other === null || typeof other !== "object") {
    throw new Error(`${self.method} observer: merge() takes an observer or observer state, got ${describe(other)}`);
  }
  const state = typeof (other as Observer).state === "function" ? (other as Observer).state() : (other as ObserverState);
  if (state.method !== self.method) {
    throw new Error(`${self.method} observer: cannot merge state of a ${String(state.method)} observer`);
  }
  const options = resolveObserverOptions(state.options);
  if (!sameOptions(self.options, options)) {
    throw new Error(
      `${self.method} observer: cannot merge observers with different options ` +
        `(${JSON.stringify(self.options)} vs ${JSON.stringify(options)})`,
    );
  }
  return state;
}

/** Reads an optional finite number from state (null = nothing observed). */
export function nullableFinite(value: unknown, what: string): number | null {
  if (value === null) return null;
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new Error(`observer state: ${what} must be a finite number or null, got ${String(value)}`);
  }
  return value;
}

export function nonNegativeInteger(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`observer state: ${what} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}
