/**
 * Learning-rate schedules: functions from the step number (0-based, one step per batch) to the
 * learning rate. Compose a warm-up with any of them via `withWarmup`.
 */
export type LrSchedule = (step: number) => number;

function checkPositive(name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new Error(`${name} must be a finite number > 0, got ${v}`);
}

export function constantLr(lr: number): LrSchedule {
  checkPositive("lr", lr);
  return () => lr;
}

/** lr · gamma^⌊step / stepSize⌋ (PyTorch StepLR, counted in steps). */
export function stepLr(lr: number, stepSize: number, gamma: number): LrSchedule {
  checkPositive("lr", lr);
  checkPositive("stepSize", stepSize);
  return (step) => lr * gamma ** Math.floor(step / stepSize);
}

/**
 * Cosine annealing from lr to minLr over totalSteps (Loshchilov & Hutter, SGDR, 2017, without
 * restarts): minLr + (lr − minLr)·(1 + cos(π·step/totalSteps))/2, then minLr.
 */
export function cosineLr(lr: number, totalSteps: number, minLr = 0): LrSchedule {
  checkPositive("lr", lr);
  checkPositive("totalSteps", totalSteps);
  return (step) => (step >= totalSteps ? minLr : minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2);
}

/** Ramps linearly from lr/warmupSteps to the schedule's value over the first warmupSteps steps. */
export function withWarmup(schedule: LrSchedule, warmupSteps: number): LrSchedule {
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0) throw new Error(`warmupSteps must be an integer ≥ 0, got ${warmupSteps}`);
  return (step) => (step < warmupSteps ? (schedule(step) * (step + 1)) / warmupSteps : schedule(step));
}
