/**
 * Building observers by method name, and rebuilding them from serialised state.
 */
import { EntropyObserver } from "./entropy.js";
import type { HistogramObserver } from "./histogram_observer.js";
import { MinMaxObserver } from "./minmax.js";
import { MovingAverageMinMaxObserver } from "./moving_average.js";
import { MseObserver } from "./mse.js";
import {
  OBSERVER_METHODS, type HistogramObserverState, type MinMaxState, type MovingAverageState, type Observer,
  type ObserverMethod, type ObserverOptions, type ObserverState,
} from "./observer.js";
import { PercentileObserver } from "./percentile.js";

export function createObserver(method: "minmax", options?: ObserverOptions): MinMaxObserver;
export function createObserver(method: "moving-average", options?: ObserverOptions): MovingAverageMinMaxObserver;
export function createObserver(method: "percentile", options?: ObserverOptions): PercentileObserver;
export function createObserver(method: "entropy", options?: ObserverOptions): EntropyObserver;
export function createObserver(method: "mse", options?: ObserverOptions): MseObserver;
export function createObserver(method: ObserverMethod, options?: ObserverOptions): Observer;
export function createObserver(method: ObserverMethod, options: ObserverOptions = {}): Observer {
  switch (method) {
    case "minmax": return new MinMaxObserver(options);
    case "moving-average": return new MovingAverageMinMaxObserver(options);
    case "percentile": return new PercentileObserver(options);
    case "entropy": return new EntropyObserver(options);
    case "mse": return new MseObserver(options);
    default:
      throw new Error(`unknown observer method "${String(method)}" (known: ${OBSERVER_METHODS.join(", ")})`);
  }
}

/** Rebuilds an observer (statistics included) from `observer.state()`, e.g. after JSON round-trip. */
export function observerFromState(state: ObserverState): Observer {
  if (state === null || typeof state !== "object") {
    throw new Error(`observer state must be an object, got ${state === null ? "null" : typeof state}`);
  }
  const method = (state as { method?: unknown }).method;
  if (typeof method !== "string" || !(OBSERVER_METHODS as readonly string[]).includes(method)) {
    throw new Error(`observer state: unknown method "${String(method)}" (known: ${OBSERVER_METHODS.join(", ")})`);
  }
  const observer = createObserver(method as ObserverMethod, state.options);
  switch (state.method) {
    case "minmax": return (observer as MinMaxObserver).restore(state as MinMaxState);
    case "moving-average": return (observer as MovingAverageMinMaxObserver).restore(state as MovingAverageState);
    default: {
      const histogramState = state as HistogramObserverState;
      if (histogramState.histogram === null || typeof histogramState.histogram !== "object") {
        throw new Error(`observer state: ${method} state has no histogram`);
      }
      return (observer as HistogramObserver).restore(histogramState);
    }
  }
}
