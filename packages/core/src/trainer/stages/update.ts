/**
 * The update stage: PPO epochs × mini-batches of AdamW updates on a step's kept samples. Each mini-batch (whole
 * groups, shuffled per epoch when there is more than one update) is scored in micro-batches whose gradients
 * accumulate exactly (token-mean weighs chunks by tokens, the sequence modes by sequences); the loss terms pass
 * through the trainer's `loss` hook; the global gradient norm is clipped; the learning rate follows the schedule.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Policy, SequencePair } from "../../policy/types.ts";
import type { Rng } from "../../rng/index.ts";
import type { TrainerConfig } from "../config.ts";
import { policyLoss, truncatedIsWeight } from "../losses.ts";
import { type AdamW, clipCoefficient, globalNorm } from "../optimizer.ts";
import type { LossContext, LossTerms, Sample, StepContext } from "../types.ts";
import { yieldToEventLoop } from "../yield.ts";

export interface UpdateDeps {
  policy: Policy;
  optimizer: AdamW;
  config: TrainerConfig;
  /** Shuffles the groups of each epoch (the trainer's RNG: its state is part of every checkpoint). */
  rng: Rng;
  /** The samples carry reference log-probs and the loss has a KL term or metric. */
  hasKl: boolean;
  /** The trainer's `loss` hook: plugins rewrite the loss terms. */
  loss: (terms: LossTerms, context: LossContext) => LossTerms;
  /** tfjs variable name → Hugging Face parameter name (the optimizer's keys). */
  hfNameOfVariable: ReadonlyMap<string, string>;
  /** The learning rate of the next optimizer update. */
  learningRate: () => number;
}

export interface UpdateResult {
  loss: number;
  pg: number;
  kl: number | null;
  entropy: number | null;
  clip: number;
  gradNorm: number;
  lr: number;
  updates: number;
}

export async function updatePolicy(
  samples: Sample[],
  ctx: StepContext,
  d: UpdateDeps,
): Promise<UpdateResult> {
  const c = d.config;
  const nGroups = samples.length / c.groupSize;
  const acc = { loss: 0, pg: 0, kl: 0, entropy: 0, clip: 0, gradNorm: 0, lr: 0, n: 0 };
  const hasKl = d.hasKl;
  const wantEntropy = c.computeEntropy || c.entropyCoef > 0;
  const varList = [...d.policy.params.values()];
  for (let epoch = 0; epoch < c.ppoEpochs; epoch++) {
    const groupOrder = Array.from({ length: nGroups }, (_, i) => i);
    if (c.ppoEpochs * c.miniBatches > 1) d.rng.shuffle(groupOrder);
    const per = Math.ceil(nGroups / c.miniBatches);
    for (let mb = 0; mb < c.miniBatches; mb++) {
      const groups = groupOrder.slice(mb * per, (mb + 1) * per);
      if (groups.length === 0) continue;
      const mbSamples = groups.flatMap((g) => samples.slice(g * c.groupSize, (g + 1) * c.groupSize));
      const totalTokens = mbSamples.reduce((a, s) => a + s.generation.ids.length, 0);
      const micro = c.microBatchSize > 0 ? c.microBatchSize : mbSamples.length;
      let grads: Record<string, tf.Tensor> = {};
      const m = { loss: 0, pg: 0, kl: 0, entropy: 0, clip: 0 };
      for (let i = 0; i < mbSamples.length; i += micro) {
        const part = mbSamples.slice(i, i + micro);
        // exact gradient accumulation: token-mean weights chunks by tokens, the seq-* modes by sequences
        const partTokens = part.reduce((a, s) => a + s.generation.ids.length, 0);
        const weight =
          c.aggregation === "token-mean"
            ? partTokens / Math.max(1, totalTokens)
            : part.length / mbSamples.length;
        const r = tf.variableGrads(() => {
          const pairs: SequencePair[] = part.map((s) => ({
            promptIds: s.promptIds,
            completionIds: s.generation.ids,
          }));
          const sc = d.policy.score(pairs, {
            entropy: wantEntropy,
            temperature: c.sampling.temperature,
          });
          const T = sc.logprobs.shape[1];
          const pad = (xs: readonly number[] | undefined) => {
            const row = new Array<number>(T).fill(0);
            if (xs) for (let k = 0; k < Math.min(T, xs.length); k++) row[k] = xs[k];
            return row;
          };
          const old = tf.tensor2d(part.map((s) => pad(s.oldLogprobs)));
          const adv = part.some((s) => s.tokenAdvantages)
            ? tf.tensor2d(part.map((s) => pad(s.tokenAdvantages ?? new Array(T).fill(s.advantage))))
            : tf.tensor1d(part.map((s) => s.advantage));
          const ref = hasKl ? tf.tensor2d(part.map((s) => pad(s.refLogprobs))) : undefined;
          const tis =
            c.tisCap !== null && c.recomputeOldLogprobs
              ? truncatedIsWeight(old, tf.tensor2d(part.map((s) => pad(s.generation.logprobs))), c.tisCap)
              : undefined;
          const terms = policyLoss(
            {
              logprobs: sc.logprobs,
              oldLogprobs: old,
              advantages: adv,
              mask: sc.mask,
              refLogprobs: ref,
              entropy: sc.entropy,
              tisWeight: tis,
            },
            {
              ...c.clip,
              aggregation: c.aggregation,
              aggregationNormalizer: c.aggregationNormalizer ?? c.sampling.maxNewTokens,
              klCoef: c.kl.coef,
              klEstimator: c.kl.estimator,
              entropyCoef: c.entropyCoef,
            },
          );
          const lossCtx: LossContext = {
            ...ctx,
            samples: part,
            pairs,
            logprobs: sc.logprobs,
            mask: sc.mask,
          };
          const out = d.loss(terms, lossCtx);
          m.loss += weight * out.total.dataSync()[0];
          m.pg += weight * out.pg.dataSync()[0];
          if (out.kl) m.kl += weight * out.kl.dataSync()[0];
          if (out.entropy) m.entropy += weight * out.entropy.dataSync()[0];
          m.clip += weight * out.clipFraction.dataSync()[0];
          return tf.mul(out.total, weight) as tf.Scalar;
        }, varList);
        r.value.dispose();
        await yieldToEventLoop();
        for (const [varName, g] of Object.entries(r.grads)) {
          const name = d.hfNameOfVariable.get(varName) ?? varName;
          const prev = grads[name];
          if (prev) {
            grads[name] = tf.add(prev, g);
            prev.dispose();
            g.dispose();
          } else grads[name] = g;
        }
      }
      const norm = globalNorm(grads);
      const scale = c.optimizer.maxGradNorm === null ? 1 : clipCoefficient(norm, c.optimizer.maxGradNorm);
      const lr = d.learningRate();
      d.optimizer.apply(grads, lr, scale);
      for (const g of Object.values(grads)) g.dispose();
      grads = {};
      acc.loss += m.loss;
      acc.pg += m.pg;
      acc.kl += m.kl;
      acc.entropy += m.entropy;
      acc.clip += m.clip;
      acc.gradNorm += norm;
      acc.lr = lr;
      acc.n++;
    }
  }
  const n = Math.max(1, acc.n);
  return {
    loss: acc.loss / n,
    pg: acc.pg / n,
    kl: hasKl ? acc.kl / n : null,
    entropy: wantEntropy ? acc.entropy / n : null,
    clip: acc.clip / n,
    gradNorm: acc.gradNorm / n,
    lr: acc.lr,
    updates: acc.n,
  };
}
