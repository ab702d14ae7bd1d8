/**
 * Policy engine benchmark: the same model and GRPO-shaped step as ../shared/bench/torch_ref_bench.py.
 *
 *   npm run bench:policy -- --shape 128,2,4,64,64,32 [--steps 5] [--with-torch] [--profile] [--backend wasm]
 *
 * Shape order: d_model,layers,heads,vocab,seq,batch. Model: M2RL's CausalLM (packages/core/src/policy) with a
 * Qwen2 config (RMSNorm, RoPE, q/k/v biases, SwiGLU with 4·d hidden, tied embeddings). Train step: forward over
 * [batch, seq] with the first token as prompt and the other seq-1 as completion (torch scores ids[:, 1:] from
 * ids[:, :-1]), clipped-ratio loss (ratio = exp(lp - stopgrad(lp)), eps 0.2 / 0.28), backward, Adam (FusedAdam).
 * Generation: batch prompts of 16 tokens, 32 new tokens with the KV cache, temperature 1.
 * Prints one JSON object: {train_step_ms, gen_tokens_per_s, backend, peak_rss_mb, ...}; with --with-torch it also
 * runs the PyTorch reference in the same process tree, one after the other, and prints the ratios.
 * With --profile it adds the per-kernel time of one train step (tf.profile).
 */
import { spawnSync } from "node:child_process";
import "@m2rl/kernels-native/register";
import type { CausalLMConfig, Tokenizer } from "@m2rl/core/policy";
import { CausalLM } from "@m2rl/core/policy";
import { Rng } from "@m2rl/core/rng";
import type { BackendChoice } from "@m2rl/core/tensor";
import { FusedAdam, initBackend, tf } from "@m2rl/core/tensor";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const shape = (arg("shape") ?? "128,2,4,64,64,32").split(",").map(Number);
if (shape.length !== 6 || shape.some((x) => !Number.isInteger(x) || x <= 0)) {
  throw new Error(
    `--shape must be d_model,layers,heads,vocab,seq,batch (6 positive integers), got ${arg("shape")}`,
  );
}
const [d, L, H, V, T, B] = shape as [number, number, number, number, number, number];
const steps = Number(arg("steps") ?? 5);
const warmup = Number(arg("warmup") ?? 2);
const TORCH = "/work/shared/bench/torch_ref_bench.py";

const info = await initBackend({ prefer: (arg("backend") as BackendChoice | undefined) ?? [], log: null });

const config: CausalLMConfig = {
  model_type: "qwen2",
  vocab_size: V,
  hidden_size: d,
  intermediate_size: 4 * d,
  num_hidden_layers: L,
  num_attention_heads: H,
  num_key_value_heads: H,
  max_position_embeddings: Math.max(T, 64),
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  tie_word_embeddings: true,
  attention_bias: true,
};
// A tokenizer with no reachable EOS, so every sequence generates all 32 tokens (as torch does).
const tokenizer: Tokenizer = {
  vocabSize: V,
  eosId: -1,
  padId: 0,
  encode: (s) => Array.from(s, (c) => c.charCodeAt(0) % V),
  decode: (ids) => ids.join(" "),
};
const model = new CausalLM(config, tokenizer, { seed: 0 });
const params = model.params;

const rng = new Rng(0);
const ids = Array.from({ length: B }, () => Array.from({ length: T }, () => rng.int(V)));
const adv = tf.tensor2d(
  Array.from({ length: B }, () => rng.normal()),
  [B, 1],
);
const batch = ids.map((row) => ({ promptIds: row.slice(0, 1), completionIds: row.slice(1) }));
const opt = new FusedAdam({ learningRate: 1e-4 });
const stopGradient = (x: tf.Tensor) =>
  tf.customGrad(((a: tf.Tensor) => ({
    value: tf.clone(a),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  })) as never)(x) as tf.Tensor;

function trainStep(): void {
  tf.tidy(() => {
    const { grads } = tf.variableGrads(() => {
      const { logprobs } = model.score(batch);
      const ratio = tf.exp(tf.sub(logprobs, stopGradient(logprobs)));
      const surr1 = tf.mul(ratio, adv);
      const surr2 = tf.mul(tf.clipByValue(ratio, 0.8, 1.28), adv);
      return tf.neg(tf.mean(tf.minimum(surr1, surr2))) as tf.Scalar;
    }, [...params.values()]);
    const byName: tf.NamedTensorMap = {};
    for (const [name, v] of params) if (grads[v.name]) byName[name] = grads[v.name]!;
    opt.applyGradients(byName, params);
  });
}

for (let i = 0; i < warmup; i++) trainStep();
let t0 = performance.now();
for (let i = 0; i < steps; i++) trainStep();
const trainStepMs = (performance.now() - t0) / steps;

const profile = flag("profile") ? await kernelProfile(() => trainStep()) : undefined;

/** Kernel time by kernel name over one call of f (tf.profile), sorted, with each kernel's share. */
async function kernelProfile(f: () => Promise<unknown> | unknown) {
  const agg = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  const t = performance.now();
  const p = await tf.profile(async () => {
    await f();
    return [];
  });
  const wall = performance.now() - t;
  for (const k of p.kernels) {
    const ms = Number(await k.kernelTimeMs);
    total += ms;
    const a = agg.get(k.name) ?? { ms: 0, calls: 0 };
    a.ms += ms;
    a.calls++;
    agg.set(k.name, a);
  }
  const kernels = [...agg]
    .map(([kernel, a]) => ({
      kernel,
      ms: +a.ms.toFixed(1),
      calls: a.calls,
      share: +(a.ms / total).toFixed(3),
    }))
    .sort((x, y) => y.ms - x.ms);
  return { wall_ms: +wall.toFixed(1), kernel_ms: +total.toFixed(1), kernels };
}

const prompts = ids.map((row) => row.slice(0, 16));
await model.generate(prompts, { temperature: 1, maxNewTokens: 32, seed: 1 });
t0 = performance.now();
const gens = await model.generate(prompts, { temperature: 1, maxNewTokens: 32, seed: 2 });
const genS = (performance.now() - t0) / 1000;
const genTokens = gens.reduce((n, g) => n + g.ids.length, 0);
const genProfile = flag("profile")
  ? await kernelProfile(() => model.generate(prompts, { temperature: 1, maxNewTokens: 32, seed: 3 }))
  : undefined;

const result: Record<string, unknown> = {
  impl: "m2rl",
  shape: { d, layers: L, heads: H, vocab: V, seq: T, batch: B },
  params: model.parameterCount,
  train_step_ms: +trainStepMs.toFixed(2),
  gen_tokens_per_s: +(genTokens / genS).toFixed(1),
  backend: info.description,
  backend_choice: info.choice,
  peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  steps,
};

if (flag("with-torch")) {
  const r = spawnSync("/usr/bin/python3", [TORCH, ...shape.map(String), "2"], { encoding: "utf8" });
  if (r.status !== 0) {
    result["torch_error"] = (r.stderr || r.error?.message || "failed")
      .trim()
      .split("\n")
      .slice(-2)
      .join(" | ");
  } else {
    const torch = JSON.parse(r.stdout.trim().split("\n").pop()!);
    result["torch"] = torch;
    result["train_step_ratio_vs_torch"] = +(trainStepMs / torch.train_step_ms).toFixed(3);
    result["gen_speed_ratio_vs_torch"] = +(genTokens / genS / torch.gen_tokens_per_s).toFixed(3);
  }
}
if (profile) result["profile_train_step"] = profile;
if (genProfile) result["profile_generate"] = genProfile;
console.log(JSON.stringify(result, null, flag("pretty") ? 2 : undefined));
model.dispose();
