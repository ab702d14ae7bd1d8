/**
 * The output's tokenizer, resolved before any tensor is read: which folder its files come from, its vocabulary
 * (`tokenizer_source` / the `tokenizer` block: the base's, a model's, or the union, with the embeddings mapped to
 * it; see vocab.ts), the tokenizer files written when the vocabulary changed, and the chat template
 * (`chat_template`). A setting that could not take effect is a ConfigError at its line.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CHAT_TEMPLATE_FILE, chatTemplateOf } from "@m2rl/core/chat";
import { ConfigError } from "@m2rl/core/errors";
import type { MergeConfig } from "../config/mergekit.ts";
import type { TokenizerSettings } from "../config/tokenizer-config.ts";
import { NAMED_CHAT_TEMPLATES } from "./chat-templates.ts";
import {
  type AddedToken,
  addTokens,
  limitVocabulary,
  type OutputVocabulary,
  outputVocabulary,
  planVocab,
  type ResolvedTokenSource,
  readVocabulary,
  unionVocabulary,
  type VocabPlan,
  type Vocabulary,
} from "./vocab.ts";

/** Files that make a folder hold a tokenizer (fast, SentencePiece or BPE vocabulary). */
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer.model", "vocab.json"];

/** Tokenizer files that describe the source's vocabulary only: not copied when the vocabulary changed. */
const STALE_WITH_NEW_VOCABULARY = ["vocab.json", "merges.txt", "added_tokens.json", "tokenizer.model"];

export interface TokenizerPlan {
  /** Folder the tokenizer files are copied from. */
  tokenizerPath?: string;
  /** Chat template written into the output's tokenizer_config.json (replacing a copied chat_template.jinja). */
  chatTemplate?: string;
  /**
   * The output vocabulary against the inputs (tokenizer_source / tokenizer block set): the vocabulary tensors are
   * read through row maps made from it (vocab.ts planVocabTensor).
   */
  vocab?: VocabPlan;
  /**
   * Output tokenizer files written instead of copied (the vocabulary changed): their text, or null for a file of
   * the source that is not copied (it describes the old vocabulary). tokenizer_config.json holds the chat template.
   */
  tokenizerFiles?: Record<string, string | null>;
  /** The output config.json's vocab_size (the vocabulary's rows, padded). */
  vocabSize?: number;
}

const holdsTokenizer = (folder: string) => TOKENIZER_FILES.some((f) => existsSync(join(folder, f)));

/** A config.json's vocab_size (or its text_config's), undefined when it has none (or no config.json). */
function configVocabSize(folder: string): number | undefined {
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(join(folder, "config.json"), "utf8"));
  } catch {
    return undefined;
  }
  const text = cfg?.text_config as Record<string, unknown> | undefined;
  const v = cfg?.vocab_size ?? text?.vocab_size;
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined;
}

interface LoadedTokenizer {
  json: Record<string, unknown>;
  vocab: Vocabulary;
}

/** A folder's tokenizer.json: undefined when there is none, an Error saying why it cannot be read. */
function loadTokenizerJson(folder: string): LoadedTokenizer | Error | undefined {
  const file = join(folder, "tokenizer.json");
  if (!existsSync(file)) return undefined;
  try {
    const json = JSON.parse(readFileSync(file, "utf8"));
    return { json, vocab: readVocabulary(json) };
  } catch (err) {
    return new Error(`cannot read the vocabulary of ${file}: ${(err as Error).message}`);
  }
}

/**
 * `tokenizer_source` or the `tokenizer` block (see TokenizerSettings):
 * - absent: the tokenizer files of the base (or the first model) are copied; embeddings are merged as stored;
 * - `base` / `union` / a model path (absolute, or relative to the config's folder; it must exist and hold a
 *   tokenizer): the output vocabulary is built (vocab.ts) from the folders' tokenizer.json files; the vocabulary
 *   tensors are permuted into it, the output config's vocab_size follows it, and when it differs from the source's
 *   a tokenizer.json / tokenizer_config.json are written for it. A source without tokenizer.json (only
 *   tokenizer.model or vocab.json) is copied as is (a warning says the embeddings are not mapped).
 * `chat_template`: `auto` takes the template most inputs (base first, then the models) carry, ties going to the
 * first (mergekit picks the plurality template); a name of mergekit's templates (chatml, llama3, alpaca, mistral,
 * exaone) is that template; a Jinja template is used as given. It goes into tokenizer_config.json.
 */
export function planTokenizer(
  config: MergeConfig,
  paths: {
    base?: string;
    models: readonly string[];
    resolve: (p: string) => string;
    /** Plan warnings (a model without a tokenizer, tokens no model has, files not copied). */
    warn?: (w: string) => void;
  },
): TokenizerPlan {
  const settings = config.tokenizer;
  const warn = paths.warn ?? (() => {});
  const where = (key: string) => ({ file: config.file, line: config.lineOf([key]), path: key });
  const sourceWhere =
    settings?.key === "tokenizer"
      ? {
          file: config.file,
          line: config.lineOf(["tokenizer", "source"]) ?? config.lineOf(["tokenizer"], "key"),
          path: "tokenizer.source",
        }
      : where("tokenizer_source");
  const inputs = [...(paths.base ? [paths.base] : []), ...paths.models];
  // labels as written in the config when its models are these folders (a sliced merge lists them otherwise)
  const aligned =
    config.models.length === paths.models.length &&
    paths.models.every((p, i) => paths.resolve(config.models[i].model) === p);
  const labels = [
    ...(paths.base ? [`base_model ${config.baseModel}`] : []),
    ...paths.models.map((p, i) => `model ${aligned ? config.models[i].model : p}`),
  ];
  // the base of the vocabularies: the base model, also when the method merges it as one of the models (mergekit)
  let baseIndex: number | undefined = paths.base ? 0 : undefined;
  if (baseIndex === undefined && aligned && config.baseModel !== undefined) {
    const i = config.models.findIndex((m) => m.model === config.baseModel);
    if (i >= 0) baseIndex = i;
  }
  let tokenizerPath = paths.base ?? paths.models[0];
  if (settings !== undefined) {
    const src = settings.source;
    if (src === "base" || src === "union") tokenizerPath = inputs[baseIndex ?? 0];
    else {
      tokenizerPath = paths.resolve(src);
      if (!existsSync(tokenizerPath))
        throw new ConfigError(`tokenizer_source '${tokenizerPath}' does not exist`, sourceWhere);
    }
    if (!holdsTokenizer(tokenizerPath)) {
      throw new ConfigError(
        `tokenizer_source '${tokenizerPath}' holds no tokenizer (${TOKENIZER_FILES.join(", ")})`,
        sourceWhere,
      );
    }
  }
  const chatTemplate = resolveChatTemplate(config, paths);
  const plan: TokenizerPlan = { tokenizerPath, chatTemplate };
  if (settings !== undefined) {
    Object.assign(
      plan,
      planVocabulary(config, settings, {
        sourcePath: tokenizerPath,
        sourceWhere,
        inputs,
        labels,
        baseIndex,
        resolve: paths.resolve,
        warn,
        chatTemplate,
      }),
    );
  }
  if (chatTemplate !== undefined && !plan.tokenizerFiles?.["tokenizer_config.json"]) {
    if (!existsSync(join(tokenizerPath, "tokenizer_config.json"))) {
      throw new ConfigError(
        `chat_template needs a tokenizer_config.json to go into; '${tokenizerPath}' (the tokenizer source) has none`,
        where("chat_template"),
      );
    }
  }
  return plan;
}

/** `chat_template` resolved to the template text (see planTokenizer); undefined when not set. */
function resolveChatTemplate(
  config: MergeConfig,
  paths: { base?: string; models: readonly string[] },
): string | undefined {
  const setting = config.chatTemplate;
  if (setting === undefined) return undefined;
  const named = Object.hasOwn(NAMED_CHAT_TEMPLATES, setting) ? NAMED_CHAT_TEMPLATES[setting] : undefined;
  if (named !== undefined) return named;
  if (setting !== "auto") return setting;
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
      { file: config.file, line: config.lineOf(["chat_template"]), path: "chat_template" },
    );
  }
  return best;
}

/** The vocabulary part of planTokenizer (settings given). */
function planVocabulary(
  config: MergeConfig,
  settings: TokenizerSettings,
  o: {
    sourcePath: string;
    sourceWhere: { file: string; line?: number; path: string };
    inputs: string[];
    labels: string[];
    baseIndex: number | undefined;
    resolve: (p: string) => string;
    warn: (w: string) => void;
    chatTemplate: string | undefined;
  },
): Pick<TokenizerPlan, "vocab" | "tokenizerFiles" | "vocabSize"> {
  const what = settings.key === "tokenizer" ? "the tokenizer block" : `tokenizer_source '${settings.source}'`;
  const loaded = new Map<string, LoadedTokenizer | Error | undefined>();
  const load = (folder: string) => {
    if (!loaded.has(folder)) loaded.set(folder, loadTokenizerJson(folder));
    return loaded.get(folder);
  };
  const source = load(o.sourcePath);
  if (source instanceof Error) throw new ConfigError(source.message, o.sourceWhere);
  if (source === undefined) {
    if (settings.source === "union" || settings.tokens.length > 0 || settings.padToMultipleOf) {
      throw new ConfigError(
        `${what} builds a vocabulary from tokenizer.json files (Hugging Face fast tokenizers); ` +
          `${o.sourcePath} has none`,
        o.sourceWhere,
      );
    }
    o.warn(
      `${o.sourcePath} has no tokenizer.json: its tokenizer files are copied as they are, and the embeddings are ` +
        "not mapped to its vocabulary",
    );
    return {};
  }
  const basePath = o.inputs[o.baseIndex ?? 0];
  const base = load(basePath);
  if (!base || base instanceof Error) {
    throw new ConfigError(
      `${what}: the embeddings are mapped by token, so the base's tokenizer.json is needed (${
        base?.message ?? `${basePath} has none`
      })`,
      o.sourceWhere,
    );
  }
  const limitOf = (folder: string) => configVocabSize(folder) ?? Number.POSITIVE_INFINITY;
  const baseLimit = limitOf(basePath);
  const baseVocab = limitVocabulary(base.vocab, baseLimit);
  // each input's vocabulary as mergekit sees it: its tokenizer's ids below its vocab_size (none: the base's)
  const own: (Vocabulary | undefined)[] = o.inputs.map((p, k) => {
    if (p === basePath) return baseVocab;
    const t = load(p);
    if (t && !(t instanceof Error)) return limitVocabulary(t.vocab, limitOf(p));
    o.warn(
      `${o.labels[k]}: ${t?.message ?? "no tokenizer.json"}; its vocabulary is taken to be the base's (as mergekit does)`,
    );
    return undefined;
  });
  const vocabs = own.map((v, k) => v ?? limitVocabulary(baseVocab, limitOf(o.inputs[k])));
  // mergekit's original_vocabs (a token named by {kind: model_token}): the whole tokenizer, the base's stripped
  const originalVocab = (k: number): Vocabulary => {
    const t = o.inputs[k] === basePath ? undefined : load(o.inputs[k]);
    return t && !(t instanceof Error) ? t.vocab : vocabs[k];
  };
  let out: OutputVocabulary;
  const stripped = (settings.source === "base" || settings.source === "union") && baseVocab !== base.vocab;
  if (settings.source === "union") {
    const order = [o.baseIndex ?? 0, ...o.inputs.keys()].filter((k, i, a) => a.indexOf(k) === i);
    out = unionVocabulary(order.map((k) => own[k]).filter((v): v is Vocabulary => v !== undefined));
  } else out = outputVocabulary(settings.source === "base" ? baseVocab : source.vocab);
  addTokens(
    out,
    settings.tokens.map((t) => t.token),
  );

  const tokenSettings = new Map<number, { source?: ResolvedTokenSource; force: boolean }>();
  for (const t of settings.tokens) {
    const at = (...sub: string[]) => ({
      file: config.file,
      line: config.lineOf(["tokenizer", "tokens", t.token, "source", ...sub]),
      path: ["tokenizer", "tokens", t.token, "source", ...sub].join("."),
    });
    let resolved: ResolvedTokenSource | undefined;
    const s = t.source;
    if (s?.kind === "zero") resolved = { kind: "zero" };
    else if (s !== undefined) {
      const k = o.inputs.indexOf(o.resolve(s.model));
      if (k < 0)
        throw new ConfigError(
          `'${s.model}' is not one of the merged models`,
          at(...(s.kind === "model" ? [] : ["model"])),
        );
      if (s.kind === "model") resolved = { kind: "model", input: k };
      else {
        // mergekit's original_vocabs: the tokenizer's vocabulary (the base's stripped to its vocab_size)
        const row = s.tokenId ?? originalVocab(k).ids.get(s.token!);
        if (row === undefined)
          throw new ConfigError(
            `token ${JSON.stringify(s.token)} is not in ${o.labels[k]}'s vocabulary`,
            at("token"),
          );
        resolved = { kind: "row", input: k, row };
      }
    }
    tokenSettings.set(out.ids.get(t.token)!, { source: resolved, force: t.force });
  }
  let vocab: VocabPlan;
  try {
    vocab = planVocab(out, vocabs, o.labels, o.baseIndex, tokenSettings, settings.padToMultipleOf);
  } catch (err) {
    throw new ConfigError((err as Error).message, {
      file: config.file,
      line: config.lineOf(["tokenizer", "tokens"], "key"),
      path: "tokenizer.tokens",
    });
  }
  if (vocab.unknown.length > 0) {
    o.warn(
      `${vocab.unknown.length} token(s) of the output vocabulary are in no input's vocabulary; their embedding rows are zero (${vocab.unknown
        .slice(0, 5)
        .map((t) => JSON.stringify(t))
        .join(", ")}${vocab.unknown.length > 5 ? ", ..." : ""})`,
    );
  }
  // a sliced merge (plan-slices.ts) does not map embeddings: only a vocabulary that changes nothing is accepted
  const sliced = (config.raw as { slices?: unknown }).slices !== undefined;
  if (sliced && unchanged(vocab, o.inputs.map(limitOf), stripped || out.appended.length > 0)) return {};
  if (sliced) {
    throw new ConfigError(
      `${what} changes the vocabulary (or the embedding rows), which is not supported with slices yet; ` +
        "without tokenizer_source the base's tokenizer is copied",
      o.sourceWhere,
    );
  }
  const result: Pick<TokenizerPlan, "vocab" | "tokenizerFiles" | "vocabSize"> = {
    vocab,
    vocabSize: vocab.rows,
  };
  if (stripped || out.appended.length > 0) {
    const json = source.json;
    try {
      if (stripped) stripTokenizerJson(json, baseLimit);
    } catch (err) {
      throw new ConfigError(`${o.sourcePath}/tokenizer.json: ${(err as Error).message}`, o.sourceWhere);
    }
    const kept = (settings.source === "base" || settings.source === "union" ? baseVocab : source.vocab).added;
    json.added_tokens = [...kept, ...out.appended].map(addedTokenJson);
    const files: Record<string, string | null> = { "tokenizer.json": `${JSON.stringify(json, null, 2)}\n` };
    let tcfg: Record<string, unknown> = {};
    try {
      tcfg = JSON.parse(readFileSync(join(o.sourcePath, "tokenizer_config.json"), "utf8"));
    } catch {
      // none (or unreadable): written anew with the added tokens
    }
    tcfg.added_tokens_decoder = Object.fromEntries(
      [...kept, ...out.appended].map((a) => {
        const { id, ...rest } = addedTokenJson(a);
        return [String(id), rest];
      }),
    );
    if (o.chatTemplate !== undefined) tcfg.chat_template = o.chatTemplate;
    files["tokenizer_config.json"] = `${JSON.stringify(tcfg, null, 2)}\n`;
    const dropped = STALE_WITH_NEW_VOCABULARY.filter((f) => existsSync(join(o.sourcePath, f)));
    for (const f of dropped) files[f] = null;
    if (dropped.length > 0) {
      o.warn(
        `the output vocabulary differs from ${o.sourcePath}'s: tokenizer.json and tokenizer_config.json are written ` +
          `for it, and ${dropped.join(", ")} (which describe the old one) are not copied`,
      );
    }
    result.tokenizerFiles = files;
  }
  return result;
}

/** Whether every input's rows are already the output's (identity maps, as many rows as its vocab_size says). */
function unchanged(vocab: VocabPlan, limits: readonly number[], filesChanged: boolean): boolean {
  if (filesChanged || vocab.forced.size > 0) return false;
  return vocab.maps.every((m, k) => limits[k] === vocab.rows && m.every((j, i) => j === i));
}

/** An added token in tokenizer.json's field order. */
const addedTokenJson = (a: AddedToken) => ({
  id: a.id,
  content: a.content,
  single_word: a.single_word,
  lstrip: a.lstrip,
  rstrip: a.rstrip,
  normalized: a.normalized,
  special: a.special,
});

/**
 * mergekit's get_stripped_tokenizer: tokens with ids at or past `limit` (the model's vocab_size) leave the
 * vocabulary, the added tokens and the BPE merges that use them (here also the merges that make them, which
 * tokenizers would refuse to load). A Unigram vocabulary (ids are positions) cannot be stripped.
 */
function stripTokenizerJson(json: Record<string, unknown>, limit: number): void {
  const model = json.model as Record<string, unknown>;
  const removed = new Set<string>();
  if (model.type === "Unigram") {
    if ((model.vocab as unknown[]).length > limit)
      throw new Error(
        `a Unigram vocabulary cannot be cut to vocab_size ${limit} (only BPE, WordPiece, WordLevel)`,
      );
  } else {
    const v = model.vocab as Record<string, number>;
    for (const [t, id] of Object.entries(v)) {
      if (id >= limit) {
        removed.add(t);
        delete v[t];
      }
    }
  }
  if (removed.size > 0 && Array.isArray(model.merges)) {
    const prefix = typeof model.continuing_subword_prefix === "string" ? model.continuing_subword_prefix : "";
    model.merges = model.merges.filter((m: unknown) => {
      const [a, b] = typeof m === "string" ? m.split(" ") : (m as string[]);
      const made = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
      return !removed.has(a) && !removed.has(b) && !removed.has(made);
    });
  }
  if (Array.isArray(json.added_tokens))
    json.added_tokens = json.added_tokens.filter((a: { id?: number }) => (a.id ?? 0) < limit);
}

/** A model folder's chat template by core's chatTemplateOf (the rule every reader uses), trimmed; undefined when none. */
export function readChatTemplate(folder: string): string | undefined {
  const jinja = join(folder, CHAT_TEMPLATE_FILE);
  let cfg: Record<string, unknown> | undefined;
  try {
    cfg = JSON.parse(readFileSync(join(folder, "tokenizer_config.json"), "utf8"));
  } catch {
    cfg = undefined;
  }
  return chatTemplateOf(cfg, existsSync(jinja) ? readFileSync(jinja, "utf8") : undefined)?.trim();
}
