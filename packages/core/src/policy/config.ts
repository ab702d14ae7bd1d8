/**
 * Hugging Face `config.json` → `CausalLMConfig`, with the defaults of transformers' LlamaConfig / Qwen2Config /
 * Qwen3Config, and validation that names the field at fault. Unsupported features (rope scaling, sliding window,
 * MLP biases, activations other than SiLU) are rejected rather than silently ignored.
 */
import { ConfigError } from "../errors/index.ts";
import type { CausalLMConfig } from "./types.ts";

/** Model types this engine runs. qwen3 adds per-head RMSNorm on q and k (`q_norm`, `k_norm`). */
export const SUPPORTED_MODEL_TYPES = ["llama", "qwen2", "qwen3"] as const;

/** Per-model-type defaults, as in transformers' configuration classes. */
const DEFAULTS: Record<string, Partial<CausalLMConfig>> = {
  llama: {
    vocab_size: 32000,
    hidden_size: 4096,
    intermediate_size: 11008,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    attention_bias: false,
  },
  qwen2: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    attention_bias: true,
  },
  qwen3: {
    vocab_size: 151936,
    hidden_size: 4096,
    intermediate_size: 22016,
    num_hidden_layers: 32,
    num_attention_heads: 32,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    attention_bias: false,
  },
};

/** `CausalLMConfig` plus what this engine derives from it. */
export interface ResolvedConfig extends CausalLMConfig {
  head_dim: number;
  /** Per-head RMSNorm on queries and keys before RoPE (Qwen3). */
  qk_norm: boolean;
}

/** Parses config.json text (or an already-parsed object). `file` names the source in errors. */
export function parseConfig(input: string | Record<string, unknown>, file = "config.json"): ResolvedConfig {
  let raw: Record<string, unknown>;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`not valid JSON (${(err as Error).message})`, { file });
    }
  } else raw = input;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError("config must be a JSON object", { file });
  }
  const modelType = raw.model_type;
  if (typeof modelType !== "string")
    throw new ConfigError("missing or not a string", { file, path: "model_type" });
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ConfigError(
      `unsupported model_type "${modelType}" (supported: ${SUPPORTED_MODEL_TYPES.join(", ")})`,
      { file, path: "model_type" },
    );
  }
  const d = DEFAULTS[modelType];
  const get = (k: keyof CausalLMConfig) => (raw[k] === undefined ? d[k] : raw[k]);

  const posInt = (k: keyof CausalLMConfig): number => {
    const v = get(k);
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new ConfigError(`must be a positive integer, got ${JSON.stringify(v)}`, { file, path: k });
    }
    return v;
  };
  const posNum = (k: keyof CausalLMConfig): number => {
    const v = get(k);
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(`must be a positive number, got ${JSON.stringify(v)}`, { file, path: k });
    }
    return v;
  };
  const bool = (k: keyof CausalLMConfig): boolean => {
    const v = get(k);
    if (typeof v !== "boolean")
      throw new ConfigError(`must be a boolean, got ${JSON.stringify(v)}`, { file, path: k });
    return v;
  };
  const optId = (k: "bos_token_id" | "pad_token_id"): number | null => {
    const v = raw[k];
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      throw new ConfigError(`must be a non-negative integer or null, got ${JSON.stringify(v)}`, {
        file,
        path: k,
      });
    }
    return v;
  };

  const vocab_size = posInt("vocab_size");
  const hidden_size = posInt("hidden_size");
  const intermediate_size = posInt("intermediate_size");
  const num_hidden_layers = posInt("num_hidden_layers");
  const num_attention_heads = posInt("num_attention_heads");
  if (raw.num_key_value_heads === undefined || raw.num_key_value_heads === null) {
    raw = { ...raw, num_key_value_heads: num_attention_heads };
  }
  const num_key_value_heads = posInt("num_key_value_heads");
  if (num_attention_heads % num_key_value_heads !== 0) {
    throw new ConfigError(
      `num_attention_heads (${num_attention_heads}) must be a multiple of num_key_value_heads (${num_key_value_heads})`,
      { file, path: "num_key_value_heads" },
    );
  }
  let head_dim: number;
  if (raw.head_dim === undefined || raw.head_dim === null) {
    if (hidden_size % num_attention_heads !== 0) {
      throw new ConfigError(
        `hidden_size (${hidden_size}) is not divisible by num_attention_heads (${num_attention_heads}) and no head_dim is given`,
        { file, path: "num_attention_heads" },
      );
    }
    head_dim = hidden_size / num_attention_heads;
  } else head_dim = posInt("head_dim");
  if (head_dim % 2 !== 0)
    throw new ConfigError(`must be even for RoPE, got ${head_dim}`, { file, path: "head_dim" });

  const eos = raw.eos_token_id;
  if (
    eos !== undefined &&
    eos !== null &&
    !(typeof eos === "number" && Number.isInteger(eos) && eos >= 0) &&
    !(Array.isArray(eos) && eos.every((x) => typeof x === "number" && Number.isInteger(x) && x >= 0))
  ) {
    throw new ConfigError(`must be an integer, a list of integers or null, got ${JSON.stringify(eos)}`, {
      file,
      path: "eos_token_id",
    });
  }

  // Features this engine does not implement: reject instead of computing something else.
  const act = raw.hidden_act ?? "silu";
  if (act !== "silu")
    throw new ConfigError(`unsupported activation "${act}" (only silu)`, { file, path: "hidden_act" });
  if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) {
    const type =
      (raw.rope_scaling as { rope_type?: string; type?: string }).rope_type ??
      (raw.rope_scaling as { type?: string }).type;
    if (type !== "default") {
      throw new ConfigError(`rope scaling "${type}" is not supported`, { file, path: "rope_scaling" });
    }
  }
  if (raw.mlp_bias === true)
    throw new ConfigError("MLP biases are not supported", { file, path: "mlp_bias" });
  if (raw.use_sliding_window === true) {
    throw new ConfigError("sliding-window attention is not supported", { file, path: "use_sliding_window" });
  }
  if (raw.attention_bias !== undefined && typeof raw.attention_bias !== "boolean") {
    throw new ConfigError(`must be a boolean, got ${JSON.stringify(raw.attention_bias)}`, {
      file,
      path: "attention_bias",
    });
  }

  const cfg: ResolvedConfig = {
    model_type: modelType,
    vocab_size,
    hidden_size,
    intermediate_size,
    num_hidden_layers,
    num_attention_heads,
    num_key_value_heads,
    max_position_embeddings: posInt("max_position_embeddings"),
    rms_norm_eps: posNum("rms_norm_eps"),
    rope_theta: posNum("rope_theta"),
    tie_word_embeddings: bool("tie_word_embeddings"),
    // Qwen2 always has q/k/v biases (its attention layer hard-codes bias=True).
    attention_bias: modelType === "qwen2" ? true : bool("attention_bias"),
    head_dim,
    qk_norm: modelType === "qwen3",
    bos_token_id: optId("bos_token_id"),
    eos_token_id: (eos ?? null) as number | number[] | null,
    pad_token_id: optId("pad_token_id"),
  };
  for (const k of ["bos_token_id", "pad_token_id"] as const) {
    const v = cfg[k];
    if (typeof v === "number" && v >= vocab_size) {
      throw new ConfigError(`${v} is outside the vocabulary (vocab_size ${vocab_size})`, { file, path: k });
    }
  }
  for (const e of eosIds(cfg)) {
    if (e >= vocab_size) {
      throw new ConfigError(`${e} is outside the vocabulary (vocab_size ${vocab_size})`, {
        file,
        path: "eos_token_id",
      });
    }
  }
  return cfg;
}

/** Normalises any CausalLMConfig (e.g. one built in code) through the same validation. */
export function resolveConfig(config: CausalLMConfig): ResolvedConfig {
  return parseConfig(config as unknown as Record<string, unknown>, "<config>");
}

/** The config as HF config.json text (what `savePolicy` writes). */
export function configToJson(config: ResolvedConfig): string {
  const arch = { llama: "LlamaForCausalLM", qwen2: "Qwen2ForCausalLM", qwen3: "Qwen3ForCausalLM" }[
    config.model_type as "llama"
  ];
  const { qk_norm: _qkNorm, ...hf } = config;
  return `${JSON.stringify({ architectures: [arch], hidden_act: "silu", torch_dtype: "float32", ...hf, rope_scaling: null }, null, 2)}\n`;
}

/** EOS ids of a config as a list. */
export function eosIds(config: CausalLMConfig): number[] {
  const e = config.eos_token_id;
  if (e === undefined || e === null) return [];
  return Array.isArray(e) ? [...e] : [e];
}

/** Recipe for a built-in tiny policy (Qwen2 layout, tied embeddings, GQA when kvHeads < heads). */
export interface TinyRecipe {
  vocabSize: number;
  hiddenSize?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  intermediateSize?: number;
  maxPositions?: number;
  tieEmbeddings?: boolean;
  eosId?: number;
  padId?: number;
  bosId?: number;
}

/** A small Qwen2-layout config for built-in policies (defaults: d=64, 2 layers, 4 heads, 2 kv heads). */
export function tinyConfig(r: TinyRecipe): ResolvedConfig {
  const hidden = r.hiddenSize ?? 64;
  return resolveConfig({
    model_type: "qwen2",
    vocab_size: r.vocabSize,
    hidden_size: hidden,
    intermediate_size: r.intermediateSize ?? hidden * 3,
    num_hidden_layers: r.layers ?? 2,
    num_attention_heads: r.heads ?? 4,
    num_key_value_heads: r.kvHeads ?? 2,
    max_position_embeddings: r.maxPositions ?? 512,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: r.tieEmbeddings ?? true,
    attention_bias: true,
    bos_token_id: r.bosId ?? null,
    eos_token_id: r.eosId ?? null,
    pad_token_id: r.padId ?? null,
  });
}
