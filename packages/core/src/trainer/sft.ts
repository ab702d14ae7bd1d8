/**
 * Supervised warm-up (SFT) on prompt → reference pairs (Task.reference), so that a tiny policy starts RL with a
 * non-zero success rate. Loss = -(1/N)·Σ log p(y_t | x, y_<t) over reference tokens plus EOS (token-mean), AdamW.
 */
import * as tf from "@tensorflow/tfjs-core";
import "../tensor/vendor/tfjs-gradients.ts"; // every kernel's gradient (Node-loadable copy)
import type { Task } from "../domain/types.ts";
import { DataError } from "../errors/index.ts";
import type { JSONSchema } from "../plugin/schema.ts";
import type { Policy } from "../policy/types.ts";
import { Rng } from "../rng/index.ts";
import { learningRate } from "./lr-schedule.ts";
import { AdamW, clipCoefficient, globalNorm } from "./optimizer.ts";
import { yieldToEventLoop } from "./yield.ts";

export interface SftOptions {
  /** Optimizer steps. Default 200. */
  steps: number;
  /** Pairs per step. Default 32. */
  batchSize: number;
  /** Peak LR (cosine to minLr after warm-up). Default 3e-3 (tiny models). */
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  /** Default 1.0. */
  maxGradNorm: number;
  /** Append the EOS token to each reference (teaches the policy to stop). Default true. */
  appendEos: boolean;
  seed: number;
}

export const DEFAULT_SFT: SftOptions = {
  steps: 200,
  batchSize: 32,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 10,
  weightDecay: 0,
  maxGradNorm: 1,
  appendEos: true,
  seed: 0,
};

/** JSON Schema of the experiment's `policy.sft` section (defaults in DEFAULT_SFT). */
export const SFT_OPTIONS_SCHEMA: JSONSchema = {
  title: "M2RL supervised warm-up options",
  type: "object",
  additionalProperties: false,
  properties: {
    steps: { type: "integer", minimum: 0, description: "Optimizer steps (default 200)." },
    batchSize: { type: "integer", minimum: 1, description: "Pairs per step (default 32)." },
    lr: { type: "number", minimum: 0, description: "Peak learning rate (default 3e-3)." },
    minLr: { type: "number", minimum: 0, description: "Cosine floor (default 3e-4)." },
    warmupSteps: { type: "integer", minimum: 0, description: "Linear warm-up steps (default 10)." },
    weightDecay: { type: "number", minimum: 0, description: "AdamW weight decay (default 0)." },
    maxGradNorm: { type: "number", exclusiveMinimum: 0, description: "Global grad-norm clip (default 1)." },
    appendEos: { type: "boolean", description: "Train the EOS after each reference (default true)." },
    seed: { type: "integer", minimum: 0, description: "Batch order seed (default 0)." },
  },
};

/** Trains `policy` in place on (task.prompt → task.reference); returns the loss of every step. */
export async function sftWarmup(
  policy: Policy,
  tasks: readonly Task[],
  options: Partial<SftOptions> = {},
  onStep?: (step: number, loss: number) => void | Promise<void>,
): Promise<number[]> {
  const o = { ...DEFAULT_SFT, ...options };
  const pairs = tasks.map((t) => {
    if (t.reference === undefined) {
      throw new DataError("SFT needs a reference answer for every task", { path: `${t.domain}/${t.id}` });
    }
    const completion = policy.tokenizer.encode(t.reference);
    if (o.appendEos) completion.push(policy.tokenizer.eosId);
    return { promptIds: policy.tokenizer.encode(t.prompt), completionIds: completion };
  });
  if (pairs.length === 0) throw new DataError("SFT got no tasks");
  const rng = new Rng(`sft:${o.seed}`);
  const opt = new AdamW(policy.params, { beta1: 0.9, beta2: 0.95, weightDecay: o.weightDecay });
  const hfName = new Map([...policy.params].map(([hf, v]) => [v.name, hf]));
  const varList = [...policy.params.values()];
  const losses: number[] = [];
  let order: number[] = [];
  for (let step = 0; step < o.steps; step++) {
    const batch: { promptIds: number[]; completionIds: number[] }[] = [];
    for (let i = 0; i < Math.min(o.batchSize, pairs.length); i++) {
      if (order.length === 0) order = rng.shuffle(pairs.map((_, j) => j));
      batch.push(pairs[order.pop()!]);
    }
    const { value, grads } = tf.variableGrads(() => {
      const sc = policy.score(batch);
      return tf.neg(
        tf.div(tf.sum(tf.mul(sc.logprobs, sc.mask)), tf.maximum(tf.sum(sc.mask), 1)),
      ) as tf.Scalar;
    }, varList);
    const loss = value.dataSync()[0];
    value.dispose();
    const named: Record<string, tf.Tensor> = {};
    for (const [k, g] of Object.entries(grads)) named[hfName.get(k) ?? k] = g;
    const scale = clipCoefficient(globalNorm(named), o.maxGradNorm);
    const lr = learningRate(step, { ...o, decay: "cosine", totalSteps: o.steps });
    opt.apply(named, lr, scale);
    for (const g of Object.values(named)) g.dispose();
    losses.push(loss);
    await onStep?.(step, loss);
    await yieldToEventLoop();
  }
  opt.dispose();
  return losses;
}
