/** Learning-rate schedules: linear warm-up, then constant, cosine or linear decay to `minLr`. */

export type LrDecay = "constant" | "cosine" | "linear";
export const LR_DECAYS: readonly LrDecay[] = ["constant", "cosine", "linear"];

export interface LrScheduleOptions {
  /** Peak learning rate. */
  lr: number;
  /** Steps of linear warm-up from 0 (lr·(s+1)/W for s < W). Default 0. */
  warmupSteps: number;
  decay: LrDecay;
  /** Total optimizer steps (needed by cosine / linear decay). */
  totalSteps: number;
  /** Floor of the decay. Default 0. */
  minLr: number;
}

/**
 * lr(s) = lr·(s+1)/W for s < W; then with p = (s - W)/max(1, S - W) clamped to [0, 1]:
 * constant: lr; linear: minLr + (lr - minLr)(1 - p); cosine: minLr + (lr - minLr)(1 + cos(πp))/2.
 * `step` is 0-based (the update about to be applied).
 */
export function learningRate(step: number, o: LrScheduleOptions): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  if (o.decay === "constant") return o.lr;
  const p = Math.min(1, Math.max(0, (step - o.warmupSteps) / Math.max(1, o.totalSteps - o.warmupSteps)));
  if (o.decay === "linear") return o.minLr + (o.lr - o.minLr) * (1 - p);
  return o.minLr + ((o.lr - o.minLr) * (1 + Math.cos(Math.PI * p))) / 2;
}
