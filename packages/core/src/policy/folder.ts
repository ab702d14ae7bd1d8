/**
 * A policy as a Hugging Face model folder, through core's FileStore (Node adapter: @m2rl/io-node):
 * config.json + model.safetensors (or shards + model.safetensors.index.json) + tokenizer.json
 * (+ tokenizer_config.json). Loading checks every tensor's presence and shape against the config before any
 * weight is read; saving writes config, weights and tokenizer so that transformers can open the folder.
 */

import { CHAT_TEMPLATE_FILE, chatTemplateOf } from "../chat/index.ts";
import { Checkpoint, CheckpointWriter, type FloatDType, firstNonFinite } from "../checkpoint/index.ts";
import { CheckpointError, ConfigError } from "../errors/index.ts";
import type { FileStore } from "../io/index.ts";
import { CausalLM, parameterShapes } from "./causal-lm.ts";
import { CharTokenizer } from "./char-tokenizer.ts";
import { configToJson, eosIds, parseConfig, type ResolvedConfig, resolveConfig } from "./config.ts";
import { HfTokenizer } from "./hf-tokenizer.ts";
import type { Policy, Tokenizer } from "./types.ts";

/** Stand-in tokenizer when a folder has none (logit debugging by ids): decodes ids as "[id]". */
export class IdsOnlyTokenizer implements Tokenizer {
  constructor(
    readonly vocabSize: number,
    readonly eosId: number,
    readonly padId: number,
  ) {}
  encode(text: string): number[] {
    throw new ConfigError(
      `this model folder has no tokenizer.json; cannot encode ${JSON.stringify(text.slice(0, 20))}`,
      {
        file: "tokenizer.json",
      },
    );
  }
  decode(ids: readonly number[]): string {
    return ids.map((i) => `[${i}]`).join("");
  }
}

export interface LoadPolicyOptions {
  /** Use this tokenizer instead of the folder's. */
  tokenizer?: Tokenizer;
  /** When the folder has no tokenizer.json, use an ids-only stand-in instead of failing. */
  allowMissingTokenizer?: boolean;
  /** Parameters as trainable variables (default true). */
  trainable?: boolean;
  /**
   * Accept NaN / ±Inf weights (default false: a non-finite value fails the load, naming the file, the tensor and the
   * first index). Only for inspecting a broken checkpoint.
   */
  allowNonFinite?: boolean;
}

/** Tensors a checkpoint may carry that are not parameters (recomputed buffers). */
const IGNORED_TENSOR = /\.rotary_emb\.inv_freq$/;

async function readJson(store: FileStore, file: string): Promise<Record<string, unknown>> {
  const text = await store.readText(file);
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not a JSON object");
    return v as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`not a valid JSON object (${(err as Error).message})`, {
      file: `${store.name}/${file}`,
    });
  }
}

/** Reads the folder's tokenizer (CharTokenizer when it is one M2RL wrote, else HfTokenizer). */
export async function loadTokenizer(
  store: FileStore,
  config: ResolvedConfig,
): Promise<Tokenizer | undefined> {
  if (!(await store.exists("tokenizer.json"))) return undefined;
  const json = await readJson(store, "tokenizer.json");
  const char = CharTokenizer.fromTokenizerJson(json);
  if (char) return char;
  const tcfg = (await store.exists("tokenizer_config.json"))
    ? await readJson(store, "tokenizer_config.json")
    : {};
  const jinja = (await store.exists(CHAT_TEMPLATE_FILE))
    ? await store.readText(CHAT_TEMPLATE_FILE)
    : undefined;
  const chatTemplate = chatTemplateOf(tcfg, jinja);
  if (chatTemplate === undefined) delete tcfg.chat_template;
  else tcfg.chat_template = chatTemplate;
  const eos = eosIds(config)[0];
  return new HfTokenizer(json, tcfg, {
    eosId: eos,
    padId: config.pad_token_id ?? undefined,
    bosId: config.bos_token_id ?? undefined,
    file: `${store.name}/tokenizer.json`,
  });
}

/** Loads a CausalLM from a Hugging Face-style folder. */
export async function loadPolicy(store: FileStore, options: LoadPolicyOptions = {}): Promise<CausalLM> {
  const configFile = `${store.name}/config.json`;
  if (!(await store.exists("config.json")))
    throw new ConfigError("file does not exist", { file: configFile });
  const config = parseConfig(await store.readText("config.json"), configFile);
  let tokenizer = options.tokenizer ?? (await loadTokenizer(store, config));
  if (!tokenizer) {
    if (!options.allowMissingTokenizer) {
      throw new ConfigError("no tokenizer.json in the model folder", {
        file: `${store.name}/tokenizer.json`,
      });
    }
    const eos = eosIds(config)[0] ?? 0;
    tokenizer = new IdsOnlyTokenizer(config.vocab_size, eos, config.pad_token_id ?? eos);
  }
  const ckpt = await Checkpoint.open(store);
  try {
    checkConfigAgainstHeaders(config, ckpt, configFile);
    const shapes = parameterShapes(config);
    // Validate names and shapes from the headers before reading any data.
    for (const [name, shape] of shapes) {
      if (!ckpt.has(name)) throw new CheckpointError("missing tensor", { file: ckpt.name, path: name });
      const t = ckpt.tensor(name);
      if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
        throw new CheckpointError(`shape [${t.shape}] does not match the config's [${shape}]`, {
          file: `${store.name}/${t.file}`,
          path: name,
        });
      }
      if (!["F32", "F16", "BF16", "F64"].includes(t.dtype)) {
        throw new CheckpointError(`dtype ${t.dtype} is not a float type`, {
          file: `${store.name}/${t.file}`,
          path: name,
        });
      }
    }
    for (const name of ckpt.names) {
      if (shapes.has(name) || IGNORED_TENSOR.test(name)) continue;
      if (name === "lm_head.weight" && config.tie_word_embeddings) continue; // tied: the embedding is the head
      throw new CheckpointError("unexpected tensor (not in this config's layout)", {
        file: ckpt.name,
        path: name,
      });
    }
    // One tensor at a time into zero-initialised parameters: peak memory ≈ the model plus one tensor.
    const model = new CausalLM(config, tokenizer, { weights: "zeros", trainable: options.trainable });
    try {
      for (const name of shapes.keys()) {
        const data = await ckpt.readFloat32(name);
        const bad = options.allowNonFinite ? -1 : firstNonFinite(data);
        if (bad >= 0)
          throw new CheckpointError(
            `non-finite weight ${data[bad]} at flat index ${bad} (load with allowNonFinite / --allow-nonfinite to inspect it)`,
            { file: `${store.name}/${ckpt.tensor(name).file}`, path: name },
          );
        model.setWeight(name, data);
      }
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  } finally {
    await ckpt.close();
  }
}

/**
 * The config's sizes against the checkpoint's headers, before anything proportional to the config is built: the
 * layer count, vocabulary and hidden size must be the ones the stored tensors have. A config claiming 1e9 layers
 * is refused here, naming config.json and the field, instead of allocating for it.
 */
function checkConfigAgainstHeaders(config: ResolvedConfig, ckpt: Checkpoint, configFile: string): void {
  let layers = 0;
  for (const name of ckpt.names) {
    const m = /^model\.layers\.(\d+)\./.exec(name);
    if (m) layers = Math.max(layers, Number(m[1]) + 1);
  }
  if (config.num_hidden_layers !== layers)
    throw new ConfigError(
      `num_hidden_layers is ${config.num_hidden_layers}, but the checkpoint holds ${layers} layer(s) ` +
        `(model.layers.0 … model.layers.${Math.max(0, layers - 1)})`,
      { file: configFile, path: "num_hidden_layers" },
    );
  const embed = "model.embed_tokens.weight";
  if (!ckpt.has(embed)) throw new CheckpointError("missing tensor", { file: ckpt.name, path: embed });
  const [v, d] = ckpt.tensor(embed).shape;
  if (config.vocab_size !== v)
    throw new ConfigError(`vocab_size is ${config.vocab_size}, but ${embed} has ${v} rows`, {
      file: configFile,
      path: "vocab_size",
    });
  if (config.hidden_size !== d)
    throw new ConfigError(`hidden_size is ${config.hidden_size}, but ${embed} has ${d} columns`, {
      file: configFile,
      path: "hidden_size",
    });
}

export interface SavePolicyOptions {
  /** Stored dtype of the weights (default F32). */
  dtype?: FloatDType;
  /** Largest shard in bytes (default 5e9); more data gives shards plus an index. */
  maxShardBytes?: number;
}

/**
 * Writes config.json, the weights (model.safetensors or shards + index) and the tokenizer (tokenizer.json and
 * tokenizer_config.json, when the tokenizer is a CharTokenizer or an HfTokenizer).
 */
export async function savePolicy(
  policy: Pick<Policy, "config" | "tokenizer" | "exportWeights">,
  store: FileStore,
  options: SavePolicyOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? "F32";
  const weights = policy.exportWeights();
  const specs = [...weights].map(([name, w]) => ({ name, dtype, shape: w.shape }));
  const writer = await CheckpointWriter.create(store, specs, { maxShardBytes: options.maxShardBytes });
  for (const [name, w] of weights) await writer.write(name, w.data);
  await writer.finish();
  const tok = policy.tokenizer;
  if (tok instanceof CharTokenizer) {
    await store.writeText("tokenizer.json", `${JSON.stringify(tok.toTokenizerJson())}\n`);
    await store.writeText("tokenizer_config.json", `${JSON.stringify(tok.toTokenizerConfig(), null, 2)}\n`);
  } else if (tok instanceof HfTokenizer) {
    await store.writeText("tokenizer.json", `${JSON.stringify(tok.tokenizerJson)}\n`);
    await store.writeText("tokenizer_config.json", `${JSON.stringify(tok.tokenizerConfig, null, 2)}\n`);
  }
  // config.json last: a folder with a config is a complete one.
  await store.writeText("config.json", configToJson(resolveConfig(policy.config)));
}
