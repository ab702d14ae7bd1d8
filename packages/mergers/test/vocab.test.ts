/**
 * vocab.ts: vocabularies read from tokenizer.json, mergekit's union order, the embedding sources of tokens an input
 * lacks (assign_embedding_sources), the row maps of a vocabulary tensor, and permuteRows (whole or in any range).
 */
import { join } from "node:path";
import { openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SourceRef } from "../src/engine/plan.ts";
import {
  addTokens,
  limitVocabulary,
  outputVocabulary,
  permuteRows,
  planVocab,
  planVocabTensor,
  type RowSource,
  readVocabulary,
  unionVocabulary,
} from "../src/engine/vocab.ts";
import { tempDir, writeModel } from "./fixtures.ts";

/** A BPE tokenizer.json: `tokens` get ids 0.., then `added` (strings are special tokens) after them. */
export function bpe(
  tokens: string[],
  added: (string | { content: string; special?: boolean; id?: number })[] = [],
) {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added.map((a, i) => {
      const t = typeof a === "string" ? { content: a, special: true } : a;
      return {
        id: t.id ?? tokens.length + i,
        content: t.content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: !t.special,
        special: t.special ?? false,
      };
    }),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
      merges: tokens.includes("ab") ? ["a b"] : [],
    },
  };
}

const order = (ids: Map<string, number>) => [...ids].sort((x, y) => x[1] - y[1]).map(([t]) => t);

describe("vocabularies", () => {
  it("reads BPE maps and Unigram lists; an added token's id wins; ids past vocab_size are cut", () => {
    const v = readVocabulary(bpe(["a", "b", "ab"], ["<s>", { content: "b", id: 7 }]));
    expect([...v.ids]).toEqual([
      ["a", 0],
      ["ab", 2],
      ["<s>", 3],
      ["b", 7],
    ]);
    expect(v.added.map((a) => [a.id, a.content, a.special, a.normalized])).toEqual([
      [3, "<s>", true, false],
      [7, "b", false, true],
    ]);
    const uni = readVocabulary({
      model: {
        type: "Unigram",
        vocab: [
          ["<unk>", 0],
          ["▁x", -1.5],
        ],
      },
    });
    expect([...uni.ids]).toEqual([
      ["<unk>", 0],
      ["▁x", 1],
    ]);
    const cut = limitVocabulary(v, 4);
    expect(order(cut.ids)).toEqual(["a", "ab", "<s>"]);
    expect(cut.added.map((a) => a.content)).toEqual(["<s>"]);
    expect(limitVocabulary(v, 8)).toBe(v);
    expect(() => readVocabulary({ v: 1 })).toThrow(/no 'model' object/);
  });

  it("union: the base's tokens, then the models' plain tokens (each in id order), then added tokens", () => {
    const base = readVocabulary(bpe(["a", "b", "ab", "z"], ["<s>"]));
    const chat = readVocabulary(bpe(["a", "b", "ab", "y"], ["<s>", "<|im_start|>", "<|im_end|>"]));
    // another id order, a token that is plain here and added in chat, an added token past its vocab_size
    const extra = limitVocabulary(
      readVocabulary(bpe(["y", "b", "a", "ab", "<|im_end|>", "x", "z"], ["<s>", "<tool>", "<unused>"])),
      9,
    );
    const u = unionVocabulary([base, chat, extra]);
    expect(order(u.ids)).toEqual([
      ...["a", "b", "ab", "z", "<s>"],
      ...["y", "x"],
      ...["<|im_start|>", "<|im_end|>", "<tool>"],
    ]);
    expect(u.size).toBe(10);
    // new plain tokens are added as transformers' add_tokens("...") makes them; added ones keep their settings
    expect(u.appended.map((a) => [a.id, a.content, a.special, a.normalized])).toEqual([
      [5, "y", false, true],
      [6, "x", false, true],
      [7, "<|im_start|>", true, false],
      [8, "<|im_end|>", true, false],
      [9, "<tool>", true, false],
    ]);
    addTokens(u, ["x", "<new>"]);
    expect(u.appended.at(-1)).toMatchObject({ id: 10, content: "<new>", special: false, normalized: true });
    expect(u.size).toBe(11);
  });
});

describe("embedding sources (mergekit's assign_embedding_sources)", () => {
  // inputs: 0 base [a b z], 1 chat [a b y w], 2 extra [b a y z w v]; output = union
  const base = readVocabulary(bpe(["a", "b", "z"]));
  const chat = readVocabulary(bpe(["a", "b", "y", "w"]));
  const extra = readVocabulary(bpe(["b", "a", "y", "z", "w", "v"]));
  const labels = ["base", "chat", "extra"];
  const out = unionVocabulary([base, chat, extra]); // a b z y w v
  const at = (t: string) => out.ids.get(t)!;

  it("maps ids by token; a lacking input takes: the only holder's row, the base's, the holders' mean, zero", () => {
    addTokens(out, ["<none>"]);
    const p = planVocab(out, [base, chat, extra], labels, 0, new Map(), 4);
    expect(p.size).toBe(7);
    expect(p.rows).toBe(8);
    expect([...p.maps[2]]).toEqual([1, 0, 3, 2, 4, 5, -1]);
    const fillOf = (t: string) => p.fills[p.fillOf.get(at(t))!];
    expect(p.fillOf.has(at("a"))).toBe(false); // everyone has it
    expect(fillOf("z")).toEqual({ kind: "rows", from: [0, 2] }); // base and extra: the base's row
    expect(fillOf("y")).toEqual({ kind: "rows", from: [1, 2, 2, 2] }); // chat and extra, not base: their mean
    expect(fillOf("v")).toEqual({ kind: "rows", from: [2, 5] }); // extra only
    expect(fillOf("<none>")).toEqual({ kind: "zero" });
    expect(p.unknown).toEqual(["<none>"]);
    // without a base, a token two inputs hold is their mean
    const nb = planVocab(out, [base, chat, extra], labels, undefined, new Map());
    expect(nb.fills[nb.fillOf.get(at("z"))!]).toEqual({ kind: "rows", from: [0, 2, 2, 3] });
  });

  it("configured sources: zero, a model's row for the token, a model's row by id; force; a model lacking it", () => {
    const settings = new Map([
      [at("y"), { source: { kind: "zero" as const }, force: false }],
      [at("a"), { source: { kind: "model" as const, input: 2 }, force: true }],
      [at("b"), { source: { kind: "row" as const, input: 0, row: 2 }, force: false }], // all have b: unused
    ]);
    const p = planVocab(out, [base, chat, extra], labels, 0, settings);
    expect(p.fills[p.fillOf.get(at("y"))!]).toEqual({ kind: "zero" });
    expect(p.fills[p.fillOf.get(at("a"))!]).toEqual({ kind: "rows", from: [2, 1] });
    expect(p.forced.has(at("a"))).toBe(true);
    expect(p.fillOf.has(at("b"))).toBe(false);
    expect(() =>
      planVocab(
        out,
        [base, chat, extra],
        labels,
        0,
        new Map([[at("v"), { source: { kind: "model", input: 1 }, force: false }]]),
      ),
    ).toThrow(/token "v" is not in chat's vocabulary/);
  });
});

describe("row maps and permuteRows", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir("m2rl-vocab-"));
  });
  afterEach(async () => cleanup());

  /** An embedding whose row r is [100·model + r, r, -r] (hidden 3). */
  const embedding = (model: number, rows: number) =>
    Float32Array.from({ length: rows * 3 }, (_, i) => {
      const [r, c] = [Math.floor(i / 3), i % 3];
      return c === 0 ? 100 * model + r : c === 1 ? r : -r;
    });

  it("inputs in output order keep no map; others read runs and fills; any element range equals the slice", async () => {
    const base = readVocabulary(bpe(["a", "b", "c", "d"]));
    const other = readVocabulary(bpe(["a", "b", "d", "c", "e"]));
    const out = unionVocabulary([base, other]); // a b c d e
    const plan = planVocab(out, [base, other], ["base", "other"], 0, new Map(), 4); // rows 8: 3 padding rows
    const paths = [
      await writeModel(join(dir, "m0"), [
        { name: "model.embed_tokens.weight", shape: [4, 3], data: embedding(0, 4) },
      ]),
      await writeModel(join(dir, "m1"), [
        { name: "model.embed_tokens.weight", shape: [5, 3], data: embedding(1, 5) },
      ]),
    ];
    const refs: SourceRef[] = [
      { name: "model.embed_tokens.weight", shape: [4, 3], dtype: "F32" },
      { name: "model.embed_tokens.weight", shape: [5, 3], dtype: "F32" },
    ];
    expect(planVocabTensor(plan, "model.layers.0.mlp.up_proj.weight", refs)).toBeUndefined();
    expect(planVocabTensor(plan, "model.embed_tokens.weight", refs)).toEqual([8, 3]);
    // [output row, input row or -1 - fill, count]: e takes other's row; padding takes the mean fill
    expect([...refs[0].rows!.runs]).toEqual([0, 0, 4, 4, -1, 1, 5, -2, 3]);
    expect([...refs[1].rows!.runs]).toEqual([0, 0, 2, 2, 3, 1, 3, 2, 1, 4, 4, 1, 5, -2, 3]);
    expect(refs[0].rows!.fills).toBe(refs[1].rows!.fills);

    const cks = await Promise.all(paths.map((p) => openCheckpoint(p)));
    try {
      const inputs: RowSource[] = cks.map((ck, k) => ({ ck, src: refs[k] }));
      const alloc = (n: number) => new Float32Array(n);
      const whole = [
        await permuteRows(inputs[0], inputs, undefined, alloc),
        await permuteRows(inputs[1], inputs, undefined, alloc),
      ];
      const rowsOf = (x: Float32Array) =>
        Array.from({ length: x.length / 3 }, (_, r) => [...x.subarray(3 * r, 3 * r + 3)]);
      const mean0 = [(0 + 1 + 2 + 3 + 104) / 5, (0 + 1 + 2 + 3 + 4) / 5, -(0 + 1 + 2 + 3 + 4) / 5];
      expect(rowsOf(whole[0])).toEqual([
        [0, 0, -0],
        [1, 1, -1],
        [2, 2, -2],
        [3, 3, -3],
        [104, 4, -4], // e: the only holder's row
        ...Array(3).fill(mean0.map((x) => Math.fround(x))),
      ]);
      const mean1 = [(100 + 101 + 103 + 102 + 104) / 5, 2, -2];
      expect(rowsOf(whole[1]).slice(0, 5)).toEqual([
        [100, 0, -0],
        [101, 1, -1],
        [103, 3, -3], // c is row 3 in other
        [102, 2, -2],
        [104, 4, -4],
      ]);
      expect(rowsOf(whole[1])[7]).toEqual(mean1);
      for (const [start, count] of [
        [0, 24],
        [1, 5],
        [4, 13],
        [11, 13],
        [23, 1],
      ]) {
        for (const k of [0, 1]) {
          const part = await permuteRows(inputs[k], inputs, { start, count }, alloc);
          expect([...part]).toEqual([...whole[k].subarray(start, start + count)]);
        }
      }
    } finally {
      for (const ck of cks) await ck.close();
    }
  });

  it("a hidden size that differs, or a token id past the tensor's rows, is an error naming the input", () => {
    const v = readVocabulary(bpe(["a", "b", "c"]));
    const plan = planVocab(outputVocabulary(v), [v, v], ["base", "model m"], 0, new Map());
    expect(() =>
      planVocabTensor(plan, "lm_head.weight", [
        { name: "lm_head.weight", shape: [3, 4], dtype: "F32" },
        { name: "lm_head.weight", shape: [3, 5], dtype: "F32" },
      ]),
    ).toThrow(/model m has \[3, 5\], base \[3, 4\]/);
    expect(() =>
      planVocabTensor(plan, "lm_head.weight", [
        { name: "lm_head.weight", shape: [3, 4], dtype: "F32" },
        { name: "lm_head.weight", shape: [2, 4], dtype: "F32" },
      ]),
    ).toThrow(/model m has 2 rows, but its tokenizer gives a token id 2/);
    // the same vocabulary and as many rows: no maps
    const same: SourceRef[] = [
      { name: "lm_head.weight", shape: [3, 4], dtype: "F32" },
      { name: "lm_head.weight", shape: [3, 4], dtype: "F32" },
    ];
    expect(planVocabTensor(plan, "lm_head.weight", same)).toEqual([3, 4]);
    expect(same.every((s) => s.rows === undefined)).toBe(true);
  });
});
