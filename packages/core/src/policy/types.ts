/**
 * The policy contract the trainer, evaluator and analyses program against. `packages/core/src/policy/` implements
 * it with a Llama/Qwen2-layout causal LM on TensorFlow.js; other implementations (a remote engine, a mock in a
 * test) can too. Additive changes only: other packages depend on these names.
 */
import type * as tf from "@tensorflow/tfjs-core";

/** Hugging Face-style decoder config (the subset M2RL reads from config.json). */
export interface CausalLMConfig {
  model_type: string;
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  max_position_embeddings: number;
  rms_norm_eps: number;
  rope_theta: number;
  tie_word_embeddings: boolean;
  /** Qwen2 has q/k/v biases; Llama does not. */
  attention_bias: boolean;
  head_dim?: number;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly bosId?: number;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface SamplingOptions {
  temperature: number;
  topP?: number;
  maxNewTokens: number;
  /** Generation of a sequence stops after any of these strings appears in its decoded completion. */
  stop?: string[];
  seed: number;
}

export interface Generation {
  promptIds: number[];
  /** Completion token ids (including the final EOS when one was sampled). */
  ids: number[];
  text: string;
  /** Log-probability of each completion token under the sampling policy (temperature-scaled, before top-p). */
  logprobs: number[];
  finishReason: "eos" | "stop" | "length";
}

/** A prompt and a completion, as token ids, for scoring or training. */
export interface SequencePair {
  promptIds: number[];
  completionIds: number[];
}

/** Per-token outputs over completions, padded to [batch, maxCompletionLen]. */
export interface TokenScores {
  /** log p(token) under the policy, [B, T]. Differentiable when computed inside a gradient scope. */
  logprobs: tf.Tensor2D;
  /** 1 for real completion tokens, 0 for padding, [B, T]. */
  mask: tf.Tensor2D;
  /** Entropy of the next-token distribution at each position, [B, T] (only when asked for). */
  entropy?: tf.Tensor2D;
}

export interface Policy {
  readonly config: CausalLMConfig;
  readonly tokenizer: Tokenizer;
  /** Trainable parameters by Hugging Face name (`model.layers.0.self_attn.q_proj.weight`, ...). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** Batched KV-cache sampling. */
  generate(prompts: readonly number[][], options: SamplingOptions): Promise<Generation[]>;
  /** Per-token log-probs of given completions (teacher forcing). Call inside tf.variableGrads for gradients. */
  score(batch: readonly SequencePair[], options?: { entropy?: boolean; temperature?: number }): TokenScores;
  /** Logits of the last position for each sequence, [B, V] (debugging, parity checks). */
  lastLogits(ids: readonly number[][]): tf.Tensor2D;
  /** Copies weights from a name → Float32Array map (missing or extra names are errors). */
  loadWeights(weights: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void;
  /** Snapshot of all weights. */
  exportWeights(): Map<string, { shape: number[]; data: Float32Array }>;
  dispose(): void;
}
