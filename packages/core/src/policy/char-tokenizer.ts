/**
 * Character tokenizer for built-in tiny policies: one id per special token, then one id per character of a fixed
 * alphabet (by Unicode code point). Unknown characters map to `<|unk|>`. It serialises to a Hugging Face
 * tokenizer.json (a BPE model with no merges and a Fuse decoder, so HF `tokenizers` gives the same ids) and reads
 * that file back.
 */
import { ConfigError } from "../errors/index.ts";
import type { Tokenizer } from "./types.ts";

/** Newline, then printable ASCII (space … ~): covers the synthetic domains' prompts and answers. */
export const DEFAULT_ALPHABET = `\n${Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("")}`;

export const CHAR_SPECIALS = { pad: "<|pad|>", eos: "<|endoftext|>", unk: "<|unk|>" } as const;

export class CharTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly padId = 0;
  readonly eosId = 1;
  readonly unkId = 2;
  readonly bosId?: number = undefined;
  /** Characters in id order (ids start after the specials). */
  readonly alphabet: readonly string[];
  private readonly specials: readonly string[] = [CHAR_SPECIALS.pad, CHAR_SPECIALS.eos, CHAR_SPECIALS.unk];
  private readonly toId = new Map<string, number>();

  constructor(alphabet: string = DEFAULT_ALPHABET) {
    const chars = Array.from(alphabet);
    if (chars.length === 0) throw new ConfigError("CharTokenizer: empty alphabet");
    const seen = new Set<string>();
    for (const c of chars) {
      if (seen.has(c))
        throw new ConfigError(`CharTokenizer: duplicate character ${JSON.stringify(c)} in alphabet`);
      seen.add(c);
    }
    this.alphabet = chars;
    this.specials.forEach((s, i) => {
      this.toId.set(s, i);
    });
    chars.forEach((c, i) => {
      this.toId.set(c, this.specials.length + i);
    });
    this.vocabSize = this.specials.length + chars.length;
  }

  /** Special-token strings in the text become their ids; every other code point is one token. */
  encode(text: string): number[] {
    const out: number[] = [];
    let i = 0;
    outer: while (i < text.length) {
      if (text.charCodeAt(i) === 60 /* < */) {
        for (let s = 0; s < this.specials.length; s++) {
          if (text.startsWith(this.specials[s], i)) {
            out.push(s);
            i += this.specials[s].length;
            continue outer;
          }
        }
      }
      const cp = text.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out.push(this.toId.get(ch) ?? this.unkId);
      i += ch.length;
    }
    return out;
  }

  /** Decodes ids to text, skipping special tokens (pad, EOS, unk). Out-of-range ids are an error. */
  decode(ids: readonly number[]): string {
    let s = "";
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`CharTokenizer.decode: id ${id} outside [0, ${this.vocabSize})`);
      }
      if (id >= this.specials.length) s += this.alphabet[id - this.specials.length];
    }
    return s;
  }

  /** Hugging Face tokenizer.json (BPE without merges + Fuse decoder) describing exactly this tokenizer. */
  toTokenizerJson(): Record<string, unknown> {
    const vocab: Record<string, number> = {};
    for (const [tok, id] of this.toId) vocab[tok] = id;
    return {
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: this.specials.map((content, id) => ({
        id,
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
      decoder: { type: "Fuse" },
      model: {
        type: "BPE",
        dropout: null,
        unk_token: CHAR_SPECIALS.unk,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    };
  }

  /** tokenizer_config.json companion (special token names; HF `PreTrainedTokenizerFast`). */
  toTokenizerConfig(): Record<string, unknown> {
    return {
      tokenizer_class: "PreTrainedTokenizerFast",
      pad_token: CHAR_SPECIALS.pad,
      eos_token: CHAR_SPECIALS.eos,
      unk_token: CHAR_SPECIALS.unk,
      bos_token: null,
      clean_up_tokenization_spaces: false,
      model_max_length: 1_000_000,
    };
  }

  /**
   * Rebuilds a CharTokenizer from a tokenizer.json it wrote; returns undefined when the file describes some
   * other tokenizer (then use `HfTokenizer`).
   */
  static fromTokenizerJson(json: unknown): CharTokenizer | undefined {
    const j = json as {
      model?: { type?: string; merges?: unknown[]; vocab?: Record<string, number> };
      decoder?: { type?: string };
      pre_tokenizer?: unknown;
      normalizer?: unknown;
    };
    if (j?.model?.type !== "BPE" || j.decoder?.type !== "Fuse" || j.pre_tokenizer || j.normalizer)
      return undefined;
    if (!Array.isArray(j.model.merges) || j.model.merges.length !== 0 || !j.model.vocab) return undefined;
    const entries = Object.entries(j.model.vocab).sort((a, b) => a[1] - b[1]);
    const specials = [CHAR_SPECIALS.pad, CHAR_SPECIALS.eos, CHAR_SPECIALS.unk];
    for (let i = 0; i < specials.length; i++) {
      if (entries[i]?.[0] !== specials[i] || entries[i][1] !== i) return undefined;
    }
    const chars = entries.slice(specials.length);
    for (let i = 0; i < chars.length; i++) {
      if (chars[i][1] !== specials.length + i || Array.from(chars[i][0]).length !== 1) return undefined;
    }
    return new CharTokenizer(chars.map((c) => c[0]).join(""));
  }
}
