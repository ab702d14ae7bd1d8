import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointWriter, type DType, type TensorSpec } from "@m2rl/core/checkpoint";
import { Rng } from "@m2rl/core/rng";
import { NodeFileStore } from "@m2rl/io-node";

export async function tempDir(
  prefix = "m2rl-merge-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface FixtureTensor {
  name: string;
  shape: number[];
  dtype?: DType;
  data: Float32Array | Uint8Array;
}

/** Writes a model folder (config.json + safetensors, sharded when maxShardBytes is small). */
export async function writeModel(
  dir: string,
  tensors: FixtureTensor[],
  opts: { maxShardBytes?: number; config?: Record<string, unknown>; tokenizer?: string } = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const store = new NodeFileStore(dir);
  const specs: TensorSpec[] = tensors.map((t) => ({ name: t.name, shape: t.shape, dtype: t.dtype ?? "F32" }));
  const w = await CheckpointWriter.create(store, specs, { maxShardBytes: opts.maxShardBytes });
  for (const t of tensors) await w.write(t.name, t.data);
  await w.finish();
  await writeFile(
    join(dir, "config.json"),
    JSON.stringify(opts.config ?? { model_type: "llama", torch_dtype: "float32" }),
  );
  if (opts.tokenizer) await writeFile(join(dir, "tokenizer.json"), opts.tokenizer);
  return dir;
}

export function randn(n: number, rng: Rng, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

/** A base and `count` fine-tunes: base + sparse noise, with a small Llama-like layout. */
export async function makeFamily(
  root: string,
  count: number,
  opts: { seed?: number; maxShardBytes?: number; dtype?: DType; big?: [number, number] } = {},
): Promise<{ base: string; models: string[]; tensors: FixtureTensor[][] }> {
  const rng = new Rng(opts.seed ?? 1);
  const layout: [string, number[]][] = [
    ["model.embed_tokens.weight", [16, 8]],
    ["model.layers.0.self_attn.q_proj.weight", [8, 8]],
    ["model.layers.0.mlp.up_proj.weight", [12, 8]],
    ["model.layers.1.self_attn.q_proj.weight", [8, 8]],
    ["model.layers.1.mlp.up_proj.weight", [12, 8]],
    ["model.norm.weight", [8]],
    ["lm_head.weight", [16, 8]],
  ];
  // a tensor large enough for the engine to split into chunks (tests set a small chunk size)
  if (opts.big) layout.splice(3, 0, ["model.layers.0.mlp.down_proj.weight", opts.big]);
  const baseT = layout.map(([name, shape]) => ({
    name,
    shape,
    dtype: opts.dtype,
    data: randn(
      shape.reduce((a, b) => a * b, 1),
      rng,
      0.5,
    ),
  }));
  const all: FixtureTensor[][] = [baseT];
  const base = await writeModel(join(root, "base"), baseT, {
    maxShardBytes: opts.maxShardBytes,
    tokenizer: '{"v":1}',
  });
  const models: string[] = [];
  for (let m = 0; m < count; m++) {
    const ts = baseT.map((t) => {
      const d = t.data as Float32Array;
      return { ...t, data: d.map((x) => (rng.next() < 0.4 ? x + rng.normal() * 0.05 : x)) };
    });
    all.push(ts);
    models.push(await writeModel(join(root, `ft${m}`), ts, { maxShardBytes: opts.maxShardBytes }));
  }
  return { base, models, tensors: all };
}
