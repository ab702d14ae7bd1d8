/**
 * The output's config.json against the output's tensors: a merged model whose config disagrees with its weights
 * (a vocabulary cut to a common submatrix, a layer count that is not the one stored) cannot be loaded, so the merge
 * fails instead of writing it. Checked at pre-flight (planned shapes, the config that will be copied) and again on
 * the written output before its folder appears.
 */
import { readFile } from "node:fs/promises";
import { CheckpointError } from "@m2rl/core/errors";

/** Input embeddings and output heads: [vocabulary, hidden] in every Hugging Face causal LM. */
const EMBEDDING = /(?:^|\.)(?:embed_tokens|wte|embed_in|word_embeddings)\.weight$/;
const HEAD = /^(?:lm_head|embed_out)\.weight$/;
/** Decoder blocks of the language model (not those of a vision tower). */
const LAYER = /^(?:model\.|transformer\.|gpt_neox\.)?(?:layers|h|blocks)\.(\d+)\./;

/** Size fields a supported architecture's layout depends on: with all of them stated, the whole layout is checked. */
const LAYOUT_FIELDS = [
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
] as const;

/** Config fields with one entry per decoder layer: transformers' `layer_types`, SmolLM3 / Llama 4 `no_rope_layers`. */
export const PER_LAYER_FIELDS = ["layer_types", "no_rope_layers"] as const;
/** Config fields listing decoder layer indices: Qwen2-MoE / Qwen3-MoE `mlp_only_layers`. */
export const LAYER_INDEX_FIELDS = ["mlp_only_layers"] as const;

const shapeText = (s: readonly number[]) => `[${s.join(", ")}]`;

/**
 * Throws a CheckpointError naming `file` and the field when `config` does not describe `tensors` (output name →
 * shape):
 * - `vocab_size` must be the row count of the embedding and of an untied head, `hidden_size` their column count;
 * - `num_hidden_layers` must be the number of decoder layers stored (0 … n−1, none missing; plus
 *   `num_nextn_predict_layers` when the config has them); a per-layer list (PER_LAYER_FIELDS) must have that many
 *   entries, a list of layer indices (LAYER_INDEX_FIELDS) only indices below it;
 * - for a llama / qwen2 / qwen3 config that states every size field (what transformers writes), every tensor the
 *   config implies (core's `parameterShapes`) must be present with that shape.
 * Fields a config does not state are not checked (other architectures name them differently).
 */
export async function checkOutputConfig(
  config: Record<string, unknown>,
  tensors: ReadonlyMap<string, readonly number[]>,
  file: string,
): Promise<void> {
  const int = (k: string): number | undefined => {
    const v = config[k];
    return typeof v === "number" && Number.isInteger(v) ? v : undefined;
  };
  const fail = (path: string, message: string): never => {
    throw new CheckpointError(message, { file, path });
  };
  const vocab = int("vocab_size");
  const hidden = int("hidden_size");
  for (const [name, shape] of tensors) {
    if (shape.length !== 2 || !(EMBEDDING.test(name) || HEAD.test(name))) continue;
    if (vocab !== undefined && shape[0] !== vocab)
      fail("vocab_size", `is ${vocab}, but the output's ${name} has ${shape[0]} rows ${shapeText(shape)}`);
    if (hidden !== undefined && shape[1] !== hidden)
      fail(
        "hidden_size",
        `is ${hidden}, but the output's ${name} has ${shape[1]} columns ${shapeText(shape)}`,
      );
  }
  const layers = int("num_hidden_layers");
  if (layers !== undefined) {
    const present = new Set<number>();
    for (const name of tensors.keys()) {
      const m = LAYER.exec(name);
      if (m) present.add(Number(m[1]));
    }
    // no decoder block under a known prefix: this architecture names them otherwise
    if (present.size > 0) {
      const top = Math.max(...present);
      const extra = int("num_nextn_predict_layers") ?? 0;
      if (top + 1 !== layers && top + 1 !== layers + extra)
        fail(
          "num_hidden_layers",
          `is ${layers}, but the output holds layers 0..${top} (${top + 1})${extra ? ` (with ${extra} nextn layers)` : ""}`,
        );
      for (let i = 0; i <= top; i++)
        if (!present.has(i)) fail("num_hidden_layers", `layer ${i} is missing from the output`);
    }
    for (const k of PER_LAYER_FIELDS) {
      const v = config[k];
      if (Array.isArray(v) && v.length !== layers)
        fail(k, `has ${v.length} entries (one per layer), but num_hidden_layers is ${layers}`);
    }
    for (const k of LAYER_INDEX_FIELDS) {
      const v = config[k];
      const bad = Array.isArray(v)
        ? v.find((x) => !(Number.isInteger(x) && x >= 0 && x < layers))
        : undefined;
      if (bad !== undefined)
        fail(k, `holds ${JSON.stringify(bad)}, not a layer index below num_hidden_layers ${layers}`);
    }
  }
  await checkLayout(config, tensors, file);
}

/** The whole layout of a supported architecture (see checkOutputConfig). */
async function checkLayout(
  config: Record<string, unknown>,
  tensors: ReadonlyMap<string, readonly number[]>,
  file: string,
): Promise<void> {
  if (!LAYOUT_FIELDS.every((k) => typeof config[k] === "number")) return;
  // the policy module loads TensorFlow.js (about a second): only merges of a supported architecture pay for it
  const policy = await import("@m2rl/core/policy");
  if (!(policy.SUPPORTED_MODEL_TYPES as readonly unknown[]).includes(config.model_type)) return;
  let shapes: Map<string, number[]>;
  try {
    shapes = policy.parameterShapes(policy.parseConfig(config, file));
  } catch {
    return; // a feature core does not run (rope scaling, sliding window, …): its layout is not known here
  }
  for (const [name, shape] of shapes) {
    const got = tensors.get(name);
    if (!got)
      throw new CheckpointError(`the config implies ${name} ${shapeText(shape)}, which the output lacks`, {
        file,
      });
    if (got.length !== shape.length || got.some((d, k) => d !== shape[k]))
      throw new CheckpointError(
        `the config implies ${name} ${shapeText(shape)}, the output has ${shapeText(got)}`,
        { file },
      );
  }
}

/** A folder's config.json as an object, or undefined when there is none (or it is not a JSON object). */
export async function readConfigJson(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
