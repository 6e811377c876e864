/** observe/: streaming, mergeable, serialisable observers that turn calibration data into ranges. */
export {
  OBSERVER_METHODS, DEFAULT_OBSERVER_OPTIONS, resolveObserverOptions,
  type Observer, type ObserverMethod, type ObserverOptions, type ResolvedObserverOptions, type Range,
  type ObserverState, type MinMaxState, type MovingAverageState, type HistogramObserverState,
} from "./observer.js";
export { createObserver, observerFromState } from "./create.js";
export { SymmetricHistogram, powerOfTwoAbove, type HistogramState } from "./histogram.js";
export { HistogramObserver } from "./histogram_observer.js";
export { MinMaxObserver, symmetricCover, symmetricRange } from "./minmax.js";
export { MovingAverageMinMaxObserver } from "./moving_average.js";
export { PercentileObserver, histogramQuantile } from "./percentile.js";
export {
  EntropyObserver, entropyCalibration, entropyThreshold, entropyDivergence, candidateDistribution,
  referenceDistribution, klDivergence, type EntropyCalibration,
} from "./entropy.js";
export {
  MseObserver, mseRange, squaredQuantizationError, symmetricGrid, asymmetricGrid, integerSpan, binCentres,
  type QuantizationGrid, type MseSearchInput,
} from "./mse.js";
