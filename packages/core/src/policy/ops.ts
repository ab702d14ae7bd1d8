/**
 * The transformer's building blocks as pure functions over tfjs-core ops (any backend). Each has its formula in a
 * one-line comment; the model (causal-lm.ts) only composes them. A faster backend can replace the tfjs kernels
 * underneath (BatchMatMul, ...) without touching this file.
 */
import * as tf from "@tensorflow/tfjs-core";
import { fusedSoftmax as softmax, fusedSwiGLU as swiglu } from "../tensor/index.ts";

/** y = x Wᵀ + b, with W in Hugging Face Linear layout [out, in]; x is [N, in]. */
export function linear(x: tf.Tensor2D, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor2D {
  const y = tf.matMul(x, weight as tf.Tensor2D, false, true) as tf.Tensor2D;
  return bias ? (tf.add(y, bias) as tf.Tensor2D) : y;
}

/** SwiGLU MLP: down(silu(gate(x)) · up(x)), with the (possibly fused) `swiglu` of the tensor module. */
export function mlp(x: tf.Tensor2D, gate: tf.Tensor, up: tf.Tensor, down: tf.Tensor): tf.Tensor2D {
  return linear(swiglu(linear(x, gate), linear(x, up)) as tf.Tensor2D, down);
}

/**
 * Row gather out = table[idx] whose gradient is a scatter-add (ScatterNd) instead of tfjs' UnsortedSegmentSum,
 * which the wasm backend lacks: d table = Σ_{k: idx_k = r} d out_k. Used for embeddings and for picking hidden
 * rows; `idx` is int32 [N], `table` [R, D].
 */
export function gatherRows(table: tf.Tensor2D, idx: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    save([idx]); // kept by the engine for backprop, even after the caller's tidy disposed `idx`
    return {
      value: tf.gather(t as tf.Tensor2D, idx),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.scatterND(tf.reshape(saved[0], [-1, 1]), dy, t.shape),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(table) as tf.Tensor2D;
}

/** RoPE tables: θ_j = base^(-2j/d), angle = pos·θ_j, duplicated halves (HF layout): cos, sin as [n, headDim]. */
export function ropeTables(positions: ArrayLike<number>, headDim: number, base: number) {
  const half = headDim / 2;
  const n = positions.length;
  const cos = new Float32Array(n * headDim);
  const sin = new Float32Array(n * headDim);
  const inv = new Float64Array(half);
  // HF computes inv_freq in float32: 1 / base^(2j/d)
  for (let j = 0; j < half; j++) inv[j] = Math.fround(1 / base ** ((2 * j) / headDim));
  for (let p = 0; p < n; p++) {
    for (let j = 0; j < half; j++) {
      const a = Math.fround(positions[p] * inv[j]);
      const c = Math.cos(a);
      const s = Math.sin(a);
      cos[p * headDim + j] = c;
      cos[p * headDim + j + half] = c;
      sin[p * headDim + j] = s;
      sin[p * headDim + j + half] = s;
    }
  }
  return { cos, sin };
}

/** rotate_half as a matrix: x R = cat(−x₂, x₁), R is [d, d] with R[j+d/2, j] = −1, R[j, j+d/2] = 1. */
export function rotateHalfMatrix(headDim: number): tf.Tensor2D {
  const half = headDim / 2;
  const r = new Float32Array(headDim * headDim);
  for (let j = 0; j < half; j++) {
    r[(j + half) * headDim + j] = -1;
    r[j * headDim + j + half] = 1;
  }
  return tf.tensor2d(r, [headDim, headDim]);
}

/** RoPE with per-row positions: x·cos + rotate_half(x)·sin, over the last axis; cos/sin broadcast against x. */
export function ropeBroadcast(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, rot: tf.Tensor2D): tf.Tensor {
  const d = x.shape[x.shape.length - 1];
  const rotated = tf.reshape(tf.matMul(tf.reshape(x, [-1, d]) as tf.Tensor2D, rot), x.shape);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}

/** Repeats kv heads to match query heads (HF repeat_kv): [B, KV, T, hd] → [B, KV·G, T, hd], head h ↦ ⌊h/G⌋. */
export function repeatKv(x: tf.Tensor4D, groups: number): tf.Tensor4D {
  if (groups === 1) return x;
  const [b, kv, t, hd] = x.shape;
  // rank-3 tile: tfjs has Tile gradients up to rank 4 only
  return tf.reshape(tf.tile(tf.reshape(x, [b * kv, 1, t * hd]), [1, groups, 1]), [
    b,
    kv * groups,
    t,
    hd,
  ]) as tf.Tensor4D;
}

/**
 * Multi-head attention softmax(q kᵀ · scale + mask) v, with q [B, H, T, hd], k, v [B, H, S, hd] (kv heads already
 * repeated). `mask` "causal" uses the tensor module's (possibly fused) causal softmax; a tensor is an additive
 * mask broadcast against [B, H, T, S].
 */
export function attention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  scale: number,
  mask: "causal" | tf.Tensor,
): tf.Tensor4D {
  const scores = tf.matMul(q, k, false, true);
  const probs =
    mask === "causal"
      ? softmax(scores, { scale, causal: true })
      : tf.softmax(tf.add(tf.mul(scores, scale), mask));
  return tf.matMul(probs as tf.Tensor4D, v);
}

/** Large negative instead of −∞ so a fully masked row gives a finite (unused) result rather than NaN. */
export const NEG_INF = -1e9;

/** Entropy of softmax(z) per row of logits [N, V]: H = logsumexp(z) − Σ softmax(z)·z (stable). */
export function entropyOfLogits(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.sub(tf.logSumExp(logits, -1), tf.sum(tf.mul(tf.softmax(logits), logits), -1)) as tf.Tensor1D;
}

/**
 * log p(target) for rows h [N, d] under logits z = h Wᵀ / T (W [V, d]), computed `chunk` rows at a time, without
 * keeping any [N, V] tensor for the backward pass: the gradient recomputes each chunk's logits,
 * dz = dy · (onehot − softmax(z)) / T, dh = dz W, dW = Σ dzᵀ h. Peak memory is chunk × V instead of N × V
 * (a 150k-token vocabulary times thousands of completion tokens does not fit otherwise).
 */
export function chunkedTokenLogprobs(
  h: tf.Tensor2D,
  w: tf.Tensor2D,
  targets: tf.Tensor1D,
  temperature: number,
  chunk: number,
): tf.Tensor1D {
  const n = h.shape[0];
  const v = w.shape[0];
  const starts: number[] = [];
  for (let s = 0; s < n; s += chunk) starts.push(s);
  const logits = (hc: tf.Tensor2D, wt: tf.Tensor2D) => {
    const z = tf.matMul(hc, wt, false, true);
    return temperature === 1 ? z : tf.div(z, temperature);
  };
  const f = tf.customGrad(((hIn: tf.Tensor2D, wIn: tf.Tensor2D, save: tf.GradSaveFunc) => {
    const parts: tf.Tensor[] = [];
    const lses: tf.Tensor[] = [];
    for (const s of starts) {
      const rows = Math.min(chunk, n - s);
      // tidy per chunk: only [lp, lse] of the chunk survive, so one chunk's logits are alive at a time
      const [lpc, lsec] = tf.tidy(() => {
        const z = logits(tf.slice(hIn, [s, 0], [rows, -1]), wIn);
        const lse = tf.logSumExp(z, -1);
        const tgt = tf.slice(targets, [s], [rows]);
        const picked = tf.sum(tf.mul(z, tf.oneHot(tgt, v, 1, 0, "float32")), -1);
        return [tf.sub(picked, lse), lse];
      });
      parts.push(lpc);
      lses.push(lsec);
    }
    const lp = parts.length === 1 ? parts[0] : tf.concat(parts);
    const lse = lses.length === 1 ? lses[0] : tf.concat(lses);
    if (parts.length > 1) tf.dispose([...parts, ...lses]);
    save([hIn, wIn, targets, lse]);
    return {
      value: lp,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [hs, ws, ts, ls] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
        let dw: tf.Tensor = tf.zerosLike(ws);
        const dhs: tf.Tensor[] = [];
        for (const s of starts) {
          const rows = Math.min(chunk, n - s);
          const [dh, dwNext] = tf.tidy(() => {
            const hc = tf.slice(hs, [s, 0], [rows, -1]);
            const z = logits(hc, ws);
            const p = tf.exp(tf.sub(z, tf.reshape(tf.slice(ls, [s], [rows]), [rows, 1])));
            const onehot = tf.oneHot(tf.slice(ts, [s], [rows]), v, 1, 0, "float32");
            const dyc = tf.reshape(tf.slice(dy, [s], [rows]), [rows, 1]);
            const dz = tf.div(tf.mul(dyc, tf.sub(onehot, p)), temperature) as tf.Tensor2D;
            return [tf.matMul(dz, ws), tf.add(dw, tf.matMul(dz, hc, true, false))];
          });
          dw.dispose();
          dw = dwNext;
          dhs.push(dh);
        }
        const dhAll = dhs.length === 1 ? dhs[0] : tf.concat(dhs);
        if (dhs.length > 1) tf.dispose(dhs);
        return [dhAll, dw];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(h, w) as tf.Tensor1D;
}
