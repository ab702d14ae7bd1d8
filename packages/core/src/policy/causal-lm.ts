/**
 * Decoder-only causal LM with the Llama / Qwen2 / Qwen3 layout on TensorFlow.js: token embedding, N blocks of
 * (RMSNorm → grouped-query attention with RoPE → residual, RMSNorm → SwiGLU MLP → residual), final RMSNorm,
 * LM head (tied to the embedding or not). Parameters are tf.Variables named exactly as in Hugging Face checkpoints.
 *
 * Three paths share the weights:
 * - `score` (trainer hot path): right-padded prompt+completion in one forward, only the rows that predict
 *   completion tokens go through the final norm and LM head; differentiable (use inside tf.variableGrads).
 * - `generate`: left-padded prefill, then one token per step with a preallocated KV cache (kv-cache.ts).
 * - `lastLogits`: logits of each sequence's last position (parity checks, `m2rl model logits`).
 */
import * as tf from "@tensorflow/tfjs-core";
import { CheckpointError, ConfigError } from "../errors/index.ts";
import { Rng } from "../rng/index.ts";
import {
  fusedRmsNorm as rmsNorm,
  fusedRope as rope,
  fusedSwiGLU as swiglu,
  fusedTokenLogProbs as tokenLogProbs,
} from "../tensor/index.ts";
import { policyParameterCount } from "../trainer/flops.ts";
import { eosIds, type ResolvedConfig, resolveConfig } from "./config.ts";
import { KVCache } from "./kv-cache.ts";
import {
  attention,
  chunkedTokenLogprobs,
  entropyOfLogits,
  gatherRows,
  linear,
  mlp,
  NEG_INF,
  repeatKv,
  ropeBroadcast,
  ropeTables,
  rotateHalfMatrix,
} from "./ops.ts";
import { pickToken } from "./sampling.ts";
import type {
  CausalLMConfig,
  Generation,
  Policy,
  SamplingOptions,
  SequencePair,
  Tokenizer,
  TokenScores,
} from "./types.ts";

export type WeightMap = ReadonlyMap<string, { shape: number[]; data: Float32Array }>;

/** Number of scalar parameters of a config (the sum over `parameterShapes`), without building the model. */
export function parameterCount(config: CausalLMConfig): number {
  let n = 0;
  for (const shape of parameterShapes(config).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Every parameter of a config, by Hugging Face name, with its shape, in checkpoint order. */
export function parameterShapes(config: CausalLMConfig): Map<string, number[]> {
  const c = resolveConfig(config);
  const d = c.hidden_size;
  const hd = c.head_dim;
  const qOut = c.num_attention_heads * hd;
  const kvOut = c.num_key_value_heads * hd;
  const m = new Map<string, number[]>();
  m.set("model.embed_tokens.weight", [c.vocab_size, d]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [d]);
    m.set(`${p}.self_attn.q_proj.weight`, [qOut, d]);
    m.set(`${p}.self_attn.k_proj.weight`, [kvOut, d]);
    m.set(`${p}.self_attn.v_proj.weight`, [kvOut, d]);
    if (c.attention_bias) {
      m.set(`${p}.self_attn.q_proj.bias`, [qOut]);
      m.set(`${p}.self_attn.k_proj.bias`, [kvOut]);
      m.set(`${p}.self_attn.v_proj.bias`, [kvOut]);
    }
    if (c.qk_norm) {
      m.set(`${p}.self_attn.q_norm.weight`, [hd]);
      m.set(`${p}.self_attn.k_norm.weight`, [hd]);
    }
    m.set(`${p}.self_attn.o_proj.weight`, [d, qOut]);
    m.set(`${p}.post_attention_layernorm.weight`, [d]);
    m.set(`${p}.mlp.gate_proj.weight`, [c.intermediate_size, d]);
    m.set(`${p}.mlp.up_proj.weight`, [c.intermediate_size, d]);
    m.set(`${p}.mlp.down_proj.weight`, [d, c.intermediate_size]);
  }
  m.set("model.norm.weight", [d]);
  if (!c.tie_word_embeddings) m.set("lm_head.weight", [c.vocab_size, d]);
  return m;
}

/**
 * Seeded initial weights, as HF's `_init_weights`: Linear and Embedding ~ N(0, std²) (std = initializer_range,
 * 0.02), norms 1, biases 0. Each tensor draws from `Rng.derive(seed, name)`, so it does not depend on order.
 */
export function initWeights(
  config: CausalLMConfig,
  seed: number,
  std = 0.02,
): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, shape] of parameterShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith("norm.weight")) data.fill(1);
    else if (!name.endsWith(".bias")) {
      const rng = Rng.derive(seed, name);
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(name, { shape, data });
  }
  return out;
}

interface DecodeLayer {
  qkv: tf.Tensor2D;
  qkvBias?: tf.Tensor1D;
  gateUp: tf.Tensor2D;
  qNorm?: Float32Array;
  kNorm?: Float32Array;
}

interface LayerParams {
  inNorm: tf.Variable;
  q: tf.Variable;
  k: tf.Variable;
  v: tf.Variable;
  qb?: tf.Variable;
  kb?: tf.Variable;
  vb?: tf.Variable;
  qNorm?: tf.Variable;
  kNorm?: tf.Variable;
  o: tf.Variable;
  postNorm: tf.Variable;
  gate: tf.Variable;
  up: tf.Variable;
  down: tf.Variable;
}

export interface CausalLMOptions {
  /**
   * Initial weights (e.g. from a checkpoint); when absent, seeded random init with `seed`; "zeros" allocates
   * zero parameters to be filled tensor by tensor with `setWeight` (what `loadPolicy` does, to keep peak memory
   * near one copy of the model).
   */
  weights?: WeightMap | "zeros";
  seed?: number;
  /** Standard deviation of the random init (HF initializer_range). */
  initStd?: number;
  /** Make parameters trainable tf.Variables (default true). A frozen reference policy can pass false. */
  trainable?: boolean;
  /**
   * `score` without entropy computes log-probs in row chunks (logits recomputed in the backward pass) when
   * completion tokens × vocab_size exceeds this many elements (default 2²⁴ = 64 MB of f32 logits).
   */
  logitChunkElements?: number;
}

export class CausalLM implements Policy {
  readonly config: ResolvedConfig;
  readonly tokenizer: Tokenizer;
  readonly params: ReadonlyMap<string, tf.Variable>;
  private readonly layers: LayerParams[];
  private readonly embed: tf.Variable;
  private readonly finalNorm: tf.Variable;
  private readonly lmHead: tf.Variable;
  private readonly rot: tf.Tensor2D;
  private readonly eos: Set<number>;
  private disposed = false;
  private readonly logitChunkElements: number;

  constructor(config: CausalLMConfig, tokenizer: Tokenizer, options: CausalLMOptions = {}) {
    this.config = resolveConfig(config);
    this.tokenizer = tokenizer;
    if (tokenizer.vocabSize > this.config.vocab_size) {
      throw new ConfigError(
        `tokenizer has ${tokenizer.vocabSize} tokens but the model's vocab_size is ${this.config.vocab_size}`,
        { path: "vocab_size" },
      );
    }
    const shapes = parameterShapes(this.config);
    const zeros = options.weights === "zeros";
    const weights = zeros
      ? undefined
      : ((options.weights as WeightMap | undefined) ??
        initWeights(this.config, options.seed ?? 0, options.initStd));
    if (weights) checkWeights(weights, shapes);
    const trainable = options.trainable ?? true;
    const params = new Map<string, tf.Variable>();
    for (const [name, shape] of shapes) {
      const init = weights
        ? tf.tensor(weights.get(name)!.data, shape, "float32")
        : tf.zeros(shape, "float32");
      params.set(name, tf.variable(init, trainable));
      init.dispose(); // the variable holds its own reference to the data
    }
    this.params = params;
    const P = (n: string) => params.get(n)!;
    this.embed = P("model.embed_tokens.weight");
    this.finalNorm = P("model.norm.weight");
    this.lmHead = this.config.tie_word_embeddings ? this.embed : P("lm_head.weight");
    this.layers = [];
    for (let i = 0; i < this.config.num_hidden_layers; i++) {
      const p = `model.layers.${i}`;
      this.layers.push({
        inNorm: P(`${p}.input_layernorm.weight`),
        q: P(`${p}.self_attn.q_proj.weight`),
        k: P(`${p}.self_attn.k_proj.weight`),
        v: P(`${p}.self_attn.v_proj.weight`),
        qb: params.get(`${p}.self_attn.q_proj.bias`),
        kb: params.get(`${p}.self_attn.k_proj.bias`),
        vb: params.get(`${p}.self_attn.v_proj.bias`),
        qNorm: params.get(`${p}.self_attn.q_norm.weight`),
        kNorm: params.get(`${p}.self_attn.k_norm.weight`),
        o: P(`${p}.self_attn.o_proj.weight`),
        postNorm: P(`${p}.post_attention_layernorm.weight`),
        gate: P(`${p}.mlp.gate_proj.weight`),
        up: P(`${p}.mlp.up_proj.weight`),
        down: P(`${p}.mlp.down_proj.weight`),
      });
    }
    this.logitChunkElements = options.logitChunkElements ?? 2 ** 24;
    this.rot = rotateHalfMatrix(this.config.head_dim);
    this.eos = new Set([tokenizer.eosId, ...eosIds(this.config)]);
  }

  /** Id written into padding positions (never attended to): the tokenizer's pad id when it is a valid id, else 0. */
  private get padId(): number {
    const p = this.tokenizer.padId;
    return Number.isInteger(p) && p >= 0 && p < this.config.vocab_size ? p : 0;
  }

  /** Number of scalar parameters. */
  get parameterCount(): number {
    return policyParameterCount(this);
  }

  // ---------------------------------------------------------------- forward

  /**
   * Hidden states before the final norm, [B·T, d] (or only the rows `keep`, in that order), for ids [B·T]
   * (row-major). RoPE tables: [T, hd] shared by all rows, or (perRow) [B, 1, T, hd]. mask: "causal" (no padding, fused causal softmax) or an additive tensor
   * broadcast against [B, H, T, T]. `onKV` sees each layer's keys (after RoPE) and values, [B, KV, T, hd].
   */
  private forward(
    ids: Int32Array,
    b: number,
    t: number,
    pos: { cos: tf.Tensor; sin: tf.Tensor; perRow: boolean },
    mask: "causal" | tf.Tensor,
    onKV?: (layer: number, k: tf.Tensor4D, v: tf.Tensor4D) => void,
    keep?: Int32Array,
  ): tf.Tensor2D {
    const c = this.config;
    const last = this.layers.length - 1;
    const H = c.num_attention_heads;
    const KV = c.num_key_value_heads;
    const G = H / KV;
    const hd = c.head_dim;
    const eps = c.rms_norm_eps;
    const scale = 1 / Math.sqrt(hd);
    const applyRope = (x: tf.Tensor) =>
      (pos.perRow ? ropeBroadcast(x, pos.cos, pos.sin, this.rot) : rope(x, pos.cos, pos.sin)) as tf.Tensor4D;
    let x = gatherRows(this.embed as tf.Tensor2D, tf.tensor1d(ids, "int32"));
    this.layers.forEach((L, li) => {
      const h = rmsNorm(x, L.inNorm, eps) as tf.Tensor2D;
      let q: tf.Tensor = tf.reshape(linear(h, L.q, L.qb), [b, t, H, hd]);
      let k: tf.Tensor = tf.reshape(linear(h, L.k, L.kb), [b, t, KV, hd]);
      const v = tf.transpose(tf.reshape(linear(h, L.v, L.vb), [b, t, KV, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
      if (L.qNorm && L.kNorm) {
        q = rmsNorm(q, L.qNorm, eps);
        k = rmsNorm(k, L.kNorm, eps);
      }
      const qr = applyRope(tf.transpose(q, [0, 2, 1, 3]));
      const kr = applyRope(tf.transpose(k, [0, 2, 1, 3]));
      onKV?.(li, kr, v);
      const a = attention(qr, repeatKv(kr, G), repeatKv(v, G), scale, mask);
      let merged = tf.reshape(tf.transpose(a, [0, 2, 1, 3]), [b * t, H * hd]) as tf.Tensor2D;
      if (keep && li === last) {
        // Only the kept rows are needed after the last attention: o_proj and the MLP skip the others.
        const idx = tf.tensor1d(keep, "int32");
        merged = gatherRows(merged, idx);
        x = gatherRows(x, idx);
      }
      x = tf.add(x, linear(merged, L.o));
      x = tf.add(x, mlp(rmsNorm(x, L.postNorm, eps) as tf.Tensor2D, L.gate, L.up, L.down));
    });
    return x;
  }

  /** Logits of the given hidden rows [N, d] → [N, V] (final norm, then LM head). */
  private head(h: tf.Tensor2D): tf.Tensor2D {
    return linear(rmsNorm(h, this.finalNorm, this.config.rms_norm_eps) as tf.Tensor2D, this.lmHead);
  }

  /** Right-padded forward (each row from position 0); returns the hidden rows `keep(T)` (indices into [B·T]). */
  private forwardRightPadded(
    rows: readonly (readonly number[])[],
    keep: (t: number) => Int32Array,
  ): tf.Tensor2D {
    const b = rows.length;
    let t = 0;
    for (const r of rows) t = Math.max(t, r.length);
    const ids = new Int32Array(b * t).fill(this.padId);
    rows.forEach((r, i) => {
      ids.set(r, i * t);
    });
    const positions = Array.from({ length: t }, (_, i) => i);
    const { cos, sin } = ropeTables(positions, this.config.head_dim, this.config.rope_theta);
    const hd = this.config.head_dim;
    const pos = { cos: tf.tensor2d(cos, [t, hd]), sin: tf.tensor2d(sin, [t, hd]), perRow: false };
    return this.forward(ids, b, t, pos, "causal", undefined, keep(t));
  }

  private checkIds(ids: readonly number[], what: string): void {
    const v = this.config.vocab_size;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= v) {
        throw new RangeError(`${what}: token id ${id} outside [0, ${v})`);
      }
    }
  }

  /** Per-token log-probs (and entropy) of completions given prompts; see `Policy.score`. */
  score(
    batch: readonly SequencePair[],
    options: { entropy?: boolean; temperature?: number } = {},
  ): TokenScores {
    this.assertLive();
    if (batch.length === 0) throw new RangeError("score: empty batch");
    const temperature = options.temperature ?? 1;
    if (!(temperature > 0)) throw new RangeError(`score: temperature must be > 0, got ${temperature}`);
    let tc = 1;
    batch.forEach((p, i) => {
      if (p.promptIds.length === 0) throw new RangeError(`score: pair ${i} has an empty prompt`);
      this.checkIds(p.promptIds, `score: pair ${i} prompt`);
      this.checkIds(p.completionIds, `score: pair ${i} completion`);
      tc = Math.max(tc, p.completionIds.length);
    });
    return tf.tidy(() => {
      const rows = batch.map((p) => [...p.promptIds, ...p.completionIds]);
      const b = batch.length;
      const targets = new Int32Array(b * tc);
      const mask = new Float32Array(b * tc);
      batch.forEach((p, i) => {
        p.completionIds.forEach((id, j) => {
          targets[i * tc + j] = id;
          mask[i * tc + j] = 1;
        });
      });
      // Row i·T + p − 1 + j predicts completion token j (padding slots point at row i·T; they are masked).
      const pick = (t: number) => {
        const rowsKept = new Int32Array(b * tc);
        batch.forEach((p, i) => {
          for (let j = 0; j < tc; j++)
            rowsKept[i * tc + j] = j < p.completionIds.length ? i * t + p.promptIds.length - 1 + j : i * t;
        });
        return rowsKept;
      };
      const h = rmsNorm(
        this.forwardRightPadded(rows, pick),
        this.finalNorm,
        this.config.rms_norm_eps,
      ) as tf.Tensor2D;
      const m = tf.tensor2d(mask, [b, tc]);
      const tgt = tf.tensor1d(targets, "int32");
      const v = this.config.vocab_size;
      let out: TokenScores;
      if (!options.entropy && b * tc * v > this.logitChunkElements) {
        // Large vocabulary × many tokens: never materialise all logits (recomputed per chunk in backward).
        const chunk = Math.max(1, Math.floor(this.logitChunkElements / v));
        const lp = chunkedTokenLogprobs(h, this.lmHead as tf.Tensor2D, tgt, temperature, chunk);
        out = { logprobs: tf.mul(tf.reshape(lp, [b, tc]), m) as tf.Tensor2D, mask: m };
      } else {
        let logits = linear(h, this.lmHead);
        if (temperature !== 1) logits = tf.div(logits, temperature);
        const lp = tokenLogProbs(logits, tgt);
        out = { logprobs: tf.mul(tf.reshape(lp, [b, tc]), m) as tf.Tensor2D, mask: m };
        if (options.entropy)
          out.entropy = tf.mul(tf.reshape(entropyOfLogits(logits), [b, tc]), m) as tf.Tensor2D;
      }
      return out as unknown as tf.TensorContainer;
    }) as unknown as TokenScores;
  }

  /** Logits at the last position of each sequence, [B, V]. */
  lastLogits(ids: readonly number[][]): tf.Tensor2D {
    this.assertLive();
    if (ids.length === 0) throw new RangeError("lastLogits: empty batch");
    ids.forEach((r, i) => {
      if (r.length === 0) throw new RangeError(`lastLogits: sequence ${i} is empty`);
      this.checkIds(r, `lastLogits: sequence ${i}`);
    });
    return tf.tidy(() => {
      const last = (t: number) => Int32Array.from(ids, (r, i) => i * t + r.length - 1);
      return this.head(this.forwardRightPadded(ids, last));
    });
  }

  // ---------------------------------------------------------------- generation

  /** Batched sampling with a preallocated KV cache; see `Policy.generate`. */
  async generate(prompts: readonly number[][], options: SamplingOptions): Promise<Generation[]> {
    this.assertLive();
    const b = prompts.length;
    if (b === 0) return [];
    const { temperature, maxNewTokens } = options;
    const topP = options.topP ?? 1;
    if (!(temperature >= 0)) throw new RangeError(`generate: temperature must be ≥ 0, got ${temperature}`);
    if (!(topP > 0 && topP <= 1)) throw new RangeError(`generate: topP must be in (0, 1], got ${topP}`);
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) {
      throw new RangeError(`generate: maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
    }
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new RangeError(`generate: prompt ${i} is empty`);
      this.checkIds(p, `generate: prompt ${i}`);
    });
    const stops = (options.stop ?? []).filter((s) => s.length > 0);
    // Tokens decode to ≥ 1 character (margin for byte-level pieces that decode to less).
    const stopWindow = Math.max(0, ...stops.map((s) => s.length)) + 16;
    const out: Generation[] = prompts.map((p) => ({
      promptIds: [...p],
      ids: [],
      text: "",
      logprobs: [],
      finishReason: "length",
    }));
    if (maxNewTokens === 0) return out;
    const rngs = prompts.map((_, i) => Rng.derive(options.seed, `generate:${i}`));
    const c = this.config;
    const pLen = Math.max(...prompts.map((p) => p.length));
    const cache = new KVCache(c.num_hidden_layers, b, c.num_key_value_heads, c.head_dim, pLen + maxNewTokens);
    prompts.forEach((p, i) => {
      cache.start[i] = pLen - p.length;
    });
    let logits = this.prefill(prompts, pLen, cache);
    const fused = maxNewTokens > 1 ? this.decodeWeights() : [];
    try {
      const done = new Array<boolean>(b).fill(false);
      const next = new Int32Array(b).fill(this.padId);
      const v = c.vocab_size;
      // Only ids the tokenizer knows are sampled (HF models pad vocab_size beyond the tokenizer's vocabulary).
      const nTok = Math.min(v, this.tokenizer.vocabSize);
      // Rows still generating, as original indices, in the order of the cache's (compacted) batch.
      let active = prompts.map((_, i) => i);
      for (let step = 0; step < maxNewTokens; step++) {
        active.forEach((i, r) => {
          const g = out[i];
          const { id, logprob } = pickToken(logits.subarray(r * v, r * v + nTok), temperature, topP, rngs[i]);
          g.ids.push(id);
          g.logprobs.push(logprob);
          next[i] = id;
          if (this.eos.has(id)) {
            g.finishReason = "eos";
            done[i] = true;
          } else if (stops.length > 0) {
            // A stop string that just completed lies in the last few tokens: decode a tail window only.
            const text = this.tokenizer.decode(g.ids.length > stopWindow ? g.ids.slice(-stopWindow) : g.ids);
            if (stops.some((s) => text.includes(s))) {
              g.finishReason = "stop";
              done[i] = true;
            }
          }
        });
        if (step === maxNewTokens - 1 || done.every(Boolean)) break;
        // Finished rows leave the batch: their cache rows are dropped, so later steps compute only live rows.
        if (active.some((i) => done[i])) {
          const keep = active.flatMap((i, r) => (done[i] ? [] : [r]));
          cache.compact(keep);
          active = keep.map((r) => active[r]);
        }
        const ids = Int32Array.from(active, (i) => next[i]);
        const pos = Int32Array.from(active, (i) => prompts[i].length + step);
        logits = this.decodeStep(ids, pos, cache, fused);
        // Yield to the event loop between tokens so long generations do not starve other work.
        if ((step & 15) === 15) await Promise.resolve();
      }
    } finally {
      for (const f of fused) tf.dispose([f.qkv, f.gateUp, ...(f.qkvBias ? [f.qkvBias] : [])]);
    }
    for (const g of out) g.text = this.tokenizer.decode(g.ids.filter((id) => !this.eos.has(id)));
    return out;
  }

  /** Left-padded forward over the prompts; fills the cache; returns last-position logits [B·V]. */
  private prefill(prompts: readonly number[][], t: number, cache: KVCache): Float32Array {
    const b = prompts.length;
    const c = this.config;
    const hd = c.head_dim;
    const ids = new Int32Array(b * t).fill(this.padId);
    const positions = new Int32Array(b * t);
    const mask = new Float32Array(b * t * t);
    prompts.forEach((p, i) => {
      const s = t - p.length;
      ids.set(p, i * t + s);
      for (let j = 0; j < t; j++) positions[i * t + j] = Math.max(0, j - s);
      // Query r sees keys k with s ≤ k ≤ r (its own prompt, causally); pad queries see everything (unused).
      for (let r = 0; r < t; r++)
        for (let k = 0; k < t; k++) if (r >= s && (k < s || k > r)) mask[(i * t + r) * t + k] = NEG_INF;
    });
    const { cos, sin } = ropeTables(positions, hd, c.rope_theta);
    const logits = tf.tidy(() => {
      const pos = {
        cos: tf.tensor4d(cos, [b, 1, t, hd]),
        sin: tf.tensor4d(sin, [b, 1, t, hd]),
        perRow: true,
      };
      const last = Int32Array.from(prompts, (_, i) => i * t + t - 1);
      const hidden = this.forward(
        ids,
        b,
        t,
        pos,
        tf.tensor4d(mask, [b, 1, t, t]),
        (layer, k, v) => cache.write(layer, k.dataSync() as Float32Array, v.dataSync() as Float32Array, t),
        last,
      );
      return this.head(hidden);
    });
    cache.advance(t);
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    return data;
  }

  /**
   * Per-layer weights concatenated for decoding (weights do not change during `generate`): q|k|v as one
   * [(H+2KV)·hd, d] matrix (+ bias), gate|up as one [2I, d] matrix, q/k norm weights as arrays. One matmul and one
   * read-back per projection group instead of three.
   */
  private decodeWeights(): DecodeLayer[] {
    return this.layers.map((L) =>
      tf.tidy(() => ({
        qkv: tf.concat([L.q, L.k, L.v], 0) as tf.Tensor2D,
        qkvBias: L.qb && L.kb && L.vb ? (tf.concat([L.qb, L.kb, L.vb], 0) as tf.Tensor1D) : undefined,
        gateUp: tf.concat([L.gate, L.up], 0) as tf.Tensor2D,
        qNorm: L.qNorm ? Float32Array.from(L.qNorm.dataSync() as Float32Array) : undefined,
        kNorm: L.kNorm ? Float32Array.from(L.kNorm.dataSync() as Float32Array) : undefined,
      })),
    );
  }

  /** One decoding step: token `ids[b]` at position `pos[b]` for every row; returns logits [B·V]. */
  private decodeStep(ids: Int32Array, pos: Int32Array, cache: KVCache, fused: DecodeLayer[]): Float32Array {
    const c = this.config;
    const b = ids.length;
    const H = c.num_attention_heads;
    const KV = c.num_key_value_heads;
    const I = c.intermediate_size;
    const hd = c.head_dim;
    const half = hd / 2;
    const eps = c.rms_norm_eps;
    const scale = 1 / Math.sqrt(hd);
    const width = (H + 2 * KV) * hd;
    const { cos, sin } = ropeTables(pos, hd, c.rope_theta);
    const qd = new Float32Array(b * H * hd);
    const kd = new Float32Array(b * KV * hd);
    const vd = new Float32Array(b * KV * hd);
    // Optional per-head RMSNorm (Qwen3), then x·cos + rotate_half(x)·sin, times `s`, in place.
    const normRope = (x: Float32Array, heads: number, s: number, w?: Float32Array) => {
      for (let r = 0; r < b; r++)
        for (let h = 0; h < heads; h++) {
          const o = (r * heads + h) * hd;
          if (w) {
            let ms = 0;
            for (let j = 0; j < hd; j++) ms += x[o + j] * x[o + j];
            const inv = 1 / Math.sqrt(ms / hd + eps);
            for (let j = 0; j < hd; j++) x[o + j] = x[o + j] * inv * w[j];
          }
          for (let j = 0; j < half; j++) {
            const x1 = x[o + j];
            const x2 = x[o + j + half];
            const cj = cos[r * hd + j];
            const sj = sin[r * hd + j];
            x[o + j] = (x1 * cj - x2 * sj) * s;
            x[o + j + half] = (x2 * cj + x1 * sj) * s;
          }
        }
    };
    const attnOut = new Float32Array(b * H * hd);
    const logits = tf.tidy(() => {
      let x: tf.Tensor2D = tf.gather(this.embed as tf.Tensor2D, tf.tensor1d(ids, "int32"));
      this.layers.forEach((L, li) => {
        const F = fused[li];
        const h = rmsNorm(x, L.inNorm, eps) as tf.Tensor2D;
        const all = linear(h, F.qkv, F.qkvBias).dataSync() as Float32Array;
        for (let r = 0; r < b; r++) {
          const o = r * width;
          qd.set(all.subarray(o, o + H * hd), r * H * hd);
          kd.set(all.subarray(o + H * hd, o + (H + KV) * hd), r * KV * hd);
          vd.set(all.subarray(o + (H + KV) * hd, o + width), r * KV * hd);
        }
        normRope(qd, H, scale, F.qNorm);
        normRope(kd, KV, 1, F.kNorm);
        cache.write(li, kd, vd, 1);
        cache.attend(li, qd, H, cache.length + 1, attnOut);
        x = tf.add(x, linear(tf.tensor2d(attnOut, [b, H * hd]), L.o));
        const gu = linear(rmsNorm(x, L.postNorm, eps) as tf.Tensor2D, F.gateUp);
        const act = swiglu(tf.slice(gu, [0, 0], [b, I]), tf.slice(gu, [0, I], [b, I])) as tf.Tensor2D;
        x = tf.add(x, linear(act, L.down));
      });
      return this.head(x);
    });
    cache.advance(1);
    const data = logits.dataSync() as Float32Array;
    logits.dispose();
    return data;
  }

  // ---------------------------------------------------------------- weights

  /** Copies one tensor in (name and shape must match). */
  setWeight(name: string, data: Float32Array): void {
    this.assertLive();
    const v = this.params.get(name);
    if (!v) throw new CheckpointError("unexpected tensor (not in this model's layout)", { path: name });
    if (data.length !== v.size) {
      throw new CheckpointError(`has ${data.length} values, shape [${v.shape}] needs ${v.size}`, {
        path: name,
      });
    }
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, "float32")));
  }

  /** Copies weights in (names and shapes must match exactly). */
  loadWeights(weights: WeightMap): void {
    this.assertLive();
    checkWeights(weights, parameterShapes(this.config));
    for (const [name, v] of this.params) {
      const w = weights.get(name)!;
      tf.tidy(() => v.assign(tf.tensor(w.data, v.shape, "float32")));
    }
  }

  /** A copy of every weight as Float32Array, by HF name. */
  exportWeights(): Map<string, { shape: number[]; data: Float32Array }> {
    this.assertLive();
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of this.params) {
      out.set(name, { shape: [...v.shape], data: Float32Array.from(v.dataSync() as Float32Array) });
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.params.values()) v.dispose();
    this.rot.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error("CausalLM: used after dispose()");
  }
}

/** Missing, extra or wrongly shaped tensors → CheckpointError naming the tensor. */
export function checkWeights(weights: WeightMap, shapes: ReadonlyMap<string, number[]>): void {
  for (const [name, shape] of shapes) {
    const w = weights.get(name);
    if (!w) throw new CheckpointError("missing tensor", { path: name });
    if (w.shape.length !== shape.length || w.shape.some((s, i) => s !== shape[i])) {
      throw new CheckpointError(`shape [${w.shape}] does not match the config's [${shape}]`, { path: name });
    }
    const n = shape.reduce((a, b) => a * b, 1);
    if (w.data.length !== n) {
      throw new CheckpointError(`has ${w.data.length} values, shape [${shape}] needs ${n}`, { path: name });
    }
  }
  for (const name of weights.keys()) {
    if (!shapes.has(name))
      throw new CheckpointError("unexpected tensor (not in this model's layout)", { path: name });
  }
}
