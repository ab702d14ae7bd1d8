/**
 * Adam with the update of torch.optim.Adam / tf.train.adam (bias-corrected; optional decoupled weight decay as in
 * torch.optim.AdamW), one fused kernel per
 * parameter (`M2rlAdam`) when the backend has it, else plain tfjs ops. State (m, v, step) is exposed for
 * checkpoints.
 */
import * as tf from "@tensorflow/tfjs-core";
import { FUSED_KERNELS, useFusedKernel } from "./fused.ts";

export interface AdamOptions {
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** Decoupled weight decay (torch.optim.AdamW): p ← p·(1 − lr·wd) before the Adam step. Default 0. */
  weightDecay?: number;
}

export class FusedAdam {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  learningRate: number;
  step = 0;
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();

  constructor(options: AdamOptions) {
    this.learningRate = options.learningRate;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
  }

  /** Applies one step: `grads[name]` updates `vars.get(name)`. Gradients are not disposed. */
  applyGradients(
    grads: tf.NamedTensorMap,
    vars: ReadonlyMap<string, tf.Variable> | Record<string, tf.Variable>,
  ): void {
    this.step++;
    const get = (name: string) =>
      vars instanceof Map ? vars.get(name) : (vars as Record<string, tf.Variable>)[name];
    const fused = useFusedKernel(FUSED_KERNELS.adam);
    const { beta1, beta2, epsilon, step, weightDecay } = this;
    const lr = this.learningRate;
    for (const [name, g] of Object.entries(grads)) {
      const p = get(name);
      if (!p) throw new Error(`FusedAdam: gradient for unknown variable "${name}"`);
      const m0 = this.m.get(name) ?? tf.keep(tf.zerosLike(p));
      const v0 = this.v.get(name) ?? tf.keep(tf.zerosLike(p));
      let outs: tf.Tensor[];
      if (fused && g.dtype === "float32") {
        outs = tf
          .engine()
          .runKernel(
            FUSED_KERNELS.adam,
            { param: p, m: m0, v: v0, grad: g },
            { lr, beta1, beta2, epsilon, step, weightDecay },
          ) as tf.Tensor[];
      } else {
        outs = tf.tidy(() => {
          const m = tf.add(tf.mul(m0, beta1), tf.mul(g, 1 - beta1));
          const v = tf.add(tf.mul(v0, beta2), tf.mul(tf.square(g), 1 - beta2));
          const mhat = tf.div(m, 1 - beta1 ** step);
          const vhat = tf.div(v, 1 - beta2 ** step);
          const decayed = weightDecay > 0 ? tf.mul(p, 1 - lr * weightDecay) : p;
          return [tf.sub(decayed, tf.mul(lr, tf.div(mhat, tf.add(tf.sqrt(vhat), epsilon)))), m, v];
        });
      }
      p.assign(outs[0]!);
      outs[0]!.dispose();
      m0.dispose();
      v0.dispose();
      this.m.set(name, tf.keep(outs[1]!));
      this.v.set(name, tf.keep(outs[2]!));
    }
  }

  /** Moment estimates by parameter name (for checkpoints). */
  getState(): { step: number; m: Map<string, tf.Tensor>; v: Map<string, tf.Tensor> } {
    return { step: this.step, m: this.m, v: this.v };
  }

  dispose(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}
