/**
 * Next-token choice from one row of logits: greedy (temperature 0) or temperature + nucleus (top-p) sampling
 * with a seeded Rng. Also reports the token's log-probability under the temperature-scaled distribution (before
 * top-p truncation), the quantity the trainer compares against.
 */
import type { Rng } from "../rng/index.ts";

export interface Pick {
  id: number;
  /** log softmax(z / T)[id] (T = 1 when greedy). */
  logprob: number;
}

/** log Σ exp(z_i / t) computed stably. */
function logSumExp(z: ArrayLike<number>, invT: number): number {
  let max = -Infinity;
  for (let i = 0; i < z.length; i++) if (z[i] * invT > max) max = z[i] * invT;
  let s = 0;
  for (let i = 0; i < z.length; i++) s += Math.exp(z[i] * invT - max);
  return max + Math.log(s);
}

/** Index of the largest logit (lowest index on ties). */
export function argmax(z: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
  return best;
}

/**
 * Chooses the next token from `logits` (one row, length V).
 * temperature 0 → argmax; else p ∝ exp(z/T), restricted to the smallest set of most likely tokens whose mass
 * reaches topP (when topP < 1), renormalised, and drawn with `rng`.
 */
export function pickToken(logits: ArrayLike<number>, temperature: number, topP: number, rng: Rng): Pick {
  if (!(temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${temperature}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${topP}`);
  if (temperature === 0) {
    const id = argmax(logits);
    return { id, logprob: logits[id] - logSumExp(logits, 1) };
  }
  const invT = 1 / temperature;
  const lse = logSumExp(logits, invT);
  const v = logits.length;
  const probs = new Float64Array(v);
  for (let i = 0; i < v; i++) probs[i] = Math.exp(logits[i] * invT - lse);
  let id: number;
  if (topP >= 1) {
    id = rng.categorical(probs);
  } else {
    const order = Array.from({ length: v }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    let mass = 0;
    let kept = 0;
    while (kept < v && mass < topP) mass += probs[order[kept++]];
    let u = rng.next() * mass;
    id = order[kept - 1];
    for (let r = 0; r < kept; r++) {
      u -= probs[order[r]];
      if (u < 0) {
        id = order[r];
        break;
      }
    }
  }
  return { id, logprob: logits[id] * invT - lse };
}
