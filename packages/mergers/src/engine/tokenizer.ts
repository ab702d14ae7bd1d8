/**
 * The output's tokenizer: which folder its files are copied from (`tokenizer_source`) and which chat template it
 * gets (`chat_template`), both resolved before any tensor is read; a setting that could not take effect is a
 * ConfigError at its line.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "@m2rl/core/errors";
import type { MergeConfig } from "../config/mergekit.ts";

/** Files that make a folder hold a tokenizer (fast, SentencePiece or BPE vocabulary). */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer.model", "vocab.json"];

export interface TokenizerPlan {
  /** Folder the tokenizer files are copied from. */
  tokenizerPath?: string;
  /** Chat template written into the output's tokenizer_config.json (replacing a copied chat_template.jinja). */
  chatTemplate?: string;
}

const holdsTokenizer = (folder: string) => TOKENIZER_FILES.some((f) => existsSync(join(folder, f)));

/**
 * `tokenizer_source`: absent, the base (or the first model); `base`, the same, which must hold a tokenizer; a path
 * (absolute, or relative to the config's folder), which must exist and hold a tokenizer.
 * `chat_template`: `auto` takes the template most inputs (base first, then the models) carry, ties going to the
 * first (mergekit picks the plurality template); a Jinja template is used as given. The tokenizer source must have
 * a tokenizer_config.json to hold it.
 */
export function planTokenizer(
  config: MergeConfig,
  paths: { base?: string; models: readonly string[]; resolve: (p: string) => string },
): TokenizerPlan {
  const src = config.tokenizerSource;
  const where = (key: string) => ({ file: config.file, line: config.lineOf([key]), path: key });
  const donor = paths.base ?? paths.models[0];
  let tokenizerPath = donor;
  if (src !== undefined) {
    if (src !== "base") {
      tokenizerPath = paths.resolve(src);
      if (!existsSync(tokenizerPath)) {
        throw new ConfigError(
          `tokenizer_source '${tokenizerPath}' does not exist`,
          where("tokenizer_source"),
        );
      }
    }
    if (!holdsTokenizer(tokenizerPath)) {
      throw new ConfigError(
        `tokenizer_source '${tokenizerPath}' holds no tokenizer (${TOKENIZER_FILES.join(", ")})`,
        where("tokenizer_source"),
      );
    }
  }
  const setting = config.chatTemplate;
  if (setting === undefined) return { tokenizerPath };
  let chatTemplate = setting;
  if (setting === "auto") {
    const counts = new Map<string, number>();
    for (const folder of [...(paths.base ? [paths.base] : []), ...paths.models]) {
      const t = readChatTemplate(folder);
      if (t !== undefined) counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    let best: string | undefined;
    for (const [t, n] of counts) if (best === undefined || n > counts.get(best)!) best = t;
    if (best === undefined) {
      throw new ConfigError(
        "chat_template 'auto' found no chat template in the input models (tokenizer_config.json or chat_template.jinja)",
        where("chat_template"),
      );
    }
    chatTemplate = best;
  }
  if (!existsSync(join(tokenizerPath, "tokenizer_config.json"))) {
    throw new ConfigError(
      `chat_template needs a tokenizer_config.json to go into; '${tokenizerPath}' (the tokenizer source) has none`,
      where("chat_template"),
    );
  }
  return { tokenizerPath, chatTemplate };
}

/**
 * A model folder's chat template, as transformers loads it: chat_template.jinja, else tokenizer_config.json's
 * `chat_template` (a string, or a list of named templates: the `default` one). Trimmed; undefined when none.
 */
export function readChatTemplate(folder: string): string | undefined {
  const jinja = join(folder, "chat_template.jinja");
  if (existsSync(jinja)) return readFileSync(jinja, "utf8").trim() || undefined;
  let cfg: { chat_template?: unknown };
  try {
    cfg = JSON.parse(readFileSync(join(folder, "tokenizer_config.json"), "utf8"));
  } catch {
    return undefined;
  }
  let t = cfg.chat_template;
  if (Array.isArray(t))
    t = (t as { name?: unknown; template?: unknown }[]).find((x) => x?.name === "default")?.template;
  return typeof t === "string" && t.trim() ? t.trim() : undefined;
}
