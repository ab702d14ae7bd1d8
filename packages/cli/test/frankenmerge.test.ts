/**
 * A passthrough frankenmerge (mergekit `slices:`) of a tiny Qwen2 checkpoint, merged with `m2rl merge` and loaded
 * with `m2rl model logits`: its logits must equal those of an independent NumPy forward pass
 * (packages/mergers/test/reference/qwen2_forward.py, float64: RMSNorm, RoPE, grouped-query causal attention,
 * SwiGLU, tied or untied head) run on the written folder. The script is first checked against the inputs
 * themselves and against core's golden PyTorch logits, so a stacked model that loads but computes something else
 * cannot pass.
 * Under CI=true a missing python3 / NumPy fails instead of skipping.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CheckpointWriter } from "@m2rl/core/checkpoint";
import { Rng } from "@m2rl/core/rng";
import { NodeFileStore } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.ts";
import { captureOutput } from "./capture-output.ts";

const PY = "python3";
const FORWARD = resolve(import.meta.dirname, "../../mergers/test/reference/qwen2_forward.py");
const hasPython =
  existsSync(FORWARD) && spawnSync(PY, ["-c", "import numpy"], { encoding: "utf8" }).status === 0;
if (!hasPython)
  console.warn(`frankenmerge.test.ts skipped: needs ${PY} with numpy (apt-get install -y python3-numpy)`);

// Under CI a missing yardstick is a failure, not a skip: the logits check must not go silent.
it.runIf(process.env.CI === "true")("CI has python3 with NumPy for the reference forward pass", () => {
  expect(hasPython, `needs ${PY} with numpy and ${FORWARD}`).toBe(true);
});

const io = captureOutput();
const m2rl = (...args: string[]) => main(["node", "m2rl", ...args]);
const dir = mkdtempSync(join(tmpdir(), "m2rl-franken-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const IDS = [3, 17, 5, 29, 11, 0, 38, 21];

/** A random Qwen2 checkpoint (weights ~ N(0, 0.3²), norms around 1) with transformers' names. */
async function qwen2(
  name: string,
  layers: number,
  seed: number,
  tied: boolean,
  ropeTheta: number,
): Promise<string> {
  const [vocab, hidden, inter, heads, kv] = [40, 16, 24, 4, 2];
  const hd = hidden / heads;
  const spec: [string, number[], "w" | "norm"][] = [["model.embed_tokens.weight", [vocab, hidden], "w"]];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}`;
    spec.push(
      [`${p}.input_layernorm.weight`, [hidden], "norm"],
      [`${p}.self_attn.q_proj.weight`, [heads * hd, hidden], "w"],
      [`${p}.self_attn.q_proj.bias`, [heads * hd], "w"],
      [`${p}.self_attn.k_proj.weight`, [kv * hd, hidden], "w"],
      [`${p}.self_attn.k_proj.bias`, [kv * hd], "w"],
      [`${p}.self_attn.v_proj.weight`, [kv * hd, hidden], "w"],
      [`${p}.self_attn.v_proj.bias`, [kv * hd], "w"],
      [`${p}.self_attn.o_proj.weight`, [hidden, heads * hd], "w"],
      [`${p}.post_attention_layernorm.weight`, [hidden], "norm"],
      [`${p}.mlp.gate_proj.weight`, [inter, hidden], "w"],
      [`${p}.mlp.up_proj.weight`, [inter, hidden], "w"],
      [`${p}.mlp.down_proj.weight`, [hidden, inter], "w"],
    );
  }
  spec.push(["model.norm.weight", [hidden], "norm"]);
  if (!tied) spec.push(["lm_head.weight", [vocab, hidden], "w"]);
  const folder = join(dir, name);
  await mkdir(folder, { recursive: true });
  const writer = await CheckpointWriter.create(
    new NodeFileStore(folder),
    spec.map(([n, shape]) => ({ name: n, shape, dtype: "F32" })),
  );
  const rng = new Rng(seed);
  for (const [n, shape, kind] of spec) {
    const size = shape.reduce((a, b) => a * b, 1);
    await writer.write(
      n,
      Float32Array.from({ length: size }, () =>
        kind === "norm" ? 1 + 0.1 * rng.normal() : 0.3 * rng.normal(),
      ),
    );
  }
  await writer.finish();
  writeFileSync(
    join(folder, "config.json"),
    JSON.stringify({
      architectures: ["Qwen2ForCausalLM"],
      model_type: "qwen2",
      hidden_act: "silu",
      vocab_size: vocab,
      hidden_size: hidden,
      intermediate_size: inter,
      num_hidden_layers: layers,
      num_attention_heads: heads,
      num_key_value_heads: kv,
      max_position_embeddings: 64,
      rms_norm_eps: 1e-6,
      rope_theta: ropeTheta,
      tie_word_embeddings: tied,
      use_sliding_window: false,
      max_window_layers: layers,
      layer_types: Array.from({ length: layers }, () => "full_attention"),
      torch_dtype: "float32",
    }),
  );
  return folder;
}

/** `m2rl model logits --json`: the last position's logits. */
async function m2rlLogits(model: string): Promise<number[]> {
  io.out.length = 0;
  const code = await m2rl("model", "logits", "--model", model, "--ids", IDS.join(","), "--json");
  expect(code, io.err.join("")).toBe(0);
  const r = JSON.parse(io.out.join("").trim().split("\n").pop()!);
  expect(r.ids).toEqual(IDS);
  return r.logits;
}

/** The NumPy reference: the last position's logits. */
function referenceLogits(model: string): number[] {
  const r = spawnSync(PY, [FORWARD, model, IDS.join(",")], { encoding: "utf8", maxBuffer: 1 << 26 });
  expect(r.status, r.stderr).toBe(0);
  const all: number[][] = JSON.parse(r.stdout).logits;
  expect(all).toHaveLength(IDS.length);
  return all[IDS.length - 1];
}

/** Max |a − b| relative to max |b|. */
function relDiff(a: number[], b: number[]): number {
  expect(a).toHaveLength(b.length);
  const scale = Math.max(...b.map(Math.abs));
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]))) / scale;
}

describe.skipIf(!hasPython)("the NumPy forward pass", () => {
  // core's golden checkpoints carry float64 PyTorch (transformers) logits
  const golden = resolve(import.meta.dirname, "../../core/test/golden/fixtures");
  for (const name of ["qwen2_gqa_tied", "qwen2_mqa_untied", "llama_headdim_untied", "qwen3_qknorm_tied"]) {
    it(`matches transformers' logits on ${name}`, () => {
      const exp = JSON.parse(readFileSync(join(golden, name, "expected.json"), "utf8"));
      const seq: number[] = exp.sequences[0];
      const r = spawnSync(PY, [FORWARD, join(golden, name), seq.join(",")], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const got: number[][] = JSON.parse(r.stdout).logits;
      got.forEach((row, p) => {
        row.forEach((l, v) => {
          expect(Math.abs(l - exp.logits[0][p][v])).toBeLessThan(1e-9);
        });
      });
    });
  }
});

describe.skipIf(!hasPython)("passthrough frankenmerge: m2rl model logits = NumPy forward pass", () => {
  let untied: string;
  let tied: string;
  beforeAll(async () => {
    untied = await qwen2("untied", 3, 11, false, 10000);
    tied = await qwen2("tied", 3, 12, true, 1e6);
  });

  for (const name of ["untied", "tied"] as const) {
    it(`${name}: layers [0, 2) + [1, 3) of a 3-layer Qwen2 make a 4-layer model whose logits match`, async () => {
      const src = name === "untied" ? untied : tied;
      // the yardstick agrees with m2rl on the input itself
      const before = await m2rlLogits(src);
      expect(relDiff(before, referenceLogits(src))).toBeLessThan(1e-4);

      const cfg = join(dir, `${name}.yml`);
      writeFileSync(
        cfg,
        `slices:\n  - sources:\n      - model: ${src}\n        layer_range: [0, 2]\n  - sources:\n      - model: ${src}\n        layer_range: [1, 3]\nmerge_method: passthrough\ndtype: float32\n`,
      );
      const out = join(dir, `${name}-stacked`);
      expect(await m2rl("merge", cfg, "--out", out, "--no-progress"), io.err.join("")).toBe(0);
      const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8"));
      expect(config.num_hidden_layers).toBe(4);
      expect(config.layer_types).toHaveLength(4);
      expect(config.tie_word_embeddings).toBe(name === "tied");

      const got = await m2rlLogits(out);
      const ref = referenceLogits(out);
      expect(relDiff(got, ref)).toBeLessThan(1e-4);
      // the extra layer changes the function: the stacked model is not the input
      expect(relDiff(ref, before)).toBeGreaterThan(1e-2);
    });
  }
});
