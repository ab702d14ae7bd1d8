/**
 * Trainer benchmark: GRPO steps of the built-in-size tiny CausalLM on a synthetic copy domain.
 *
 *   node --conditions=m2rl-source --import tsx bench/trainer.ts [--steps 5] [--prompts 8] [--group 8]
 *        [--tokens 8] [--shape 64,2,4] [--backend wasm|cpu] [--recompute 1|0] [--entropy 1|0]
 *
 * Shape: d_model,layers,heads (Qwen2 layout, tied embeddings, kv heads = heads/2). Prints one JSON object with
 * the mean wall time of a step and its phases (rollout = generate; update = old log-probs + loss/backward/AdamW),
 * generated tokens per second and the FLOPs estimate per step.
 */
import "@m2rl/kernels-native/register";
import { CausalLM, CharTokenizer, tinyConfig } from "@m2rl/core/policy";
import type { BackendChoice } from "@m2rl/core/tensor";
import { initBackend } from "@m2rl/core/tensor";
import { Trainer } from "@m2rl/core/trainer";
import { copyDomain } from "../packages/core/src/trainer/testing/copy-domain.ts";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const steps = Number(arg("steps", "5"));
const [d, L, H] = arg("shape", "64,2,4").split(",").map(Number) as [number, number, number];
const info = await initBackend({
  prefer: (process.argv.includes("--backend") ? arg("backend", "wasm") : []) as BackendChoice[],
  log: null,
});
const tok = new CharTokenizer("abcdef=");
const policy = new CausalLM(
  tinyConfig({
    vocabSize: tok.vocabSize,
    hiddenSize: d,
    layers: L,
    heads: H,
    kvHeads: Math.max(1, H / 2),
    eosId: tok.eosId,
  }),
  tok,
  { seed: 0 },
);
const phase = { rollout: 0, reward: 0, update: 0 };
let mark = 0;
let tokens = 0;
let flops = 0;
const trainer = new Trainer({
  policy,
  domains: [copyDomain({ letters: "abcdef", length: 3, evalFraction: 0.3 })],
  config: {
    steps: steps + 1, // step 0 is warm-up (kernel compilation), not measured
    promptsPerStep: Number(arg("prompts", "8")),
    groupSize: Number(arg("group", "8")),
    sampling: { temperature: 1, topP: 1, maxNewTokens: Number(arg("tokens", "8")) },
    optimizer: { lr: 1e-3 },
    recomputeOldLogprobs: arg("recompute", "1") === "1",
    computeEntropy: arg("entropy", "1") === "1",
  },
  metrics: (r) => {
    if (r.type === "step" && r.step > 0) {
      tokens += r.generatedTokens as number;
      flops += r.flops as number;
    }
  },
  plugins: [
    {
      name: "bench-timer",
      apply(t) {
        t.hooks.sampleBatch.tap({ name: "bench-timer", stage: 100 }, (b) => {
          mark = performance.now();
          return b;
        });
        t.hooks.rollout.tap({ name: "bench-timer", stage: 100 }, (b, ctx) => {
          if (ctx.step > 0) phase.rollout += performance.now() - mark;
          mark = performance.now();
          return b;
        });
        t.hooks.reward.tap({ name: "bench-timer", stage: 100 }, (b, ctx) => {
          if (ctx.step > 0) phase.reward += performance.now() - mark;
          mark = performance.now();
          return b;
        });
        t.hooks.afterStep.tap({ name: "bench-timer", stage: -100 }, (_m, ctx) => {
          if (ctx.step > 0) phase.update += performance.now() - mark;
        });
      },
    },
  ],
});
const measured = trainer.config.steps - 1;
const mean = (x: number) => +(x / measured).toFixed(1);
const t0 = performance.now();
await trainer.run();
const elapsed = performance.now() - t0;
console.log(
  JSON.stringify({
    backend: info.description,
    shape: { d, layers: L, heads: H, params: [...policy.params.values()].reduce((a, v) => a + v.size, 0) },
    prompts: trainer.config.promptsPerStep,
    group: trainer.config.groupSize,
    maxNewTokens: trainer.config.sampling.maxNewTokens,
    recomputeOldLogprobs: trainer.config.recomputeOldLogprobs,
    computeEntropy: trainer.config.computeEntropy,
    measured_steps: measured,
    step_ms: mean(phase.rollout + phase.reward + phase.update),
    rollout_ms: mean(phase.rollout),
    reward_ms: mean(phase.reward),
    update_ms: mean(phase.update),
    generated_tokens_per_s: +((tokens / (phase.rollout + phase.reward + phase.update)) * 1000).toFixed(0),
    flops_per_step: flops / measured,
    total_ms: +elapsed.toFixed(0),
  }),
);
