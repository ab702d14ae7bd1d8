import { describe, expect, it } from "vitest";
import type { FileStore } from "../../src/io/index.ts";
import {
  CharTokenizer,
  HfTokenizer,
  loadTokenizer,
  renderChatTemplate,
  resolveConfig,
} from "../../src/policy/index.ts";

describe("CharTokenizer", () => {
  const tok = new CharTokenizer();
  it("encodes characters and special tokens, decodes back", () => {
    const text = "Q: 12+30=?\nA: 42<|endoftext|>";
    const ids = tok.encode(text);
    expect(ids.at(-1)).toBe(tok.eosId);
    expect(ids.length).toBe(text.length - "<|endoftext|>".length + 1);
    expect(tok.decode(ids)).toBe("Q: 12+30=?\nA: 42");
    expect(tok.encode("é")).toEqual([tok.unkId]);
    expect(tok.vocabSize).toBe(3 + 96);
    expect(() => tok.decode([tok.vocabSize])).toThrow(RangeError);
  });

  it("its tokenizer.json gives the same ids through @huggingface/tokenizers", () => {
    const hf = new HfTokenizer(tok.toTokenizerJson(), tok.toTokenizerConfig());
    for (const s of [
      "hello world",
      "x = [1, 2, 3]\n  print(x)",
      "a<|endoftext|>b",
      '~`!@#$%^&*()_+{}|:"<>?',
    ]) {
      expect(hf.encode(s)).toEqual(tok.encode(s));
      expect(hf.decode(tok.encode(s))).toBe(tok.decode(tok.encode(s)));
    }
    expect(hf.eosId).toBe(tok.eosId);
    expect(hf.padId).toBe(tok.padId);
    expect(hf.vocabSize).toBe(tok.vocabSize);
    expect(CharTokenizer.fromTokenizerJson(tok.toTokenizerJson())?.alphabet).toEqual(tok.alphabet);
  });

  it("rejects duplicate characters", () => {
    expect(() => new CharTokenizer("abca")).toThrow(/duplicate/);
  });
});

describe("HfTokenizer", () => {
  // A small byte-level BPE in the Qwen2 style, written by hand.
  const vocab: Record<string, number> = {
    h: 0,
    e: 1,
    l: 2,
    o: 3,
    Ġ: 4,
    w: 5,
    r: 6,
    d: 7,
    he: 8,
    ll: 9,
    hell: 10,
  };
  const json = {
    version: "1.0",
    added_tokens: [
      {
        id: 11,
        content: "<|im_start|>",
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
      {
        id: 12,
        content: "<|im_end|>",
        special: true,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: true },
    model: {
      type: "BPE",
      vocab,
      merges: ["h e", "l l", "he ll"],
      unk_token: null,
      fuse_unk: false,
      byte_fallback: false,
    },
  };
  const config = {
    eos_token: "<|im_end|>",
    chat_template:
      "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
  };

  it("applies BPE merges and byte-level decoding", () => {
    const t = new HfTokenizer(json, config);
    expect(t.encode("hello")).toEqual([10, 3]);
    expect(t.encode("hello world")).toEqual([10, 3, 4, 5, 3, 6, 2, 7]);
    expect(t.decode([10, 3, 4, 5, 3, 6, 2, 7, 12])).toBe("hello world");
    expect(t.eosId).toBe(12);
    expect(t.padId).toBe(12);
  });

  it("renders the chat template with @huggingface/jinja", () => {
    const t = new HfTokenizer(json, config);
    const s = t.applyChatTemplate([{ role: "user", content: "hello" }]);
    expect(s).toBe("<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n");
    expect(t.encode(s).slice(0, 1)).toEqual([11]);
    expect(renderChatTemplate("{{ messages[0].content | upper }}", [{ role: "u", content: "ab" }])).toBe(
      "AB",
    );
  });

  it("errors on an unknown special token or a missing template", () => {
    expect(() => new HfTokenizer(json, { eos_token: "<eos>" })).toThrow(/eos_token/);
    expect(() => new HfTokenizer(json, {})).toThrow(/EOS/);
    expect(() => new HfTokenizer(json, {}, { eosId: 12 }).applyChatTemplate([])).toThrow(/chat_template/);
  });

  it("loadTokenizer takes the folder's template as transformers does: chat_template.jinja first, a list's default", async () => {
    const folder = (files: Record<string, string>): FileStore =>
      ({
        name: "model",
        exists: async (f: string) => f in files,
        readText: async (f: string) => files[f],
      }) as unknown as FileStore;
    const mc = resolveConfig({
      model_type: "qwen2",
      vocab_size: 13,
      hidden_size: 8,
      num_hidden_layers: 1,
      num_attention_heads: 2,
      intermediate_size: 8,
      eos_token_id: 12,
    } as never);
    const both = await loadTokenizer(
      folder({
        "tokenizer.json": JSON.stringify(json),
        "tokenizer_config.json": JSON.stringify(config),
        "chat_template.jinja": "FILE{{ messages[0].content }}",
      }),
      mc,
    );
    expect((both as HfTokenizer).applyChatTemplate([{ role: "user", content: "x" }])).toBe("FILEx");
    const list = await loadTokenizer(
      folder({
        "tokenizer.json": JSON.stringify(json),
        "tokenizer_config.json": JSON.stringify({
          eos_token: "<|im_end|>",
          chat_template: [
            { name: "tool_use", template: "TOOL" },
            { name: "default", template: "DEFAULT{{ messages[0].content }}" },
          ],
        }),
      }),
      mc,
    );
    expect((list as HfTokenizer).applyChatTemplate([{ role: "user", content: "y" }])).toBe("DEFAULTy");
  });
});
