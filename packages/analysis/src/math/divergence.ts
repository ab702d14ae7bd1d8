/**
 * Divergences between categorical distributions given as log-probabilities (natural log, nats). Inputs are
 * normalised first (log-softmax), so logits work too.
 */

/** log-softmax in float64: x_i − log Σ_j exp(x_j). */
export function logSoftmax(logits: ArrayLike<number>): Float64Array {
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > m) m = logits[i];
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}

/** KL(p‖q) = Σ p_i (log p_i − log q_i), from log-probabilities (terms with p_i = 0 contribute 0). */
export function klFromLogProbs(logp: ArrayLike<number>, logq: ArrayLike<number>): number {
  if (logp.length !== logq.length)
    throw new RangeError(`kl: sizes differ (${logp.length} vs ${logq.length})`);
  let s = 0;
  for (let i = 0; i < logp.length; i++) {
    const p = Math.exp(logp[i]);
    if (p > 0) s += p * (logp[i] - logq[i]);
  }
  return Math.max(0, s);
}

/** Entropy H(p) = −Σ p_i log p_i. */
export function entropyFromLogProbs(logp: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < logp.length; i++) {
    const p = Math.exp(logp[i]);
    if (p > 0) s -= p * logp[i];
  }
  return s;
}

/** Jensen–Shannon divergence JS(p, q) = ½ KL(p‖m) + ½ KL(q‖m), m = ½(p + q); in [0, log 2]. */
export function jsFromLogProbs(logp: ArrayLike<number>, logq: ArrayLike<number>): number {
  if (logp.length !== logq.length)
    throw new RangeError(`js: sizes differ (${logp.length} vs ${logq.length})`);
  let s = 0;
  for (let i = 0; i < logp.length; i++) {
    const p = Math.exp(logp[i]);
    const q = Math.exp(logq[i]);
    const m = 0.5 * (p + q);
    if (m <= 0) continue;
    const lm = Math.log(m);
    if (p > 0) s += 0.5 * p * (logp[i] - lm);
    if (q > 0) s += 0.5 * q * (logq[i] - lm);
  }
  return Math.max(0, s);
}

/** All four token-level quantities of one position, from logits or log-probabilities of both policies. */
export interface PositionDivergence {
  klPQ: number;
  klQP: number;
  js: number;
  entropyP: number;
  entropyQ: number;
}

export function positionDivergence(p: ArrayLike<number>, q: ArrayLike<number>): PositionDivergence {
  const lp = logSoftmax(p);
  const lq = logSoftmax(q);
  return {
    klPQ: klFromLogProbs(lp, lq),
    klQP: klFromLogProbs(lq, lp),
    js: jsFromLogProbs(lp, lq),
    entropyP: entropyFromLogProbs(lp),
    entropyQ: entropyFromLogProbs(lq),
  };
}

/** log p(token) under the categorical distribution given by `logits` (log-softmax at one index, float64). */
export function logProbAt(logits: ArrayLike<number>, token: number): number {
  if (!(token >= 0 && token < logits.length))
    throw new RangeError(`logProbAt: token ${token} outside the vocabulary (${logits.length})`);
  let m = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i] > m) m = logits[i];
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  return logits[token] - m - Math.log(s);
}

/**
 * Monte-Carlo KL(p‖q) from sequences y sampled from p: log p(y|x) − log q(y|x) per sequence (the sum over its
 * tokens of log p(y_t | x, y_<t) − log q(y_t | x, y_<t)). Its mean over samples estimates the sequence-level
 * KL(p‖q) without bias (single samples can be negative); the sum over all sequences divided by their total token
 * count is the per-token version.
 */
export function sequenceLogRatios(
  pLogits: readonly (readonly ArrayLike<number>[])[],
  qLogits: readonly (readonly ArrayLike<number>[])[],
  tokens: readonly (readonly number[])[],
): number[] {
  return tokens.map((ids, i) => {
    let s = 0;
    for (let t = 0; t < ids.length; t++)
      s += logProbAt(pLogits[i][t], ids[t]) - logProbAt(qLogits[i][t], ids[t]);
    return s;
  });
}
