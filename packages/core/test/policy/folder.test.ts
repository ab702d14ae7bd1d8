import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { MemoryFileStore } from "../../src/checkpoint/index.ts";
import { CheckpointError, ConfigError } from "../../src/errors/index.ts";
import { CausalLM, CharTokenizer, loadPolicy, savePolicy, tinyConfig } from "../../src/policy/index.ts";
import { fixtureStore } from "./helpers.ts";

async function saved(tie = true, opts = {}) {
  const tok = new CharTokenizer();
  const model = new CausalLM(
    tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId, tieEmbeddings: tie }),
    tok,
    {
      seed: 3,
    },
  );
  const store = new MemoryFileStore("tiny");
  await savePolicy(model, store, opts);
  return { model, store, tok };
}

describe("model folders", () => {
  it("save → load round-trips weights, config and tokenizer exactly (f32)", async () => {
    const { model, store } = await saved(false);
    expect((await store.list()).sort()).toEqual(
      ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"].sort(),
    );
    const back = await loadPolicy(store);
    expect(back.tokenizer).toBeInstanceOf(CharTokenizer);
    expect(back.config).toEqual(model.config);
    const a = model.exportWeights();
    for (const [n, w] of back.exportWeights()) expect(w.data).toEqual(a.get(n)!.data);
    const ids = [[5, 6, 7, 8]];
    const la = model.lastLogits(ids);
    const lb = back.lastLogits(ids);
    expect(Array.from(lb.dataSync())).toEqual(Array.from(la.dataSync()));
    tf.dispose([la, lb]);
    const cfg = JSON.parse(await store.readText("config.json"));
    expect(cfg.architectures).toEqual(["Qwen2ForCausalLM"]);
    expect(cfg.qk_norm).toBeUndefined();
    model.dispose();
    back.dispose();
  });

  it("writes shards + index when asked, in bf16, and reads them back", async () => {
    const { model, store } = await saved(true, { dtype: "BF16", maxShardBytes: 20_000 });
    const files = await store.list();
    expect(files).toContain("model.safetensors.index.json");
    expect(files.filter((f) => f.startsWith("model-")).length).toBeGreaterThan(1);
    const back = await loadPolicy(store);
    const a = model.exportWeights();
    for (const [n, w] of back.exportWeights()) {
      const ref = a.get(n)!.data;
      let worst = 0; // bf16 keeps 8 significant bits: relative error ≤ 2^-8
      for (let i = 0; i < ref.length; i++)
        worst = Math.max(worst, Math.abs(w.data[i] - ref[i]) - Math.abs(ref[i]) / 256);
      expect(worst, n).toBeLessThanOrEqual(0);
    }
    model.dispose();
    back.dispose();
  });

  it("rejects a missing tensor, a shape mismatch and an unexpected tensor, naming them", async () => {
    const base = fixtureStore("qwen2_gqa_tied");
    const cfg = JSON.parse(await base.readText("config.json"));

    const more = fixtureStore("qwen2_gqa_tied");
    await more.writeText("config.json", JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    // one layer more than the checkpoint holds: refused from the headers, naming config.json and the field
    await expect(loadPolicy(more, { allowMissingTokenizer: true })).rejects.toThrow(
      /config\.json num_hidden_layers: num_hidden_layers is 3, but the checkpoint holds 2 layer\(s\)/,
    );

    const wide = fixtureStore("qwen2_gqa_tied");
    await wide.writeText("config.json", JSON.stringify({ ...cfg, intermediate_size: 32 }));
    const err = await loadPolicy(wide, { allowMissingTokenizer: true }).catch((e) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.path).toBe("model.layers.0.mlp.gate_proj.weight");
    expect(err.message).toMatch(/shape \[24,16\] does not match the config's \[32,16\]/);

    const llama = fixtureStore("qwen2_gqa_tied");
    await llama.writeText("config.json", JSON.stringify({ ...cfg, model_type: "llama" }));
    await expect(loadPolicy(llama, { allowMissingTokenizer: true })).rejects.toThrow(
      /self_attn\.q_proj\.bias: unexpected tensor/,
    );
  });

  it("checks the config's sizes against the checkpoint headers before building anything (1e9 layers, vocab, width)", async () => {
    const { store } = await saved(true);
    const cfg = JSON.parse(await store.readText("config.json"));
    const withConfig = async (patch: Record<string, unknown>) => {
      await store.writeText("config.json", JSON.stringify({ ...cfg, ...patch }));
      const t0 = performance.now();
      const err = await loadPolicy(store).then(
        () => undefined,
        (e: unknown) => e,
      );
      return { err: err as ConfigError, ms: performance.now() - t0 };
    };
    const huge = await withConfig({ num_hidden_layers: 1e9 });
    expect(huge.err).toBeInstanceOf(ConfigError);
    expect(huge.err.message).toMatch(
      /tiny\/config\.json.*num_hidden_layers is 1000000000, but the checkpoint holds 2 layer/,
    );
    expect(huge.ms).toBeLessThan(2000); // refused from the headers, not after allocating for a billion layers
    expect((await withConfig({ vocab_size: 500 })).err.message).toMatch(
      /vocab_size is 500, but model\.embed_tokens\.weight has \d+ rows/,
    );
    expect((await withConfig({ hidden_size: 128, num_attention_heads: 4 })).err.message).toMatch(
      /hidden_size is 128/,
    );
    await store.writeText("config.json", JSON.stringify(cfg));
    (await loadPolicy(store)).dispose();
  });

  it("rejects a folder without config or without tokenizer (unless allowed)", async () => {
    await expect(loadPolicy(new MemoryFileStore("empty"))).rejects.toThrow(ConfigError);
    await expect(loadPolicy(fixtureStore("qwen2_gqa_tied"))).rejects.toThrow(/tokenizer\.json/);
    const m = await loadPolicy(fixtureStore("qwen2_gqa_tied"), { allowMissingTokenizer: true });
    expect(m.tokenizer.decode([1, 2])).toBe("[1][2]");
    m.dispose();
  });

  it("rejects weights whose tokenizer is larger than the model's vocabulary", () => {
    const tok = new CharTokenizer();
    expect(() => new CausalLM(tinyConfig({ vocabSize: 10 }), tok)).toThrow(/vocab_size/);
  });

  it("loadWeights rejects missing, extra and misshapen tensors", async () => {
    const { model } = await saved();
    const w = model.exportWeights();
    const missing = new Map(w);
    missing.delete("model.norm.weight");
    expect(() => model.loadWeights(missing)).toThrow(/model\.norm\.weight: missing tensor/);
    const extra = new Map(w);
    extra.set("lm_head.weight", w.get("model.embed_tokens.weight")!);
    expect(() => model.loadWeights(extra)).toThrow(/lm_head\.weight: unexpected tensor/);
    const bad = new Map(w);
    bad.set("model.norm.weight", { shape: [3], data: new Float32Array(3) });
    expect(() => model.loadWeights(bad)).toThrow(/model\.norm\.weight: shape/);
    model.dispose();
  });
});
