/**
 * Per-token losses of the GRPO family on [B, T] tensors (B sequences, T completion positions, `mask` 1 on real
 * tokens). Pure functions over tfjs tensors; the caller owns memory (wrap in tf.tidy / a gradient scope).
 */
import * as tf from "@tensorflow/tfjs-core";
import "../tensor/vendor/tfjs-gradients.ts"; // every kernel's gradient (Node-loadable copy)

import type { KlEstimator, LossAggregation } from "./loss-kinds.ts";

export { KL_ESTIMATORS, type KlEstimator, LOSS_AGGREGATIONS, type LossAggregation } from "./loss-kinds.ts";

export interface ClipOptions {
  /** Lower clip: ratio >= 1 - epsLow. Paper/DAPO 0.2. */
  epsLow: number;
  /** Upper clip: ratio <= 1 + epsHigh. Paper/DAPO clip-higher 0.28. */
  epsHigh: number;
}

export interface PgTokenLoss {
  /** max(-A·ρ, -A·clip(ρ, 1-εl, 1+εh)) per token, [B, T] (times the TIS weight when given). */
  loss: tf.Tensor2D;
  /** ρ = exp(logp - oldLogp), [B, T]. */
  ratio: tf.Tensor2D;
  /** 1 where the clipped branch is active (the token gets no gradient), [B, T]. */
  clipped: tf.Tensor2D;
}

/**
 * Clipped policy-gradient loss per token: ρ = exp(logp - oldLogp); L = max(-A·ρ, -A·clip(ρ, 1-εl, 1+εh)) · w,
 * with w = min(exp(oldLogp - rolloutLogp), cap) the truncated importance-sampling weight (constant) when given.
 * `advantages` is [B] (one per sequence, broadcast over tokens) or [B, T] (per token, e.g. MOPD).
 */
export function clippedPgLoss(
  logprobs: tf.Tensor2D,
  oldLogprobs: tf.Tensor2D,
  advantages: tf.Tensor1D | tf.Tensor2D,
  clip: ClipOptions,
  tisWeight?: tf.Tensor2D,
): PgTokenLoss {
  return tf.tidy(() => {
    const adv = advantages.rank === 1 ? tf.expandDims(advantages, 1) : advantages;
    const ratio = tf.exp(tf.sub(logprobs, oldLogprobs));
    const negA = tf.neg(adv);
    const unclipped = tf.mul(negA, ratio);
    const clippedRatio = tf.clipByValue(ratio, 1 - clip.epsLow, 1 + clip.epsHigh);
    const clippedLoss = tf.mul(negA, clippedRatio);
    let loss = tf.maximum(unclipped, clippedLoss);
    if (tisWeight) loss = tf.mul(loss, tisWeight);
    const clipped = tf.cast(tf.greater(clippedLoss, unclipped), "float32");
    return { loss: loss as tf.Tensor2D, ratio: ratio as tf.Tensor2D, clipped: clipped as tf.Tensor2D };
  });
}

/** Truncated IS weight w = min(exp(oldLogp - rolloutLogp), cap) (rollout engine vs trainer mismatch). */
export function truncatedIsWeight(
  oldLogprobs: tf.Tensor2D,
  rolloutLogprobs: tf.Tensor2D,
  cap: number,
): tf.Tensor2D {
  return tf.tidy(() => tf.minimum(tf.exp(tf.sub(oldLogprobs, rolloutLogprobs)), cap) as tf.Tensor2D);
}

/**
 * Per-token KL estimate of KL(π || π_ref) on samples of π, with d = logp - refLogp:
 * k1 = d; k2 = d²/2; k3 = exp(-d) - 1 + d (Schulman's unbiased, non-negative estimator).
 */
export function klEstimate(
  logprobs: tf.Tensor2D,
  refLogprobs: tf.Tensor2D,
  estimator: KlEstimator,
): tf.Tensor2D {
  return tf.tidy(() => {
    const d = tf.sub(logprobs, refLogprobs);
    switch (estimator) {
      case "k1":
        return d as tf.Tensor2D;
      case "k2":
        return tf.mul(tf.square(d), 0.5) as tf.Tensor2D;
      case "k3":
        return tf.add(tf.sub(tf.exp(tf.neg(d)), 1), d) as tf.Tensor2D;
    }
  });
}

/**
 * Reduces a per-token [B, T] tensor to a scalar:
 * token-mean: Σ(x·m) / Σm; seq-mean-token-mean: mean_b(Σ_t x·m / Σ_t m);
 * seq-mean-token-sum: mean_b(Σ_t x·m); seq-mean-token-sum-norm (Dr. GRPO): Σ(x·m) / (B · normalizer).
 */
export function aggregate(
  x: tf.Tensor2D,
  mask: tf.Tensor2D,
  mode: LossAggregation,
  normalizer?: number,
): tf.Scalar {
  return tf.tidy(() => {
    const xm = tf.mul(x, mask);
    const batch = x.shape[0];
    switch (mode) {
      case "token-mean":
        return tf.div(tf.sum(xm), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
      case "seq-mean-token-mean": {
        const perSeq = tf.div(tf.sum(xm, 1), tf.maximum(tf.sum(mask, 1), 1));
        return tf.mean(perSeq) as tf.Scalar;
      }
      case "seq-mean-token-sum":
        return tf.mean(tf.sum(xm, 1)) as tf.Scalar;
      case "seq-mean-token-sum-norm": {
        const n = normalizer ?? x.shape[1];
        if (!(n > 0)) throw new RangeError(`seq-mean-token-sum-norm needs a positive normalizer, got ${n}`);
        return tf.div(tf.sum(xm), batch * n) as tf.Scalar;
      }
      default:
        throw new RangeError(`unknown loss aggregation "${mode as string}"`);
    }
  });
}

/** Fraction of real tokens whose clipped branch is active: Σ(clipped·m) / Σm. */
export function maskedMean(x: tf.Tensor2D, mask: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar);
}

export interface PolicyLossOptions extends ClipOptions {
  aggregation: LossAggregation;
  /** Constant normaliser of seq-mean-token-sum-norm (Dr. GRPO uses the max response length). */
  aggregationNormalizer?: number;
  /** β of the KL penalty (0 or undefined = none). */
  klCoef?: number;
  klEstimator?: KlEstimator;
  /** Coefficient of the entropy bonus (0 or undefined = none). */
  entropyCoef?: number;
}

export interface PolicyLossInput {
  logprobs: tf.Tensor2D;
  oldLogprobs: tf.Tensor2D;
  advantages: tf.Tensor1D | tf.Tensor2D;
  mask: tf.Tensor2D;
  refLogprobs?: tf.Tensor2D;
  entropy?: tf.Tensor2D;
  tisWeight?: tf.Tensor2D;
}

export interface PolicyLossTerms {
  /** agg(L_pg) + β·agg(KL) - c_H·agg(H): the scalar to minimise. */
  total: tf.Scalar;
  pg: tf.Scalar;
  kl?: tf.Scalar;
  entropy?: tf.Scalar;
  clipFraction: tf.Scalar;
}

/** Loss = agg(L_pg) + β·agg(KL_k) - c_H·agg(H), each aggregated with the same mode. */
export function policyLoss(input0: PolicyLossInput, o: PolicyLossOptions): PolicyLossTerms {
  // padded positions can hold any value (e.g. -1e9 log-probs): zero them so exp() stays finite and 0·inf never
  // turns into NaN; the mask removes them from every aggregate anyway
  const m = input0.mask;
  const input: PolicyLossInput = {
    ...input0,
    logprobs: tf.mul(input0.logprobs, m) as tf.Tensor2D,
    oldLogprobs: tf.mul(input0.oldLogprobs, m) as tf.Tensor2D,
    refLogprobs: input0.refLogprobs && (tf.mul(input0.refLogprobs, m) as tf.Tensor2D),
    entropy: input0.entropy && (tf.mul(input0.entropy, m) as tf.Tensor2D),
  };
  const pgTok = clippedPgLoss(input.logprobs, input.oldLogprobs, input.advantages, o, input.tisWeight);
  const pg = aggregate(pgTok.loss, input.mask, o.aggregation, o.aggregationNormalizer);
  const clipFraction = maskedMean(pgTok.clipped, input.mask);
  let total: tf.Scalar = pg;
  let kl: tf.Scalar | undefined;
  let entropy: tf.Scalar | undefined;
  // With reference log-probs the KL is measured; it enters the loss only with a coefficient (else: a metric).
  if (input.refLogprobs) {
    const klTok = klEstimate(input.logprobs, input.refLogprobs, o.klEstimator ?? "k3");
    kl = aggregate(klTok, input.mask, o.aggregation, o.aggregationNormalizer);
    if (o.klCoef) total = tf.add(total, tf.mul(kl, o.klCoef));
    klTok.dispose();
  }
  if (input.entropy) {
    entropy = aggregate(input.entropy, input.mask, o.aggregation, o.aggregationNormalizer);
    if (o.entropyCoef) total = tf.sub(total, tf.mul(entropy, o.entropyCoef));
  }
  pgTok.loss.dispose();
  pgTok.ratio.dispose();
  pgTok.clipped.dispose();
  return { total, pg, kl, entropy, clipFraction };
}
