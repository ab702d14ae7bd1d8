/**
 * Hugging Face tokenizers (tokenizer.json + tokenizer_config.json) through `@huggingface/tokenizers` (pure JS, no
 * Node built-ins), and chat templates through `@huggingface/jinja`.
 */
import { Template } from "@huggingface/jinja";
import { Tokenizer as HfTokenizerImpl } from "@huggingface/tokenizers";
import { ConfigError } from "../errors/index.ts";
import type { Tokenizer } from "./types.ts";

export interface ChatMessage {
  role: string;
  content: string;
}

/** A Tokenizer over a tokenizer.json, with the chat template of tokenizer_config.json when it has one. */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly bosId?: number;
  readonly chatTemplate?: string;
  private readonly impl: HfTokenizerImpl;
  private readonly specialTokens: Record<string, string>;

  /**
   * @param tokenizerJson parsed tokenizer.json
   * @param tokenizerConfig parsed tokenizer_config.json ({} when absent)
   * @param fallback ids from config.json, used when tokenizer_config.json names no EOS / pad token
   */
  constructor(
    readonly tokenizerJson: Record<string, unknown>,
    readonly tokenizerConfig: Record<string, unknown> = {},
    fallback: { eosId?: number; padId?: number; bosId?: number; file?: string } = {},
  ) {
    const file = fallback.file ?? "tokenizer.json";
    try {
      this.impl = new HfTokenizerImpl(tokenizerJson, tokenizerConfig);
    } catch (err) {
      throw new ConfigError(`cannot build tokenizer (${(err as Error).message})`, { file });
    }
    const vocab = this.impl.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.specialTokens = {};
    const idOf = (key: string): number | undefined => {
      const v = tokenizerConfig[key];
      const name = typeof v === "string" ? v : (v as { content?: string } | null)?.content;
      if (typeof name !== "string") return undefined;
      this.specialTokens[key] = name;
      const id = this.impl.token_to_id(name);
      if (id === undefined) {
        throw new ConfigError(`${key} "${name}" is not in the vocabulary`, {
          file: "tokenizer_config.json",
          path: key,
        });
      }
      return id;
    };
    const eos = idOf("eos_token") ?? fallback.eosId;
    if (eos === undefined) {
      throw new ConfigError(
        "no EOS token: set eos_token in tokenizer_config.json or eos_token_id in config.json",
        {
          file: "tokenizer_config.json",
          path: "eos_token",
        },
      );
    }
    this.eosId = eos;
    this.padId = idOf("pad_token") ?? fallback.padId ?? eos;
    this.bosId = idOf("bos_token") ?? fallback.bosId;
    if (typeof tokenizerConfig.chat_template === "string") this.chatTemplate = tokenizerConfig.chat_template;
  }

  /** Encodes without adding BOS/EOS or other post-processor tokens (prompts are built explicitly). */
  encode(text: string): number[] {
    return this.impl.encode(text, { add_special_tokens: false }).ids;
  }

  /** Decodes, skipping special tokens. */
  decode(ids: readonly number[]): string {
    return this.impl.decode([...ids], { skip_special_tokens: true });
  }

  /** Renders the chat template (from tokenizer_config.json, or `template`) to a prompt string. */
  applyChatTemplate(
    messages: readonly ChatMessage[],
    options: { addGenerationPrompt?: boolean; template?: string; extra?: Record<string, unknown> } = {},
  ): string {
    return renderChatTemplate(options.template ?? this.requireTemplate(), messages, {
      add_generation_prompt: options.addGenerationPrompt ?? true,
      bos_token: this.specialTokens.bos_token ?? "",
      eos_token: this.specialTokens.eos_token ?? "",
      pad_token: this.specialTokens.pad_token ?? "",
      ...options.extra,
    });
  }

  private requireTemplate(): string {
    if (this.chatTemplate === undefined) {
      throw new ConfigError("the tokenizer has no chat_template", {
        file: "tokenizer_config.json",
        path: "chat_template",
      });
    }
    return this.chatTemplate;
  }
}

const templateCache = new Map<string, Template>();

/** Renders a Jinja chat template with `messages` and extra variables (add_generation_prompt, bos_token, ...). */
export function renderChatTemplate(
  template: string,
  messages: readonly ChatMessage[],
  vars: Record<string, unknown> = {},
): string {
  let t = templateCache.get(template);
  if (!t) {
    try {
      t = new Template(template);
    } catch (err) {
      throw new ConfigError(`chat template does not parse (${(err as Error).message})`, {
        path: "chat_template",
      });
    }
    if (templateCache.size > 32) templateCache.clear();
    templateCache.set(template, t);
  }
  return t.render({ messages, ...vars });
}
