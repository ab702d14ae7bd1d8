/**
 * Early stopping on a plateau of the training reward, as a trainer plugin: after every step, the step's mean
 * reward is compared with the best seen so far; when it has not beaten the best by more than `minDelta` for
 * `patience` steps in a row, the trainer is asked to stop after this step. The plugin's state (best, steps since)
 * goes into every trainer checkpoint and comes back on resume, so a killed and resumed run stops at the same step
 * as an uninterrupted one.
 */
import type { FileStore, JSONSchema, Trainer, TrainerPlugin } from "@m2rl/core";

export interface EarlyStopOptions {
  /** Steps without improvement before stopping. Default 5. */
  patience: number;
  /** Improvement (in mean reward) that counts. Default 0.01. */
  minDelta: number;
}

export const EARLY_STOP_DEFAULTS: EarlyStopOptions = { patience: 5, minDelta: 0.01 };

/**
 * JSON Schema of the options block (`trainer.plugins.early-stop`). No `default` keywords: an arm's block is
 * deep-merged over the experiment's, and filled-in defaults would override the experiment's values.
 */
export const EARLY_STOP_SCHEMA: JSONSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    patience: {
      type: "integer",
      minimum: 1,
      description: "Steps without improvement before stopping (default 5).",
    },
    minDelta: {
      type: "number",
      minimum: 0,
      description: "Mean-reward gain that counts as improvement (default 0.01).",
    },
  },
};

/** The state that makes stopping resumable: the best mean reward and the steps since it. */
export interface EarlyStopState {
  best: number | null;
  since: number;
}

const STATE_FILE = "early-stop.json";

/** The trainer plugin (for integrators who build a Trainer themselves: `plugins: [earlyStop({ patience: 3 })]`). */
export function earlyStop(
  options: Partial<EarlyStopOptions> = {},
): TrainerPlugin & { state: EarlyStopState } {
  const o = { ...EARLY_STOP_DEFAULTS, ...options };
  const state: EarlyStopState = { best: null, since: 0 };
  return {
    name: "early-stop",
    state,
    apply(trainer: Trainer) {
      trainer.hooks.afterStep.tapPromise("early-stop", async (metrics, ctx) => {
        const reward = metrics.meanReward;
        if (state.best === null || reward > state.best + o.minDelta) {
          state.best = reward;
          state.since = 0;
          return;
        }
        state.since++;
        if (state.since >= o.patience)
          ctx.stop(
            `early-stop: mean reward has not beaten ${state.best.toFixed(4)} by more than ${o.minDelta} for ` +
              `${state.since} steps`,
          );
      });
      trainer.hooks.checkpoint.tapPromise("early-stop", async ({ store }) => {
        await store.writeText(STATE_FILE, JSON.stringify(state));
      });
      trainer.hooks.restore.tapPromise("early-stop", async ({ store }) => {
        Object.assign(state, await readState(store));
      });
    },
  };
}

async function readState(store: FileStore): Promise<EarlyStopState> {
  if (!(await store.exists(STATE_FILE))) return { best: null, since: 0 };
  const s = JSON.parse(await store.readText(STATE_FILE)) as EarlyStopState;
  return { best: typeof s.best === "number" ? s.best : null, since: Number(s.since) || 0 };
}
