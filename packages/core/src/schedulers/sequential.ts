/**
 * Curriculum: domain after domain, in the given order. Step s draws all its prompts from domain
 * order[min(⌊s / stepsPerDomain⌋, D-1)]; stepsPerDomain defaults to ⌈totalSteps / D⌉.
 */
import { ConfigError } from "../errors/index.ts";
import type { MixingScheduler, MixingSchedulerInfo, SchedulerState } from "./types.ts";

export class SequentialScheduler implements MixingScheduler {
  readonly name = "sequential";
  constructor(
    private readonly order: readonly string[],
    private readonly stepsPerDomain: number,
  ) {
    if (order.length === 0) throw new ConfigError("sequential scheduler needs at least one domain");
    if (!(stepsPerDomain >= 1)) throw new ConfigError(`stepsPerDomain must be >= 1, got ${stepsPerDomain}`);
  }
  private current(step: number): string {
    return this.order[Math.min(Math.floor(step / this.stepsPerDomain), this.order.length - 1)];
  }
  private lastStep = 0;
  next(count: number, step: number): string[] {
    this.lastStep = step;
    return Array.from({ length: count }, () => this.current(step));
  }
  weights(): Record<string, number> {
    const cur = this.current(this.lastStep);
    return Object.fromEntries(this.order.map((d) => [d, d === cur ? 1 : 0]));
  }
  getState(): SchedulerState {
    return { lastStep: this.lastStep };
  }
  setState(state: SchedulerState): void {
    this.lastStep = (state.lastStep as number) ?? 0;
  }
}

export const sequentialScheduler: MixingSchedulerInfo = {
  name: "sequential",
  description: "Curriculum: all prompts from one domain for stepsPerDomain steps, then the next domain.",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      order: {
        type: "array",
        items: { type: "string" },
        description: "Domain order (default: experiment order).",
      },
      stepsPerDomain: { type: "integer", minimum: 1, description: "Default ⌈totalSteps / D⌉." },
    },
  },
  create: (o, c) => {
    const known = c.domains.map((d) => d.name);
    const order = (o.order as string[] | undefined) ?? known;
    for (const d of order) {
      if (!known.includes(d)) {
        throw new ConfigError(`unknown domain '${d}' in order (domains: ${known.join(", ")})`, {
          plugin: "sequential",
          path: "order",
        });
      }
    }
    const per =
      (o.stepsPerDomain as number | undefined) ?? Math.max(1, Math.ceil(c.totalSteps / order.length));
    return new SequentialScheduler(order, per);
  },
};
