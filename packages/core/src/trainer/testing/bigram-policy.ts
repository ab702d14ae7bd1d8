/**
 * Test helper: a bigram "language model" that implements the Policy contract (logits of the next token are a
 * row of one [V, V] table indexed by the previous token, plus a bias). Tiny and fast, so that the trainer's
 * tests run in seconds on 2 cores without waiting for the real CausalLM. Not exported from the package.
 */
import * as tf from "@tensorflow/tfjs-core";
import type {
  CausalLMConfig,
  Generation,
  Policy,
  SamplingOptions,
  SequencePair,
  Tokenizer,
  TokenScores,
} from "../../policy/types.ts";
import { Rng } from "../../rng/index.ts";

/** Characters plus `<pad>` (0) and `<eos>` (1). */
export class CharTokenizer implements Tokenizer {
  readonly padId = 0;
  readonly eosId = 1;
  private readonly index = new Map<string, number>();
  constructor(readonly alphabet: string) {
    for (const [i, c] of [...alphabet].entries()) this.index.set(c, i + 2);
  }
  get vocabSize(): number {
    return this.alphabet.length + 2;
  }
  encode(text: string): number[] {
    return [...text].map((c) => {
      const id = this.index.get(c);
      if (id === undefined) throw new RangeError(`character ${JSON.stringify(c)} not in the alphabet`);
      return id;
    });
  }
  decode(ids: readonly number[]): string {
    return ids
      .filter((i) => i >= 2)
      .map((i) => this.alphabet[i - 2])
      .join("");
  }
}

let instance = 0;

export class BigramPolicy implements Policy {
  readonly config: CausalLMConfig;
  readonly tokenizer: CharTokenizer;
  readonly params: Map<string, tf.Variable>;
  private readonly table: tf.Variable;
  private readonly bias: tf.Variable;

  constructor(alphabet: string, seed = 0, scale = 0.01) {
    this.tokenizer = new CharTokenizer(alphabet);
    const v = this.tokenizer.vocabSize;
    const rng = new Rng(seed);
    const init = new Float32Array(v * v).map(() => rng.normal() * scale);
    const id = instance++;
    this.table = tf.variable(tf.tensor2d(init, [v, v]), true, `bigram${id}.table`);
    this.bias = tf.variable(tf.zeros([v]), true, `bigram${id}.bias`);
    this.params = new Map([
      ["model.embed_tokens.weight", this.table],
      ["lm_head.bias", this.bias],
    ]);
    this.config = {
      model_type: "bigram",
      vocab_size: v,
      hidden_size: v,
      intermediate_size: v,
      num_hidden_layers: 0,
      num_attention_heads: 1,
      num_key_value_heads: 1,
      max_position_embeddings: 1024,
      rms_norm_eps: 1e-6,
      rope_theta: 10000,
      tie_word_embeddings: false,
      attention_bias: false,
      eos_token_id: 1,
      pad_token_id: 0,
    };
  }

  async generate(prompts: readonly number[][], o: SamplingOptions): Promise<Generation[]> {
    const v = this.tokenizer.vocabSize;
    const w = this.table.dataSync();
    const b = this.bias.dataSync();
    const rng = new Rng(o.seed);
    const logits = new Float64Array(v);
    return prompts.map((promptIds) => {
      const ids: number[] = [];
      const logprobs: number[] = [];
      let prev = promptIds.length ? promptIds[promptIds.length - 1] : this.tokenizer.eosId;
      let finishReason: Generation["finishReason"] = "length";
      for (let t = 0; t < o.maxNewTokens; t++) {
        const temp = o.temperature > 0 ? o.temperature : 1;
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < v; j++) {
          logits[j] = (w[prev * v + j] + b[j]) / temp;
          if (logits[j] > max) max = logits[j];
        }
        logits[0] = Number.NEGATIVE_INFINITY; // never sample <pad>
        let z = 0;
        for (let j = 1; j < v; j++) z += Math.exp(logits[j] - max);
        const lz = max + Math.log(z);
        let tok: number;
        if (o.temperature > 0) {
          const probs = Array.from(logits, (l) => Math.exp(l - lz));
          tok = rng.categorical(probs);
        } else {
          tok = 1;
          for (let j = 1; j < v; j++) if (logits[j] > logits[tok]) tok = j;
        }
        ids.push(tok);
        logprobs.push(logits[tok] - lz);
        if (tok === this.tokenizer.eosId) {
          finishReason = "eos";
          break;
        }
        prev = tok;
      }
      return { promptIds: [...promptIds], ids, text: this.tokenizer.decode(ids), logprobs, finishReason };
    });
  }

  score(
    batch: readonly SequencePair[],
    options: { entropy?: boolean; temperature?: number } = {},
  ): TokenScores {
    const v = this.tokenizer.vocabSize;
    const T = Math.max(1, ...batch.map((p) => p.completionIds.length));
    const prev = new Int32Array(batch.length * T);
    const next = new Int32Array(batch.length * T);
    const mask = new Float32Array(batch.length * T);
    batch.forEach((p, i) => {
      let last = p.promptIds.length ? p.promptIds[p.promptIds.length - 1] : this.tokenizer.eosId;
      p.completionIds.forEach((tok, t) => {
        prev[i * T + t] = last;
        next[i * T + t] = tok;
        mask[i * T + t] = 1;
        last = tok;
      });
    });
    const temp = options.temperature && options.temperature > 0 ? options.temperature : 1;
    return tf.tidy(() => {
      const padMask = tf.mul(tf.oneHot(tf.zeros([1], "int32"), v), -1e9); // <pad> is never sampled
      const rows = tf.add(tf.add(tf.gather(this.table, tf.tensor1d(prev, "int32")), this.bias), padMask);
      const logp = tf.logSoftmax(tf.div(rows, temp)); // [B·T, V]
      const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(next, "int32"), v)), 1);
      const out: TokenScores = {
        logprobs: tf.reshape(picked, [batch.length, T]) as tf.Tensor2D,
        mask: tf.tensor2d(mask, [batch.length, T]),
      };
      if (options.entropy) {
        const h = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), 1));
        out.entropy = tf.reshape(h, [batch.length, T]) as tf.Tensor2D;
      }
      return out as unknown as tf.TensorContainer;
    }) as unknown as TokenScores;
  }

  lastLogits(ids: readonly number[][]): tf.Tensor2D {
    return tf.tidy(() => {
      const last = ids.map((s) => (s.length ? s[s.length - 1] : this.tokenizer.eosId));
      return tf.add(tf.gather(this.table, tf.tensor1d(last, "int32")), this.bias) as tf.Tensor2D;
    });
  }

  loadWeights(weights: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    for (const name of weights.keys())
      if (!this.params.has(name)) throw new RangeError(`unknown weight ${name}`);
    for (const [name, p] of this.params) {
      const w = weights.get(name);
      if (!w) throw new RangeError(`missing weight ${name}`);
      p.assign(tf.tensor(w.data, p.shape));
    }
  }

  exportWeights(): Map<string, { shape: number[]; data: Float32Array }> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, p] of this.params)
      out.set(name, { shape: [...p.shape], data: p.dataSync() as Float32Array });
    return out;
  }

  dispose(): void {
    this.table.dispose();
    this.bias.dispose();
  }
}
