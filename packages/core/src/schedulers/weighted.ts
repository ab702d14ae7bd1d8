/**
 * Proportional without replacement: each "epoch" of the mixture is a uniformly random permutation of the multiset
 * {n_d copies of domain d}; draw k takes domain d with probability remaining_d / Σ remaining, and the counts
 * refill when all reach 0. With per-domain data cursors this is exactly the paper's shuffled concatenation.
 */
export class ShuffledConcatScheduler implements MixingScheduler {
  readonly name = "proportional";
  private readonly rng: Rng;
  private remaining: number[];
  constructor(
    private readonly domains: readonly string[],
    private readonly sizes: readonly number[],
    seed: number,
  ) {
    if (domains.length === 0)
      throw new ConfigError("a mixing scheduler needs at least one domain", { plugin: "proportional" });
    if (sizes.some((n) => !Number.isInteger(n) || n < 0) || sizes.every((n) => n === 0)) {
      throw new ConfigError(`domain sizes must be non-negative integers, not all 0: [${sizes.join(", ")}]`, {
        plugin: "proportional",
      });
    }
    this.rng = new Rng(seed);
    this.remaining = [...sizes];
  }
  next(count: number): string[] {
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      if (this.remaining.every((r) => r === 0)) this.remaining = [...this.sizes];
      const d = this.rng.categorical(this.remaining);
      this.remaining[d]--;
      out.push(this.domains[d]);
    }
    return out;
  }
  weights(): Record<string, number> {
    const total = this.sizes.reduce((a, b) => a + b, 0);
    return Object.fromEntries(this.domains.map((d, i) => [d, this.sizes[i] / total]));
  }
  getState(): SchedulerState {
    return { rng: [...this.rng.getState()], remaining: [...this.remaining] };
  }
  setState(state: SchedulerState): void {
    this.rng.setState(state.rng as RngState);
    this.remaining = [...(state.remaining as number[])];
  }
}

/**
 * Schedulers that draw each prompt's domain i.i.d. from fixed probabilities:
 * proportional p_d ∝ n_d; uniform p_d = 1/D; temperature p_d ∝ n_d^(1/T) (T = 1 proportional, T → ∞ uniform).
 */
import { ConfigError } from "../errors/index.ts";
import { Rng, type RngState } from "../rng/index.ts";
import type { MixingScheduler, MixingSchedulerInfo, SchedulerContext, SchedulerState } from "./types.ts";

export class WeightedScheduler implements MixingScheduler {
  private readonly rng: Rng;
  private readonly probs: number[];
  constructor(
    readonly name: string,
    private readonly domains: readonly string[],
    rawWeights: readonly number[],
    seed: number,
  ) {
    if (domains.length === 0)
      throw new ConfigError("a mixing scheduler needs at least one domain", { plugin: name });
    const total = rawWeights.reduce((a, b) => a + b, 0);
    if (!(total > 0) || rawWeights.some((w) => !(w >= 0) || !Number.isFinite(w))) {
      throw new ConfigError(
        `domain weights must be non-negative and not all 0, got [${rawWeights.join(", ")}]`,
        {
          plugin: name,
        },
      );
    }
    this.probs = rawWeights.map((w) => w / total);
    this.rng = new Rng(seed);
  }
  next(count: number): string[] {
    return Array.from({ length: count }, () => this.domains[this.rng.categorical(this.probs)]);
  }
  weights(): Record<string, number> {
    return Object.fromEntries(this.domains.map((d, i) => [d, this.probs[i]]));
  }
  getState(): SchedulerState {
    return { rng: [...this.rng.getState()] };
  }
  setState(state: SchedulerState): void {
    this.rng.setState(state.rng as RngState);
  }
}

/** p_d ∝ n_d^(1/T). */
export function temperatureWeights(sizes: readonly number[], temperature: number): number[] {
  if (!(temperature > 0))
    throw new ConfigError(`temperature must be > 0, got ${temperature}`, { path: "temperature" });
  return sizes.map((n) => n ** (1 / temperature));
}

const names = (c: SchedulerContext) => c.domains.map((d) => d.name);

export const proportionalScheduler: MixingSchedulerInfo = {
  name: "proportional",
  description:
    "p ∝ train-set size. Default: without replacement (a shuffled concatenation of the domains, the paper); " +
    "withReplacement: i.i.d. draws.",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      withReplacement: {
        type: "boolean",
        description: "i.i.d. draws instead of a shuffled concatenation (default false).",
      },
    },
  },
  create: (o, c) =>
    o.withReplacement === true
      ? new WeightedScheduler(
          "proportional",
          names(c),
          c.domains.map((d) => d.size),
          c.seed,
        )
      : new ShuffledConcatScheduler(
          names(c),
          c.domains.map((d) => d.size),
          c.seed,
        ),
};

/**
 * The mixing scheduler a mix arm gets when its config names none: the paper's plain shuffled concatenation of the
 * domains' training sets in their natural sizes (how the M2RL paper mixes). The experiment schema's default, the
 * experiment loader and the trainer's default (`DEFAULT_TRAINER_CONFIG.scheduler`) all name this one (a test
 * checks that).
 */
export const DEFAULT_MIXING_SCHEDULER = proportionalScheduler.name;

export const uniformScheduler: MixingSchedulerInfo = {
  name: "uniform",
  description: "Each prompt's domain drawn uniformly.",
  optionsSchema: { type: "object", additionalProperties: false, properties: {} },
  create: (_o, c) =>
    new WeightedScheduler(
      "uniform",
      names(c),
      c.domains.map(() => 1),
      c.seed,
    ),
};

export const temperatureScheduler: MixingSchedulerInfo = {
  name: "temperature",
  description: "p ∝ n^(1/T): T = 1 is proportional, large T approaches uniform.",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: { temperature: { type: "number", exclusiveMinimum: 0, default: 2 } },
  },
  create: (o, c) =>
    new WeightedScheduler(
      "temperature",
      names(c),
      temperatureWeights(
        c.domains.map((d) => d.size),
        (o.temperature as number | undefined) ?? 2,
      ),
      c.seed,
    ),
};
