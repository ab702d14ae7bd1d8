/**
 * Fused ops with gradients. Each op runs as ONE kernel when the active backend has it registered (the native
 * kernel pack of `@m2rl/kernels-native` registers them for `wasm`), and otherwise as a composite of plain
 * TensorFlow.js ops (autodiff gives the gradient). Both paths compute the same function; tests compare them.
 *
 * Kernel contract (what a kernel pack implements; all float32 unless stated):
 * - `M2rlRmsNorm` {x, weight} attrs {eps} → y;  `M2rlRmsNormGrad` {dy, x, weight} {eps} → [dx, dweight]
 * - `M2rlSwiGLU` {gate, up} → y;  `M2rlSwiGLUGrad` {dy, gate, up} → [dgate, dup]
 * - `M2rlRope` {x, cos, sin} attrs {seqAxis, sign} → y   (its own gradient with sign = -sign)
 * - `M2rlSoftmax` {x} attrs {scale, causal, log} → y;  `M2rlSoftmaxGrad` {dy, y} {scale, log} → dx
 * - `M2rlTokenLogProb` {logits, ids:int32} → logp;  `M2rlTokenLogProbGrad` {dy, logits, ids} → dlogits
 * - `M2rlAdam` {param, m, v, grad} attrs {lr, beta1, beta2, epsilon, step} → [param', m', v']
 */
import * as tf from "@tensorflow/tfjs-core";
// tfjs-core's Node entry registers no gradients, and its ESM gradient files do not load in plain Node: a bundled
// copy registers them all (see vendor/tfjs-gradients.ts). Import this module (or the tensor index) for gradients.
import "./vendor/tfjs-gradients.ts";
import "./portable-kernels.ts";

export const FUSED_KERNELS = {
  rmsNorm: "M2rlRmsNorm",
  rmsNormGrad: "M2rlRmsNormGrad",
  swiglu: "M2rlSwiGLU",
  swigluGrad: "M2rlSwiGLUGrad",
  rope: "M2rlRope",
  softmax: "M2rlSoftmax",
  softmaxGrad: "M2rlSoftmaxGrad",
  tokenLogProb: "M2rlTokenLogProb",
  tokenLogProbGrad: "M2rlTokenLogProbGrad",
  adam: "M2rlAdam",
} as const;

const K = FUSED_KERNELS;

/** True when the active backend has a kernel registered under this name. */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) != null;
}

let forcePlain = false;
/** Runs `f` with every fused op on its plain-tfjs composite path (tests compare the two paths). */
export function withPlainOps<T>(f: () => T): T {
  const prev = forcePlain;
  forcePlain = true;
  try {
    return f();
  } finally {
    forcePlain = prev;
  }
}

/** True when fused ops should use the kernel `kernelName` (registered, and not inside {@link withPlainOps}). */
export function useFusedKernel(kernelName: string): boolean {
  return fused(kernelName);
}

function fused(kernelName: string): boolean {
  return !forcePlain && hasKernel(kernelName);
}

function run(kernelName: string, inputs: tf.NamedTensorMap, attrs: Record<string, number | boolean> = {}) {
  // biome-ignore lint/suspicious/noExplicitAny: runKernel's attr map type is internal to tfjs-core
  return tf.engine().runKernel(kernelName, inputs, attrs as any);
}

/** Blocks gradients: forward is the identity, the gradient is zero (tfjs has no stopGradient). */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const f = tf.customGrad(((a: tf.Tensor) => ({
    value: tf.clone(a),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(x) as T;
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) * weight. */
export function fusedRmsNorm(x: tf.Tensor, weight: tf.Tensor, eps: number): tf.Tensor {
  if (fused(K.rmsNorm) && x.dtype === "float32") return run(K.rmsNorm, { x, weight }, { eps }) as tf.Tensor;
  return tf.tidy(() => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), weight));
}

/** SwiGLU: silu(gate) * up (elementwise, same shapes). */
export function fusedSwiGLU(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  if (fused(K.swiglu) && util.arraysEqual(gate.shape, up.shape))
    return run(K.swiglu, { gate, up }) as tf.Tensor;
  return tf.tidy(() => tf.mul(tf.mul(gate, tf.sigmoid(gate)), up));
}

const util = tf.util;

/**
 * Rotary position embedding (Hugging Face "rotate_half" layout): x * cos + rotate_half(x) * sin, with x of shape
 * [..., T, ..., headDim] (T at `seqAxis`, default rank-2) and cos/sin of shape [T, headDim] (halves duplicated, as HF
 * builds them).
 */
export function fusedRope(x: tf.Tensor, cos: tf.Tensor, sin: tf.Tensor, seqAxis = x.rank - 2): tf.Tensor {
  if (cos.rank !== 2 || cos.shape[0] !== x.shape[seqAxis] || cos.shape[1] !== x.shape[x.rank - 1]) {
    throw new Error(
      `rope: cos/sin must be [T=${x.shape[seqAxis]}, headDim=${x.shape[x.rank - 1]}], got [${cos.shape}]`,
    );
  }
  if (fused(K.rope)) return run(K.rope, { x, cos, sin }, { seqAxis, sign: 1 }) as tf.Tensor;
  return tf.tidy(() => {
    const shape = [cos.shape[0], ...new Array(x.rank - seqAxis - 2).fill(1), cos.shape[1]];
    const c = tf.reshape(cos, shape);
    const s = tf.reshape(sin, shape);
    const h = x.shape[x.rank - 1] / 2;
    const [x1, x2] = tf.split(x, [h, h], -1);
    const rot = tf.concat([tf.neg(x2!), x1!], -1);
    return tf.add(tf.mul(x, c), tf.mul(rot, s));
  });
}

/**
 * softmax(scale * x) over the last axis. With `causal`, x is [..., Tq, Tk] and query i sees keys j <= i + Tk - Tq
 * (the others get probability 0): the attention mask of a causal LM, also with a KV cache (Tk > Tq).
 */
export function fusedSoftmax(x: tf.Tensor, options: { scale?: number; causal?: boolean } = {}): tf.Tensor {
  const scale = options.scale ?? 1;
  const causal = options.causal ?? false;
  if (fused(K.softmax) && x.dtype === "float32")
    return run(K.softmax, { x }, { scale, causal, log: false }) as tf.Tensor;
  return tf.tidy(() => tf.softmax(maskAndScale(x, scale, causal)));
}

/** log-softmax over the last axis (same options as {@link softmax}; masked entries are -Infinity). */
export function fusedLogSoftmax(x: tf.Tensor, options: { scale?: number; causal?: boolean } = {}): tf.Tensor {
  const scale = options.scale ?? 1;
  const causal = options.causal ?? false;
  if (fused(K.softmax) && x.dtype === "float32")
    return run(K.softmax, { x }, { scale, causal, log: true }) as tf.Tensor;
  return tf.tidy(() => tf.logSoftmax(maskAndScale(x, scale, causal)));
}

function maskAndScale(x: tf.Tensor, scale: number, causal: boolean): tf.Tensor {
  const s = scale === 1 ? x : tf.mul(x, scale);
  if (!causal) return s;
  const tq = x.shape[x.rank - 2]!;
  const tk = x.shape[x.rank - 1]!;
  const allowed = tf.lessEqual(
    tf.reshape(tf.range(0, tk, 1, "int32"), [1, tk]),
    tf.reshape(tf.range(tk - tq, tk, 1, "int32"), [tq, 1]),
  );
  return tf.where(tf.broadcastTo(allowed, x.shape), s, tf.fill(x.shape, Number.NEGATIVE_INFINITY));
}

/** log softmax(logits)[id] for each position: logits [..., V], ids [...] (int32) → [...]. */
export function fusedTokenLogProbs(logits: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  const idsI = ids.dtype === "int32" ? ids : tf.cast(ids, "int32");
  if (fused(K.tokenLogProb) && logits.dtype === "float32") {
    return run(K.tokenLogProb, { logits, ids: idsI }) as tf.Tensor;
  }
  return tf.tidy(() => {
    const v = logits.shape[logits.rank - 1]!;
    return tf.sum(tf.mul(tf.logSoftmax(logits), tf.cast(tf.oneHot(idsI, v), "float32")), -1);
  });
}

/** Sums a broadcast gradient back to `shape` (leading batch axes and batch axes of size 1). */
function reduceTo(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (util.arraysEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) axes.push(i);
  for (let i = 0; i < shape.length - 2; i++)
    if (shape[i] === 1 && g.shape[lead + i] !== 1) axes.push(lead + i);
  return tf.reshape(tf.sum(g, axes), shape);
}

/**
 * Gradient of BatchMatMul that also handles broadcast batches (tfjs 4.22's returns the broadcast shape and the
 * engine rejects it, e.g. for [B, T, d] x [d, n]). A rank-2 operand against a batched one gets its gradient as one
 * 2-D product over the folded batch instead of a batched product and a sum.
 */
function batchMatMulGrad(dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean) {
  const da = () => {
    if (b.rank === 2 && a.rank > 2 && !tA) {
      const k = a.shape[a.rank - 1]!;
      const n = dy.shape[dy.rank - 1]!;
      const g = tf.matMul(tf.reshape(dy, [-1, n]) as tf.Tensor2D, b as tf.Tensor2D, false, !tB);
      return tf.reshape(g, [...a.shape.slice(0, -1), k]);
    }
    const g = !tA
      ? tf.matMul(dy, b, false, !tB)
      : tB
        ? tf.matMul(b, dy, true, true)
        : tf.matMul(b, dy, false, true);
    return reduceTo(g, a.shape);
  };
  const db = () => {
    if (b.rank === 2 && a.rank > 2 && !tA) {
      const k = a.shape[a.rank - 1]!;
      const n = dy.shape[dy.rank - 1]!;
      const a2 = tf.reshape(a, [-1, k]) as tf.Tensor2D;
      const d2 = tf.reshape(dy, [-1, n]) as tf.Tensor2D;
      return tB ? tf.matMul(d2, a2, true, false) : tf.matMul(a2, d2, true, false);
    }
    const g = !tB
      ? tA
        ? tf.matMul(a, dy)
        : tf.matMul(a, dy, true, false)
      : tA
        ? tf.matMul(dy, a, true, true)
        : tf.matMul(dy, a, true, false);
    return reduceTo(g, b.shape);
  };
  return { a: da, b: db };
}

let gradsRegistered = false;
/**
 * Registers the gradients of the fused kernels and the broadcast-aware BatchMatMul gradient (on import of this
 * module and again in initBackend: a later import of tfjs' own gradient list would put the old one back).
 */
export function registerFusedGradients(): void {
  tf.registerGradient({
    kernelName: tf.BatchMatMul,
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) =>
      batchMatMulGrad(
        dy as tf.Tensor,
        saved[0]!,
        saved[1]!,
        attrs["transposeA"] as boolean,
        attrs["transposeB"] as boolean,
      ),
  });
  if (gradsRegistered) return;
  gradsRegistered = true;
  tf.registerGradient({
    kernelName: K.rmsNorm,
    inputsToSave: ["x", "weight"],
    gradFunc: (dy, saved, attrs) => {
      const [x, weight] = saved;
      const [dx, dw] = run(
        K.rmsNormGrad,
        { dy: dy as tf.Tensor, x: x!, weight: weight! },
        { eps: attrs["eps"] as number },
      ) as tf.Tensor[];
      return { x: () => dx!, weight: () => dw! };
    },
  });
  tf.registerGradient({
    kernelName: K.swiglu,
    inputsToSave: ["gate", "up"],
    gradFunc: (dy, saved) => {
      const [gate, up] = saved;
      const [dg, du] = run(K.swigluGrad, { dy: dy as tf.Tensor, gate: gate!, up: up! }) as tf.Tensor[];
      return { gate: () => dg!, up: () => du! };
    },
  });
  tf.registerGradient({
    kernelName: K.rope,
    inputsToSave: ["cos", "sin"],
    gradFunc: (dy, saved, attrs) => {
      const [cos, sin] = saved;
      const g = dy as tf.Tensor;
      return {
        x: () =>
          run(
            K.rope,
            { x: g, cos: cos!, sin: sin! },
            { seqAxis: attrs["seqAxis"] as number, sign: -(attrs["sign"] as number) },
          ) as tf.Tensor,
        cos: () => tf.zerosLike(cos!),
        sin: () => tf.zerosLike(sin!),
      };
    },
  });
  tf.registerGradient({
    kernelName: K.softmax,
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved;
      return {
        x: () =>
          run(
            K.softmaxGrad,
            { dy: dy as tf.Tensor, y: y! },
            { scale: attrs["scale"] as number, log: attrs["log"] as boolean },
          ) as tf.Tensor,
      };
    },
  });
  tf.registerGradient({
    kernelName: K.tokenLogProb,
    inputsToSave: ["logits", "ids"],
    gradFunc: (dy, saved) => {
      const [logits, ids] = saved;
      return {
        logits: () =>
          run(K.tokenLogProbGrad, { dy: dy as tf.Tensor, logits: logits!, ids: ids! }) as tf.Tensor,
        ids: () => tf.zerosLike(ids!),
      };
    },
  });
}
registerFusedGradients();

// Short names for use inside core (the policy imports these from "../tensor/fused.ts"); the package index
// exports the `fused*` names to avoid clashing with the policy's plain-op helpers.
export {
  fusedLogSoftmax as logSoftmax,
  fusedRmsNorm as rmsNorm,
  fusedRope as rope,
  fusedSoftmax as softmax,
  fusedSwiGLU as swiglu,
  fusedTokenLogProbs as tokenLogProbs,
};
