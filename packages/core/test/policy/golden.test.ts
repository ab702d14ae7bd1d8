// Golden parity: logits, score() log-probs and gradients of small random checkpoints against the independent
// float64 PyTorch reference in test/golden/make_golden.py (fixtures committed; no Python needed to run).
import { readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type CausalLM, loadPolicy } from "../../src/policy/index.ts";
import { FIXTURES, fixtureNames, fixtureStore, logSoftmax64, relErr } from "./helpers.ts";

interface Expected {
  sequences: number[][];
  logits: number[][][];
  pairs: { promptIds: number[]; completionIds: number[] }[];
  loss: number;
  grads: Record<string, number[]>;
}

const names = fixtureNames();

describe.each(names)("golden %s", (name) => {
  let model: CausalLM;
  let exp: Expected;
  beforeAll(async () => {
    exp = JSON.parse(readFileSync(new URL(`${name}/expected.json`, FIXTURES), "utf8"));
    model = await loadPolicy(fixtureStore(name), { allowMissingTokenizer: true });
  });

  it("logits at every position match the reference to 1e-4 relative", () => {
    exp.sequences.forEach((seq, si) => {
      // All prefixes in one right-padded batch of different lengths.
      const prefixes = seq.map((_, n) => seq.slice(0, n + 1));
      const got = model.lastLogits(prefixes);
      const data = got.arraySync();
      got.dispose();
      for (let n = 0; n < seq.length; n++) {
        expect(relErr(data[n], exp.logits[si][n]), `seq ${si} pos ${n}`).toBeLessThan(1e-4);
      }
    });
  });

  it("score() log-probs match log-softmax of the reference logits", () => {
    const s = model.score(exp.pairs, { entropy: true });
    const lp = s.logprobs.arraySync();
    const mask = s.mask.arraySync();
    const ent = s.entropy!.arraySync();
    exp.pairs.forEach((p, i) => {
      const si = exp.sequences.findIndex((q) => q.length === p.promptIds.length + p.completionIds.length);
      p.completionIds.forEach((tok, j) => {
        const ref = logSoftmax64(exp.logits[si][p.promptIds.length - 1 + j]);
        expect(Math.abs(lp[i][j] - ref[tok])).toBeLessThan(2e-4 * Math.max(1, Math.abs(ref[tok])));
        const h = -ref.reduce((a, l) => a + Math.exp(l) * l, 0);
        expect(Math.abs(ent[i][j] - h)).toBeLessThan(2e-4);
        expect(mask[i][j]).toBe(1);
      });
      for (let j = p.completionIds.length; j < lp[i].length; j++) {
        expect(mask[i][j]).toBe(0);
        expect(Math.abs(lp[i][j])).toBe(0);
      }
    });
    tf.dispose([s.logprobs, s.mask, s.entropy!]);
  });

  it("gradients of a completion log-prob objective match the reference autograd", () => {
    const { value, grads } = tf.variableGrads(() =>
      tf.tidy(() => {
        const s = model.score(exp.pairs);
        const tc = s.logprobs.shape[1];
        const w = tf.tensor1d(Array.from({ length: tc }, (_, j) => j + 1));
        return tf.sum(tf.mul(s.logprobs, w)) as tf.Scalar;
      }),
    );
    expect(Math.abs(value.dataSync()[0] - exp.loss)).toBeLessThan(1e-4 * Math.abs(exp.loss));
    const byName = new Map([...model.params].map(([n, v]) => [v.name, n]));
    const named = new Map(Object.entries(grads).map(([vn, g]) => [byName.get(vn)!, g]));
    for (const [n, ref] of Object.entries(exp.grads)) {
      const g = named.get(n);
      expect(g, n).toBeDefined();
      expect(relErr(g!.dataSync(), ref), n).toBeLessThan(1e-3);
    }
    tf.dispose([value, ...Object.values(grads)]);
  });
});
