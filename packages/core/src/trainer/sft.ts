/**
 * Supervised warm-up (SFT) on prompt → reference pairs (Task.reference), so that a tiny policy starts RL with a
 * non-zero success rate. Loss = -(1/N)·Σ log p(y_t | x, y_<t) over reference tokens plus EOS (token-mean), AdamW.
 */
import * as tf from "@tensorflow/tfjs-core";
import "../tensor/vendor/tfjs-gradients.ts"; // every kernel's gradient (Node-loadable copy)
import type { Task } from "../domain/types.ts";
import { DataError } from "../errors/index.ts";
import type { Policy } from "../policy/types.ts";
import { Rng } from "../rng/index.ts";
import { learningRate } from "./lr-schedule.ts";
import { AdamW, clipCoefficient, globalNorm } from "./optimizer.ts";
import { DEFAULT_SFT, type SftOptions } from "./sft-options.ts";
import { yieldToEventLoop } from "./yield.ts";

export { DEFAULT_SFT, SFT_OPTIONS, SFT_OPTIONS_SCHEMA, type SftOptions } from "./sft-options.ts";

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
