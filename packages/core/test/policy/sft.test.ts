// A tiny policy learns: supervised fine-tuning on a synthetic copy task with Adam drops the loss steadily.
import * as tf from "@tensorflow/tfjs-core";
import { describe, expect, it } from "vitest";
import { CausalLM, CharTokenizer, tinyConfig } from "../../src/policy/index.ts";
import { Rng } from "../../src/rng/index.ts";

describe("SFT", () => {
  it("learns to copy short strings (fixed seed, loose bound)", async () => {
    const tok = new CharTokenizer();
    const model = new CausalLM(
      tinyConfig({
        vocabSize: tok.vocabSize,
        hiddenSize: 32,
        layers: 2,
        heads: 4,
        kvHeads: 2,
        eosId: tok.eosId,
      }),
      tok,
      { seed: 0 },
    );
    const rng = new Rng(123);
    const example = () => {
      const s = Array.from({ length: 2 + rng.int(3) }, () => "abcde"[rng.int(5)]).join("");
      return { promptIds: tok.encode(`copy ${s}:`), completionIds: [...tok.encode(s), tok.eosId] };
    };
    const opt = tf.train.adam(1e-2);
    const losses: number[] = [];
    for (let step = 0; step < 60; step++) {
      await new Promise((r) => setTimeout(r, 0)); // let the test runner breathe
      const batch = Array.from({ length: 8 }, example);
      const loss = opt.minimize(
        () =>
          tf.tidy(() => {
            const s = model.score(batch);
            return tf.neg(tf.div(tf.sum(s.logprobs), tf.sum(s.mask))) as tf.Scalar;
          }),
        true,
      )!;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const first = mean(losses.slice(0, 5));
    const last = mean(losses.slice(-10));
    expect(first).toBeGreaterThan(3); // ≈ ln(99) at the start
    expect(last).toBeLessThan(0.5 * first);
    // Steady: every 20-step window's mean is below the previous one's.
    for (let w = 20; w < 60; w += 20)
      expect(mean(losses.slice(w, w + 20))).toBeLessThan(mean(losses.slice(w - 20, w)));
    opt.dispose();
    model.dispose();
  }, 120_000);
});
