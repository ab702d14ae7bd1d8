import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors/index.ts";
import { parseConfig, tinyConfig } from "../../src/policy/index.ts";

const base = {
  model_type: "qwen2",
  vocab_size: 100,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
};

describe("parseConfig", () => {
  it("applies Hugging Face defaults per model type", () => {
    const q = parseConfig(JSON.stringify(base));
    expect(q.attention_bias).toBe(true); // qwen2 always has q/k/v biases
    expect(q.head_dim).toBe(8);
    expect(q.rms_norm_eps).toBe(1e-6);
    expect(q.rope_theta).toBe(10000);
    expect(q.max_position_embeddings).toBe(32768);
    expect(q.tie_word_embeddings).toBe(false);
    expect(q.qk_norm).toBe(false);
    const l = parseConfig({ ...base, model_type: "llama", num_key_value_heads: undefined });
    expect(l.attention_bias).toBe(false);
    expect(l.num_key_value_heads).toBe(4); // defaults to num_attention_heads
    expect(l.max_position_embeddings).toBe(2048);
    expect(parseConfig({ ...base, model_type: "llama", attention_bias: true }).attention_bias).toBe(true);
    const q3 = parseConfig({ ...base, model_type: "qwen3", head_dim: 16 });
    expect(q3.qk_norm).toBe(true);
    expect(q3.head_dim).toBe(16);
    expect(q3.attention_bias).toBe(false);
  });

  it.each([
    [{ ...base, model_type: "gpt2" }, "model_type"],
    [{ ...base, model_type: undefined }, "model_type"],
    [{ ...base, vocab_size: 0 }, "vocab_size"],
    [{ ...base, hidden_size: 33.5 }, "hidden_size"],
    [{ ...base, num_hidden_layers: "2" }, "num_hidden_layers"],
    [{ ...base, num_key_value_heads: 3 }, "num_key_value_heads"],
    [{ ...base, hidden_size: 30 }, "num_attention_heads"],
    [{ ...base, head_dim: 7 }, "head_dim"],
    [{ ...base, rms_norm_eps: -1 }, "rms_norm_eps"],
    [{ ...base, rope_theta: "big" }, "rope_theta"],
    [{ ...base, tie_word_embeddings: "yes" }, "tie_word_embeddings"],
    [{ ...base, hidden_act: "gelu" }, "hidden_act"],
    [{ ...base, rope_scaling: { rope_type: "yarn", factor: 4 } }, "rope_scaling"],
    [{ ...base, use_sliding_window: true }, "use_sliding_window"],
    [{ ...base, mlp_bias: true }, "mlp_bias"],
    [{ ...base, eos_token_id: 100 }, "eos_token_id"],
    [{ ...base, eos_token_id: [1, "2"] }, "eos_token_id"],
    [{ ...base, pad_token_id: -1 }, "pad_token_id"],
  ])("rejects %j naming %s", (cfg, field) => {
    let err: unknown;
    try {
      parseConfig(JSON.stringify(cfg), "m/config.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).path).toBe(field);
    expect((err as ConfigError).file).toBe("m/config.json");
  });

  it("rejects text that is not a JSON object", () => {
    expect(() => parseConfig("{nope")).toThrow(ConfigError);
    expect(() => parseConfig("[1]")).toThrow(/JSON object/);
  });

  it("tinyConfig builds a valid Qwen2-layout recipe", () => {
    const c = tinyConfig({ vocabSize: 99, hiddenSize: 48, heads: 6, kvHeads: 2, eosId: 1 });
    expect(c.model_type).toBe("qwen2");
    expect(c.head_dim).toBe(8);
    expect(c.tie_word_embeddings).toBe(true);
    expect(c.eos_token_id).toBe(1);
  });
});
