// Gradients: finite differences on a tiny model, and the same gradients on the wasm backend (which lacks the
// UnsortedSegmentSum kernel that tf.gather's gradient needs; the model's embedding uses a scatter-add gradient).
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CausalLM, CharTokenizer, tinyConfig } from "../../src/policy/index.ts";
import { relErr, useBackend } from "./helpers.ts";

const tok = new CharTokenizer("abcdefgh");
const pairs = [
  { promptIds: tok.encode("abc"), completionIds: tok.encode("dd") },
  { promptIds: tok.encode("h"), completionIds: tok.encode("gfea") },
  { promptIds: tok.encode("bbbbb"), completionIds: tok.encode("a") },
];
const cfg = tinyConfig({
  vocabSize: tok.vocabSize,
  hiddenSize: 8,
  layers: 2,
  heads: 2,
  kvHeads: 1,
  intermediateSize: 12,
});

function objective(model: CausalLM): tf.Scalar {
  return tf.tidy(() => {
    const s = model.score(pairs, { entropy: true, temperature: 0.9 });
    // log-probs weighted per position, plus an entropy term: exercises both outputs
    const w = tf.tensor1d([1, -0.5, 2, 0.25]);
    return tf.add(tf.sum(tf.mul(s.logprobs, w)), tf.mul(0.1, tf.sum(s.entropy!))) as tf.Scalar;
  });
}

function grads(model: CausalLM): Map<string, Float32Array> {
  const { value, grads } = tf.variableGrads(() => objective(model));
  const byVar = new Map([...model.params].map(([n, v]) => [v.name, n]));
  const out = new Map<string, Float32Array>();
  for (const [vn, g] of Object.entries(grads)) out.set(byVar.get(vn)!, g.dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

describe("gradients", () => {
  let original = "";
  beforeAll(() => {
    original = tf.getBackend(); // chosen by test/setup-backend.ts (wasm + native pack when built)
  });
  afterAll(async () => {
    await tf.setBackend(original);
  });

  it("match central finite differences (tiny model, every parameter tensor, a few coordinates each)", async () => {
    const model = new CausalLM(cfg, tok, { seed: 7, initStd: 0.4 });
    const g = grads(model);
    const w = model.exportWeights();
    const eps = 1e-2;
    const f = () => {
      const l = objective(model);
      const v = l.dataSync()[0];
      l.dispose();
      return v;
    };
    let checked = 0;
    for (const [name, t] of w) {
      for (const i of [0, Math.floor(t.data.length / 2), t.data.length - 1]) {
        const orig = t.data[i];
        t.data[i] = orig + eps;
        model.loadWeights(w);
        const up = f();
        t.data[i] = orig - eps;
        model.loadWeights(w);
        const down = f();
        t.data[i] = orig;
        const fd = (up - down) / (2 * eps);
        expect(
          Math.abs(g.get(name)![i] - fd),
          `${name}[${i}] analytic ${g.get(name)![i]} fd ${fd}`,
        ).toBeLessThan(3e-3 + 1e-2 * Math.abs(fd));
        checked++;
      }
    }
    model.loadWeights(w);
    expect(checked).toBe(3 * model.params.size);
    model.dispose();
  });

  it("are the same on the wasm backend as on cpu (embedding gradient included)", async () => {
    await useBackend("cpu");
    const a = new CausalLM(cfg, tok, { seed: 8, initStd: 0.4 });
    const gc = grads(a);
    const gen = await a.generate([tok.encode("abc"), tok.encode("h")], {
      temperature: 1,
      maxNewTokens: 5,
      seed: 3,
    });
    const w = a.exportWeights();
    a.dispose();
    await useBackend("wasm");
    const b = new CausalLM(cfg, tok, { weights: w });
    const gw = grads(b);
    expect(gw.size).toBe(gc.size);
    for (const [n, ref] of gc) expect(relErr(gw.get(n)!, ref), n).toBeLessThan(1e-4);
    const genW = await b.generate([tok.encode("abc"), tok.encode("h")], {
      temperature: 1,
      maxNewTokens: 5,
      seed: 3,
    });
    expect(genW.map((x) => x.ids)).toEqual(gen.map((x) => x.ids));
    b.dispose();
  });

  it("chunked LM-head log-probs (large vocab path) equal the plain path, values and gradients, tied and untied", () => {
    for (const tie of [true, false]) {
      const c = tinyConfig({
        vocabSize: tok.vocabSize,
        hiddenSize: 8,
        layers: 1,
        heads: 2,
        kvHeads: 1,
        tieEmbeddings: tie,
      });
      const plain = new CausalLM(c, tok, { seed: 9, initStd: 0.4 });
      // budget of 2 rows × vocab → 12 completion slots in 6 chunks
      const chunked = new CausalLM(c, tok, {
        weights: plain.exportWeights(),
        logitChunkElements: 2 * tok.vocabSize,
      });
      const run = (m: CausalLM) => {
        const before = tf.memory().numTensors;
        const { value, grads } = tf.variableGrads(() =>
          tf.tidy(() => {
            const s = m.score(pairs, { temperature: 0.8 });
            return tf.sum(tf.mul(s.logprobs, tf.tensor1d([1, -0.5, 2, 0.25]))) as tf.Scalar;
          }),
        );
        const byVar = new Map([...m.params].map(([n, v]) => [v.name, n]));
        const g = new Map(
          Object.entries(grads).map(([vn, t]) => [byVar.get(vn)!, t.dataSync() as Float32Array]),
        );
        const v = value.dataSync()[0];
        tf.dispose([value, ...Object.values(grads)]);
        expect(tf.memory().numTensors).toBe(before);
        return { v, g };
      };
      const a = run(plain);
      const b = run(chunked);
      expect(b.v).toBeCloseTo(a.v, 4);
      for (const [n, ref] of a.g) expect(relErr(b.g.get(n)!, ref), `${n} (tied ${tie})`).toBeLessThan(1e-4);
      plain.dispose();
      chunked.dispose();
    }
  });
});
