/**
 * mergekit's own example configs (test/mergekit-examples/*.yml: examples/ of arcee-ai/mergekit at a6e4028, kept
 * verbatim) merged by `mergeFromFile`. The only change is the one a user makes: each Hugging Face model id is
 * mapped to a local folder. The folders are small Llama / Mistral-shaped checkpoints with the real layer counts
 * (40 layers for the Llama-2-13B family, 32 for Mistral-7B) and the usual tensor names, so layer gradients,
 * layer ranges and name filters resolve as they would on the real models. Each example must merge, and each
 * output is checked for the property its method defines.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parameterShapes } from "@m2rl/core/policy";
import { Rng } from "@m2rl/core/rng";
import { openCheckpoint } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mergeFromFile } from "../src/index.ts";
import { randn, tempDir, writeModel } from "./fixtures.ts";

const EXAMPLES = join(import.meta.dirname, "mergekit-examples");

/** Hub id → [architecture family, seed]: models of a family share a base and differ by small updates. */
const MODELS: Record<string, ["llama2-13b" | "mistral-7b" | "small", number]> = {
  "TheBloke/Llama-2-13B-fp16": ["llama2-13b", 0],
  "psmathur/orca_mini_v3_13b": ["llama2-13b", 1],
  "garage-bAInd/Platypus2-13B": ["llama2-13b", 2],
  "WizardLM/WizardLM-13B-V1.2": ["llama2-13b", 3],
  "WizardLM/WizardMath-13B-V1.0": ["llama2-13b", 4],
  "mistralai/Mistral-7B-v0.1": ["mistral-7b", 0],
  "mistralai/Mistral-7B-Instruct-v0.2": ["mistral-7b", 1],
  "BioMistral/BioMistral-7B": ["mistral-7b", 2],
  model_a: ["small", 0],
  model_b: ["small", 1],
};

const FAMILY = {
  // Llama-2-13B and Mistral-7B layer counts; widths shrunk to keep the folders small
  "llama2-13b": { model_type: "llama", architectures: ["LlamaForCausalLM"], num_hidden_layers: 40 },
  "mistral-7b": { model_type: "llama", architectures: ["MistralForCausalLM"], num_hidden_layers: 32 },
  small: { model_type: "llama", architectures: ["LlamaForCausalLM"], num_hidden_layers: 4 },
} as const;

function configOf(family: keyof typeof FAMILY): Record<string, unknown> {
  return {
    ...FAMILY[family],
    hidden_size: 8,
    intermediate_size: 12,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    vocab_size: 32,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: false,
    torch_dtype: "float32",
  };
}

let root: string;
let cleanup: () => Promise<void>;
/** Hub id → local folder. */
const folder = new Map<string, string>();
/** Hub id → its tensors. */
const weights = new Map<string, Map<string, Float32Array>>();

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir("m2rl-mergekit-examples-"));
  const bases = new Map<string, Map<string, Float32Array>>();
  for (const [id, [family, seed]] of Object.entries(MODELS)) {
    const config = configOf(family);
    const shapes = parameterShapes(config as never);
    if (!bases.has(family)) {
      const rng = new Rng(101);
      bases.set(
        family,
        new Map(
          [...shapes].map(([n, s]) => [
            n,
            randn(
              s.reduce((a, b) => a * b, 1),
              rng,
              0.5,
            ),
          ]),
        ),
      );
    }
    const rng = new Rng(1000 + seed);
    const tensors = new Map<string, Float32Array>();
    for (const [n, base] of bases.get(family)!) {
      // seed 0 is the family's base; the others are fine-tunes: dense small updates
      tensors.set(n, seed === 0 ? base : base.map((x) => x + rng.normal() * 0.05));
    }
    weights.set(id, tensors);
    const dir = join(root, id.replace("/", "__"));
    folder.set(id, dir);
    await writeModel(
      dir,
      [...shapes].map(([name, shape]) => ({ name, shape, data: tensors.get(name)! })),
      { config },
    );
  }
}, 120_000);
afterAll(async () => cleanup?.());

/** The example with every model id replaced by its local folder (nothing else changes). */
async function localized(example: string): Promise<string> {
  let text = await readFile(join(EXAMPLES, example), "utf8");
  for (const [id, dir] of folder) {
    text = text.replace(
      new RegExp(`(model:\\s*|base_model:\\s*)${id.replace(/[/.-]/g, "\\$&")}\\s*$`, "gm"),
      `$1${dir}`,
    );
  }
  const path = join(root, example);
  await writeFile(path, text);
  return path;
}

async function merged(example: string): Promise<{
  out: string;
  t: (name: string) => Promise<Float32Array>;
  names: string[];
  dtypes: Set<string>;
  config: Record<string, unknown>;
}> {
  const out = join(root, `out-${example}`);
  await mergeFromFile(await localized(example), { outDir: out, durable: false });
  const ck = await openCheckpoint(out);
  const names = [...ck.names];
  const dtypes = new Set(names.map((n) => ck.tensor(n).dtype));
  const values = new Map<string, Float32Array>();
  for (const n of names) values.set(n, Float32Array.from(await ck.readFloat32(n)));
  await ck.close();
  const config = JSON.parse(await readFile(join(out, "config.json"), "utf8"));
  return { out, t: async (n) => values.get(n)!, names, dtypes, config };
}

/** Every element within float16 rounding of the expectation. */
function closeF16(actual: Float32Array, expected: ArrayLike<number>): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i];
    if (!(Math.abs(actual[i] - e) <= Math.abs(e) * 2 ** -10 + 1e-6)) {
      throw new Error(`index ${i}: got ${actual[i]}, expected ${e}`);
    }
  }
}

describe("mergekit's example configs", () => {
  it("linear.yml: Σ w_i θ_i / Σ w_i in float16", async () => {
    const r = await merged("linear.yml");
    expect([...r.dtypes]).toEqual(["F16"]);
    const n = "model.layers.7.mlp.up_proj.weight";
    const a = weights.get("psmathur/orca_mini_v3_13b")!.get(n)!;
    const b = weights.get("WizardLM/WizardLM-13B-V1.2")!.get(n)!;
    const c = weights.get("garage-bAInd/Platypus2-13B")!.get(n)!;
    closeF16(
      await r.t(n),
      a.map((_, i) => (1.0 * a[i] + 0.3 * b[i] + 0.5 * c[i]) / 1.8),
    );
    expect(r.config.num_hidden_layers).toBe(40);
  });

  it("ties.yml: layer gradients of density and weight, a filtered weight; base where every weight is 0", async () => {
    const r = await merged("ties.yml");
    expect(r.names.length).toBe(parameterShapes(configOf("llama2-13b") as never).size);
    // layer 0: Platypus weight gradient [0, 0.3, 0.7, 1] gives 0 at t = 0, WizardMath's non-mlp weight is 0, so
    // only orca (density 1 at t = 0: nothing trimmed) contributes; normalize divides by its weight 1
    const n = "model.layers.0.self_attn.q_proj.weight";
    closeF16(await r.t(n), weights.get("psmathur/orca_mini_v3_13b")!.get(n)!);
  });

  it("bio-merge.yml: TIES with normalize false and int8_mask, float16", async () => {
    const r = await merged("bio-merge.yml");
    expect([...r.dtypes]).toEqual(["F16"]);
    expect(r.config.num_hidden_layers).toBe(32);
    const n = "model.norm.weight";
    const base = weights.get("mistralai/Mistral-7B-v0.1")!.get(n)!;
    const out = await r.t(n);
    // density 0.5 of 8 entries: each task vector keeps its 4 largest; the result moves off the base
    expect(out.some((x, i) => Math.abs(x - base[i]) > 1e-3)).toBe(true);
  });

  it("gradient-slerp.yml: slices of all 40 layers, t from 0 (base) at the first layer to 1 at the last", async () => {
    const r = await merged("gradient-slerp.yml");
    expect(r.config.num_hidden_layers).toBe(40);
    const orca = weights.get("psmathur/orca_mini_v3_13b")!;
    const platy = weights.get("garage-bAInd/Platypus2-13B")!;
    closeF16(
      await r.t("model.layers.0.self_attn.o_proj.weight"),
      orca.get("model.layers.0.self_attn.o_proj.weight")!,
    );
    closeF16(
      await r.t("model.layers.39.self_attn.o_proj.weight"),
      platy.get("model.layers.39.self_attn.o_proj.weight")!,
    );
    // the mlp gradient runs the other way
    closeF16(
      await r.t("model.layers.0.mlp.down_proj.weight"),
      platy.get("model.layers.0.mlp.down_proj.weight")!,
    );
    closeF16(
      await r.t("model.layers.39.mlp.down_proj.weight"),
      orca.get("model.layers.39.mlp.down_proj.weight")!,
    );
  });

  it("orcamini-platy-44layer.yml: passthrough stacks layers 0–23 of one model on layers 20–39 of another", async () => {
    const r = await merged("orcamini-platy-44layer.yml");
    expect(r.config.num_hidden_layers).toBe(44);
    const orca = weights.get("psmathur/orca_mini_v3_13b")!;
    const platy = weights.get("garage-bAInd/Platypus2-13B")!;
    closeF16(
      await r.t("model.layers.23.mlp.up_proj.weight"),
      orca.get("model.layers.23.mlp.up_proj.weight")!,
    );
    closeF16(
      await r.t("model.layers.24.mlp.up_proj.weight"),
      platy.get("model.layers.20.mlp.up_proj.weight")!,
    );
    closeF16(
      await r.t("model.layers.43.input_layernorm.weight"),
      platy.get("model.layers.39.input_layernorm.weight")!,
    );
    expect(r.names.filter((n) => n.includes(".layers.")).length).toBe(44 * 9);
    expect(r.names).toContain("model.embed_tokens.weight");
    expect(r.names).toContain("lm_head.weight");
  });

  it("arcee_fusion.yml: base and one model fused, bfloat16", async () => {
    const r = await merged("arcee_fusion.yml");
    expect([...r.dtypes]).toEqual(["BF16"]);
    const n = "model.layers.2.mlp.gate_proj.weight";
    const a = weights.get("model_a")!.get(n)!;
    const b = weights.get("model_b")!.get(n)!;
    const out = await r.t(n);
    // each entry is either the base's or the other model's (the fusion mask picks one), in bfloat16
    for (let i = 0; i < out.length; i++) {
      const okA = Math.abs(out[i] - a[i]) <= Math.abs(a[i]) * 2 ** -7 + 1e-6;
      const okB = Math.abs(out[i] - b[i]) <= Math.abs(b[i]) * 2 ** -7 + 1e-6;
      expect(okA || okB).toBe(true);
    }
  });
});
