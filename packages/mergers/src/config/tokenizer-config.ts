/**
 * mergekit's output-vocabulary settings (mergekit/tokenizer/config.py TokenizerConfig, and the flat
 * `tokenizer_source` of mergekit/config.py MergeConfiguration), checked with their lines:
 *
 * ```yaml
 * tokenizer_source: union            # or base, or a model folder; or instead:
 * tokenizer:
 *   source: union                    # default union
 *   pad_to_multiple_of: 64           # embedding rows (and vocab_size) rounded up to a multiple
 *   tokens:
 *     <|im_start|>:
 *       source: some/model           # that model's row for this token
 *       force: true                  # also in the models that have the token
 *     <|tool|>:
 *       source: {kind: model_token, model: some/model, token: "<|im_end|>"}   # or token_id: 151645
 *     <|pad|>:
 *       source: {kind: zero}
 * ```
 */
import { ConfigError } from "@m2rl/core/errors";
import type { JSONSchema } from "@m2rl/core/plugin";

/** Where the embedding row of one token comes from (mergekit's TokenEmbeddingConfig.source). */
export type TokenEmbeddingSource =
  | { kind: "zero" }
  /** The model's own row for this token (mergekit: a plain ModelReference). */
  | { kind: "model"; model: string }
  /** A given row of a model: by its id there, or by a token of its vocabulary (mergekit's ModelTokenEmbedding). */
  | { kind: "model_token"; model: string; tokenId?: number; token?: string };

export interface TokenSetting {
  token: string;
  /** Absent: the automatic rule (as for a token not listed). */
  source?: TokenEmbeddingSource;
  /** Use `source` even in the models that have the token. */
  force: boolean;
}

/** The output vocabulary, from `tokenizer_source` or the `tokenizer` block (only one may be set, as in mergekit). */
export interface TokenizerSettings {
  /** `union`, `base`, or a model path as written. */
  source: string;
  tokens: TokenSetting[];
  padToMultipleOf?: number;
  /** The key it was written under, for error lines: `tokenizer_source`, or `tokenizer` (the block). */
  key: "tokenizer_source" | "tokenizer";
}

/** The `tokenizer` block as written. */
export interface RawTokenizerBlock {
  source?: string;
  tokens?: Record<string, { source?: string | Record<string, unknown>; force?: boolean }>;
  pad_to_multiple_of?: number;
}

/** JSON Schema of the `tokenizer` block (an object `source` is checked by parseTokenizerSettings). */
export const tokenizerBlockSchema: JSONSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    source: { type: "string", minLength: 1 },
    tokens: {
      type: "object",
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        properties: { source: { type: ["string", "object"] }, force: { type: "boolean" } },
      },
    },
    pad_to_multiple_of: { type: "integer", minimum: 1 },
  },
};

type LineOf = (path: readonly (string | number)[], at?: "key" | "value") => number | undefined;

/**
 * The settings of a schema-valid config (undefined when neither `tokenizer_source` nor `tokenizer` is set). Both
 * set, or an object `source` that is not `{kind: zero}` / `{kind: model_token, model, token_id | token}`, is a
 * ConfigError at its line.
 */
export function parseTokenizerSettings(
  raw: { tokenizer_source?: string; tokenizer?: RawTokenizerBlock },
  file: string,
  lineOf: LineOf,
): TokenizerSettings | undefined {
  if (raw.tokenizer_source !== undefined && raw.tokenizer !== undefined) {
    throw new ConfigError("set tokenizer_source or the tokenizer block, not both (mergekit refuses both)", {
      file,
      line: lineOf(["tokenizer"], "key"),
      path: "tokenizer",
    });
  }
  if (raw.tokenizer_source !== undefined)
    return { source: raw.tokenizer_source, tokens: [], key: "tokenizer_source" };
  const block = raw.tokenizer;
  if (block === undefined) return undefined;
  const tokens: TokenSetting[] = [];
  for (const [token, t] of Object.entries(block.tokens ?? {})) {
    const path = ["tokenizer", "tokens", token, "source"];
    const fail = (msg: string, sub: string[] = []): never => {
      throw new ConfigError(msg, {
        file,
        line: lineOf([...path, ...sub]),
        path: [...path, ...sub].join("."),
      });
    };
    let source: TokenEmbeddingSource | undefined;
    const s = t.source;
    if (typeof s === "string") source = { kind: "model", model: s };
    else if (s !== undefined) {
      if (s.kind === "zero") {
        for (const k of Object.keys(s))
          if (k !== "kind") fail(`unknown field '${k}' in a {kind: zero} source`, [k]);
        source = { kind: "zero" };
      } else if (s.kind === "model_token") {
        for (const k of Object.keys(s)) {
          if (!["kind", "model", "token_id", "token"].includes(k))
            fail(`unknown field '${k}' in a {kind: model_token} source (model, token_id or token)`, [k]);
        }
        if (typeof s.model !== "string" || s.model === "")
          fail("a {kind: model_token} source needs a model path");
        const hasId = s.token_id !== undefined;
        const hasToken = s.token !== undefined;
        if (hasId === hasToken) fail("a {kind: model_token} source takes one of token_id or token");
        if (hasId && !(Number.isInteger(s.token_id) && (s.token_id as number) >= 0))
          fail(`token_id must be an integer >= 0, got ${JSON.stringify(s.token_id)}`, ["token_id"]);
        if (hasToken && typeof s.token !== "string")
          fail(`token must be a string, got ${JSON.stringify(s.token)}`, ["token"]);
        source = {
          kind: "model_token",
          model: s.model as string,
          ...(hasId ? { tokenId: s.token_id as number } : { token: s.token as string }),
        };
      } else {
        fail(
          `unknown source kind ${JSON.stringify(s.kind)}: a token's source is a model path, ` +
            "{kind: model_token, model, token_id | token} or {kind: zero}",
          s.kind === undefined ? [] : ["kind"],
        );
      }
    }
    tokens.push({ token, source, force: t.force ?? false });
  }
  return {
    source: block.source ?? "union",
    tokens,
    padToMultipleOf: block.pad_to_multiple_of,
    key: "tokenizer",
  };
}
