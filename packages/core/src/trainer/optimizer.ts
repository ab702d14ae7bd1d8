/**
 * Adam / AdamW over tf.Variables, written out so that its whole state (m, v, step) can be exported into a
 * checkpoint and restored bit for bit (tfjs's own optimizers keep their slots private). Follows torch.optim.AdamW:
 *   m ← β1·m + (1-β1)·g;  v ← β2·v + (1-β2)·g²;  m̂ = m/(1-β1^t);  v̂ = v/(1-β2^t)
 *   AdamW: θ ← θ·(1 - lr·λ) - lr·m̂/(√v̂ + ε);   Adam (L2): g ← g + λ·θ before the moments.
 */
import * as tf from "@tensorflow/tfjs-core";
import { CheckpointError } from "../errors/index.ts";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** true = decoupled weight decay (AdamW); false = L2 added to the gradient (Adam). */
  decoupled: boolean;
}

export const DEFAULT_ADAMW: AdamWOptions = {
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-8,
  weightDecay: 0.1,
  decoupled: true,
};

export interface AdamWState {
  step: number;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/** Global L2 norm of a set of gradients: √(Σ‖g‖²). */
export function globalNorm(grads: Record<string, tf.Tensor>): number {
  return tf.tidy(() => {
    let acc: tf.Tensor = tf.scalar(0);
    for (const g of Object.values(grads)) acc = tf.add(acc, tf.sum(tf.square(g)));
    return Math.sqrt(acc.dataSync()[0]);
  });
}

/** Clip coefficient as torch.nn.utils.clip_grad_norm_: min(1, maxNorm / (norm + 1e-6)). */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

export class AdamW {
  readonly options: AdamWOptions;
  private stepCount = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    options: Partial<AdamWOptions> = {},
  ) {
    this.options = { ...DEFAULT_ADAMW, ...options };
    for (const [name, p] of params) {
      this.m.set(name, tf.variable(tf.zerosLike(p), false, `adam.m.${name}.${uid++}`));
      this.v.set(name, tf.variable(tf.zerosLike(p), false, `adam.v.${name}.${uid++}`));
    }
  }

  get step(): number {
    return this.stepCount;
  }

  /**
   * Applies one update with learning rate `lr` to every parameter that has a gradient in `grads` (keyed by
   * parameter name). `gradScale` multiplies the gradients first (grad-norm clipping).
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, gradScale = 1): void {
    this.stepCount++;
    const { beta1, beta2, eps, weightDecay, decoupled } = this.options;
    const bc1 = 1 - beta1 ** this.stepCount;
    const bc2 = 1 - beta2 ** this.stepCount;
    for (const [name, p] of this.params) {
      const g0 = grads[name];
      if (!g0) continue;
      tf.tidy(() => {
        let g = gradScale === 1 ? g0 : tf.mul(g0, gradScale);
        if (!decoupled && weightDecay) g = tf.add(g, tf.mul(p, weightDecay));
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        const mNew = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const vNew = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(mNew);
        v.assign(vNew);
        const update = tf.div(tf.div(mNew, bc1), tf.add(tf.sqrt(tf.div(vNew, bc2)), eps));
        let next: tf.Tensor = p;
        if (decoupled && weightDecay) next = tf.mul(next, 1 - lr * weightDecay);
        p.assign(tf.sub(next, tf.mul(update, lr)));
      });
    }
  }

  /** Copies of m, v and the step count (for a checkpoint). */
  exportState(): AdamWState {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    for (const [name, t] of this.m) m.set(name, t.dataSync() as Float32Array);
    for (const [name, t] of this.v) v.set(name, t.dataSync() as Float32Array);
    return { step: this.stepCount, m, v };
  }

  /** Restores a state from `exportState` (names and sizes must match the parameters). */
  importState(state: AdamWState): void {
    for (const [name, p] of this.params) {
      for (const [slot, src, dst] of [
        ["m", state.m, this.m],
        ["v", state.v, this.v],
      ] as const) {
        const data = src.get(name);
        if (!data) throw new CheckpointError(`optimizer state has no ${slot} for parameter`, { path: name });
        if (data.length !== p.size) {
          throw new CheckpointError(`optimizer ${slot} has ${data.length} values, parameter has ${p.size}`, {
            path: name,
          });
        }
        dst.get(name)!.assign(tf.tensor(data, p.shape, "float32"));
      }
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
  }
}

let uid = 0;
