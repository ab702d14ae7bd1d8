// Generation: KV-cache decoding equals full recomputation, sampling is seeded, stop conditions work.
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { CausalLM, CharTokenizer, loadPolicy, tinyConfig } from "../../src/policy/index.ts";
import { Rng } from "../../src/rng/index.ts";
import { fixtureStore } from "./helpers.ts";

/** Greedy decoding by recomputing the whole sequence every token (no cache). */
function greedyRecompute(model: CausalLM, prompt: number[], n: number): number[] {
  const seq = [...prompt];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = model.lastLogits([seq]);
    const id = tf.tidy(() => tf.argMax(l, -1).dataSync()[0]);
    l.dispose();
    out.push(id);
    seq.push(id);
  }
  return out;
}

describe("generate", () => {
  it.each(["qwen2_gqa_tied", "qwen2_mqa_untied", "llama_headdim_untied", "qwen3_qknorm_tied"])(
    "%s: KV-cache greedy equals full-recompute greedy, with left-padded prompts of different lengths",
    async (name) => {
      const model = await loadPolicy(fixtureStore(name), { allowMissingTokenizer: true });
      // ids-only tokenizer; make sure EOS does not stop the comparison early
      (model as unknown as { eos: Set<number> }).eos.clear();
      const v = model.config.vocab_size;
      const rng = new Rng(3);
      const prompts = [5, 1, 9].map((n) => Array.from({ length: n }, () => rng.int(v)));
      const gens = await model.generate(prompts, { temperature: 0, maxNewTokens: 8, seed: 0 });
      prompts.forEach((p, i) => {
        expect(gens[i].ids).toEqual(greedyRecompute(model, p, 8));
        expect(gens[i].finishReason).toBe("length");
        expect(gens[i].logprobs).toHaveLength(8);
      });
      // Greedy log-probs are the (unscaled) log-softmax of the chosen token.
      const full = model.lastLogits([[...prompts[0], ...gens[0].ids.slice(0, 3)]]);
      const lsm = tf.tidy(() => tf.logSoftmax(full).dataSync());
      expect(gens[0].logprobs[3]).toBeCloseTo(lsm[gens[0].ids[3]], 4);
      full.dispose();
      model.dispose();
    },
  );

  it("sampled log-probs equal score() at the same temperature (the trainer's ratio starts at 1)", async () => {
    const tok = new CharTokenizer();
    const model = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId }), tok, {
      seed: 1,
      initStd: 0.5,
    });
    const prompts = [tok.encode("12+3="), tok.encode("a")];
    const gens = await model.generate(prompts, { temperature: 0.7, maxNewTokens: 6, seed: 11 });
    const s = model.score(
      gens.map((g) => ({ promptIds: g.promptIds, completionIds: g.ids })),
      { temperature: 0.7 },
    );
    const lp = s.logprobs.arraySync();
    gens.forEach((g, i) => {
      g.logprobs.forEach((l, j) => {
        expect(lp[i][j]).toBeCloseTo(l, 4);
      });
    });
    tf.dispose([s.logprobs, s.mask]);
    model.dispose();
  });

  it("sampling is seeded: same seed gives the same text, another seed other text", async () => {
    const tok = new CharTokenizer();
    const model = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId }), tok, {
      seed: 2,
      initStd: 0.3,
    });
    const prompts = [tok.encode("Q: 7*6?"), tok.encode("Q: 7*6?"), tok.encode("hi")];
    const opts = { temperature: 1, topP: 0.95, maxNewTokens: 12, seed: 42 };
    const a = await model.generate(prompts, opts);
    const b = await model.generate(prompts, opts);
    const c = await model.generate(prompts, { ...opts, seed: 43 });
    expect(b.map((g) => g.ids)).toEqual(a.map((g) => g.ids));
    expect(b.map((g) => g.text)).toEqual(a.map((g) => g.text));
    expect(c.map((g) => g.ids)).not.toEqual(a.map((g) => g.ids));
    // Rows of a batch draw from independent streams: the same prompt twice gives two different samples.
    expect(a[0].ids).not.toEqual(a[1].ids);
    // A row's sample does not depend on the other rows of the batch.
    const alone = await model.generate([prompts[0]], opts);
    expect(alone[0].ids).toEqual(a[0].ids);
    model.dispose();
  });

  it("rows that finish early leave the batch without changing the others (cache compaction)", async () => {
    const tok = new CharTokenizer("abcdefgh");
    const model = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId }), tok, {
      seed: 12,
      initStd: 0.5,
    });
    const prompts = ["a", "bb", "hgf", "cab", "dddd", "e", "fa", "gh"].map((p) => tok.encode(p));
    const opts = { temperature: 0, maxNewTokens: 12, seed: 0, stop: ["d", "h"] };
    const batch = await model.generate(prompts, opts);
    const lengths = new Set(batch.map((g) => g.ids.length));
    expect(lengths.size).toBeGreaterThan(2); // rows finish at different steps
    expect(batch.some((g) => g.finishReason === "stop")).toBe(true);
    for (let i = 0; i < prompts.length; i++) {
      const [alone] = await model.generate([prompts[i]], opts);
      expect(batch[i].ids, `row ${i}`).toEqual(alone.ids);
      expect(batch[i].finishReason).toBe(alone.finishReason);
      batch[i].logprobs.forEach((l, j) => {
        expect(l).toBeCloseTo(alone.logprobs[j], 4);
      });
    }
    model.dispose();
  });

  it("tiny top-p keeps only the most likely token (equals greedy)", async () => {
    const tok = new CharTokenizer();
    const model = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId }), tok, {
      seed: 4,
      initStd: 0.3,
    });
    (model as unknown as { eos: Set<number> }).eos.clear();
    const p = [tok.encode("abc")];
    const g = await model.generate(p, { temperature: 0, maxNewTokens: 10, seed: 1 });
    const t = await model.generate(p, { temperature: 1.3, topP: 1e-6, maxNewTokens: 10, seed: 9 });
    expect(t[0].ids).toEqual(g[0].ids);
    model.dispose();
  });

  it("stops at EOS, at a stop string, or at the length limit", async () => {
    const tok = new CharTokenizer();
    const model = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId }), tok, { seed: 5 });
    // Make the policy deterministic by hand: the LM head favours "x" after anything, EOS after nothing.
    const w = model.exportWeights();
    const d = model.config.hidden_size;
    const emb = w.get("model.embed_tokens.weight")!.data;
    const x = tok.encode("x")[0];
    for (let i = 0; i < d; i++) emb[x * d + i] = 3 * Math.sign(Math.sin(i + 1));
    model.loadWeights(w);
    const ref = await model.generate([tok.encode("x")], { temperature: 0, maxNewTokens: 5, seed: 0 });
    expect(ref[0].finishReason).toBe("length");
    expect(ref[0].text).toBe("xxxxx");
    const stop = await model.generate([tok.encode("x")], {
      temperature: 0,
      maxNewTokens: 20,
      seed: 0,
      stop: ["xxx"],
    });
    expect(stop[0].finishReason).toBe("stop");
    expect(stop[0].text).toBe("xxx");
    // EOS: make the EOS row of the head dominate.
    for (let i = 0; i < d; i++) emb[tok.eosId * d + i] = 6 * Math.sign(Math.sin(i + 1));
    model.loadWeights(w);
    const eos = await model.generate([tok.encode("x")], { temperature: 0, maxNewTokens: 20, seed: 0 });
    expect(eos[0].finishReason).toBe("eos");
    expect(eos[0].ids).toEqual([tok.eosId]);
    expect(eos[0].text).toBe("");
    model.dispose();
  });

  it("leaks no tensors (construction, generate, score inside gradients, lastLogits, dispose)", async () => {
    const start = tf.memory().numTensors;
    const tok = new CharTokenizer();
    const model = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize, eosId: tok.eosId }), tok, {
      seed: 1,
    });
    const prompts = [tok.encode("abc"), tok.encode("hello")];
    await model.generate(prompts, { temperature: 1, maxNewTokens: 3, seed: 0 }); // warm caches
    const before = tf.memory().numTensors;
    await model.generate(prompts, { temperature: 1, maxNewTokens: 6, seed: 0, stop: ["x"] });
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(
        () =>
          tf.sum(
            model.score([{ promptIds: prompts[0], completionIds: prompts[1] }], { entropy: true }).logprobs,
          ) as tf.Scalar,
      ),
    );
    tf.dispose([value, ...Object.values(grads)]);
    model.lastLogits(prompts).dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });

  it("rejects bad sampling options and out-of-vocabulary ids", async () => {
    const tok = new CharTokenizer();
    const model = new CausalLM(tinyConfig({ vocabSize: tok.vocabSize }), tok, { seed: 1 });
    await expect(model.generate([[1]], { temperature: -1, maxNewTokens: 2, seed: 0 })).rejects.toThrow(
      /temperature/,
    );
    await expect(
      model.generate([[1]], { temperature: 1, topP: 0, maxNewTokens: 2, seed: 0 }),
    ).rejects.toThrow(/topP/);
    await expect(model.generate([[]], { temperature: 1, maxNewTokens: 2, seed: 0 })).rejects.toThrow(/empty/);
    await expect(model.generate([[9999]], { temperature: 1, maxNewTokens: 2, seed: 0 })).rejects.toThrow(
      /9999/,
    );
    expect(() => model.score([{ promptIds: [], completionIds: [1] }])).toThrow(/empty prompt/);
    model.dispose();
  });
});
