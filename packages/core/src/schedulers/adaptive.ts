/**
 * Adaptive mixing. Each domain keeps a fast and a slow exponential moving average of its step mean reward,
 * r̄_d ← (1-α)·r̄_d + α·r_d and r̃_d ← (1-α_s)·r̃_d + α_s·r_d (both start at `initialReward`; α_s = `slowAlpha`).
 * The score is s_d = 1 - r̄_d for `signal: "low-reward"` (default: more prompts where the policy is weak) or
 * s_d = |r̄_d - r̃_d| for `signal: "learning-progress"` (more prompts where reward moves fastest, up or down).
 * p = (1-ε)·softmax(s/τ) + ε/D, so no domain is ever starved (ε = `floor`). Domains the batch did not touch keep
 * their averages. Prompts are drawn i.i.d. from p with the scheduler's Rng.
 */
import { ConfigError } from "../errors/index.ts";
import { Rng, type RngState } from "../rng/index.ts";
import type { DomainFeedback, MixingScheduler, MixingSchedulerInfo, SchedulerState } from "./types.ts";

export interface AdaptiveOptions {
  /** EMA rate α. Default 0.3. */
  alpha: number;
  /** Softmax temperature τ. Default 0.2. */
  tau: number;
  /** Uniform floor ε. Default 0.1. */
  floor: number;
  /** r̄ before any feedback. Default 0.5. */
  initialReward: number;
  /** "low-reward" (s = 1 - r̄) or "learning-progress" (s = |r̄ - r̃|). Default "low-reward". */
  signal: "low-reward" | "learning-progress";
  /** Rate α_s of the slow average (learning progress). Default 0.05. */
  slowAlpha: number;
}

export const DEFAULT_ADAPTIVE: AdaptiveOptions = {
  alpha: 0.3,
  tau: 0.2,
  floor: 0.1,
  initialReward: 0.5,
  signal: "low-reward",
  slowAlpha: 0.05,
};

/** p = (1-ε)·softmax(s/τ) + ε/D for scores s. */
export function softmaxWithFloor(scores: readonly number[], tau: number, floor: number): number[] {
  const z = scores.map((x) => x / tau);
  const max = Math.max(...z);
  const e = z.map((x) => Math.exp(x - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => (1 - floor) * (x / s) + floor / scores.length);
}

/** p = (1-ε)·softmax((1 - r̄)/τ) + ε/D. */
export function adaptiveProbabilities(emaReward: readonly number[], tau: number, floor: number): number[] {
  return softmaxWithFloor(
    emaReward.map((r) => 1 - r),
    tau,
    floor,
  );
}

export class AdaptiveScheduler implements MixingScheduler {
  readonly name = "adaptive";
  private readonly rng: Rng;
  private ema: number[];
  private slow: number[];
  constructor(
    private readonly domains: readonly string[],
    readonly options: AdaptiveOptions,
    seed: number,
  ) {
    if (domains.length === 0) throw new ConfigError("adaptive scheduler needs at least one domain");
    if (!(options.tau > 0)) throw new ConfigError(`tau must be > 0, got ${options.tau}`, { path: "tau" });
    this.rng = new Rng(seed);
    this.ema = domains.map(() => options.initialReward);
    this.slow = domains.map(() => options.initialReward);
  }
  private probs(): number[] {
    const o = this.options;
    if (o.signal === "learning-progress") {
      return softmaxWithFloor(
        this.ema.map((r, i) => Math.abs(r - this.slow[i])),
        o.tau,
        o.floor,
      );
    }
    return adaptiveProbabilities(this.ema, o.tau, o.floor);
  }
  next(count: number): string[] {
    const p = this.probs();
    return Array.from({ length: count }, () => this.domains[this.rng.categorical(p)]);
  }
  weights(): Record<string, number> {
    const p = this.probs();
    return Object.fromEntries(this.domains.map((d, i) => [d, p[i]]));
  }
  observe(feedback: readonly DomainFeedback[]): void {
    for (const f of feedback) {
      const i = this.domains.indexOf(f.domain);
      if (i < 0 || f.samples === 0) continue;
      this.ema[i] = (1 - this.options.alpha) * this.ema[i] + this.options.alpha * f.meanReward;
      this.slow[i] = (1 - this.options.slowAlpha) * this.slow[i] + this.options.slowAlpha * f.meanReward;
    }
  }
  getState(): SchedulerState {
    return { rng: [...this.rng.getState()], ema: [...this.ema], slow: [...this.slow] };
  }
  setState(state: SchedulerState): void {
    this.rng.setState(state.rng as RngState);
    this.ema = [...(state.ema as number[])];
    this.slow = [...((state.slow as number[] | undefined) ?? this.ema)];
  }
}

export const adaptiveScheduler: MixingSchedulerInfo = {
  name: "adaptive",
  description:
    "p = (1-ε)·softmax((1 - EMA reward)/τ) + ε/D: more prompts from domains with low recent reward.",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      alpha: { type: "number", exclusiveMinimum: 0, maximum: 1, default: 0.3 },
      tau: { type: "number", exclusiveMinimum: 0, default: 0.2 },
      floor: { type: "number", minimum: 0, maximum: 1, default: 0.1 },
      initialReward: { type: "number", minimum: 0, maximum: 1, default: 0.5 },
      signal: { enum: ["low-reward", "learning-progress"], default: "low-reward" },
      slowAlpha: { type: "number", exclusiveMinimum: 0, maximum: 1, default: 0.05 },
    },
  },
  create: (o, c) =>
    new AdaptiveScheduler(
      c.domains.map((d) => d.name),
      { ...DEFAULT_ADAPTIVE, ...(o as Partial<AdaptiveOptions>) },
      c.seed,
    ),
};
