/**
 * Arms trained elsewhere (verl, OpenRLHF) and brought back as Hugging Face folders: `single: { checkpoints: {d: dir} }`,
 * `single:<d>: { checkpoint: dir }`, `mix: { checkpoint: dir }`. Such an arm is produced by linking the folder in as
 * its checkpoint (as the `base` arm links `policy.path`), so that merges, analyses and evaluation read it like an
 * arm trained here. Its architecture must be the policy's: config.json fields and every tensor's name and shape
 * from the safetensors headers (no weight is read to check).
 */
import { mkdir, readdir, readFile, stat, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ArmConfig, PathSegment, ResolvedConfig } from "@m2rl/core";
import { Checkpoint, parameterShapes, parseConfig } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import type { ExecutorContext } from "../executors/context.ts";
import type { ArmJob, ArmOutput } from "../runner.ts";

/** The imported checkpoint folder of an arm, as written in the experiment (relative to its file), if any. */
export function importedCheckpoint(arm: ArmConfig): string | undefined {
  return (arm.kind === "single" || arm.kind === "mix") && arm.checkpoint !== undefined
    ? arm.checkpoint
    : undefined;
}

/** Where an arm's `checkpoint` is written in the file: `arms.single.checkpoints.<d>` or `arms.<id>.checkpoint`. */
export function checkpointKeyPath(arm: ArmConfig): PathSegment[] {
  return arm.kind === "single" && arm.source.length === 2 && arm.source[1] === "single"
    ? [...arm.source, "checkpoints", arm.domain]
    : [...arm.source, "checkpoint"];
}

/** Links the imported folder in as the arm's checkpoint: nothing is trained or copied. */
export async function produceImported(ctx: ExecutorContext, job: ArmJob): Promise<ArmOutput> {
  const arm = job.node.resolved;
  if (arm.role !== "imported") throw new Error(`arm '${job.node.id}' imports no checkpoint`);
  const dir = arm.checkpoint;
  await mkdir(job.store.armDir(job.node.id), { recursive: true });
  await symlink(resolve(ctx.baseDir, dir), job.store.checkpointDir(job.node.id), "dir");
  ctx.log?.(`${job.node.id}: imported ${dir} (trained elsewhere; nothing trained here)`);
  return { tokensGenerated: 0, tokensTrained: 0, flops: 0 };
}

/** Config fields that fix the layout and the meaning of the weights; they must equal the policy's. */
const ARCHITECTURE_FIELDS = [
  "model_type",
  "vocab_size",
  "hidden_size",
  "intermediate_size",
  "num_hidden_layers",
  "num_attention_heads",
  "num_key_value_heads",
  "head_dim",
  "tie_word_embeddings",
  "attention_bias",
  "qk_norm",
  "rope_theta",
] as const satisfies readonly (keyof ResolvedConfig)[];

/** Tensors a checkpoint may carry that are not parameters. */
const BUFFER = /\.rotary_emb\.inv_freq$/;

/**
 * Why the folder `dir` cannot be an arm trained from the policy in `policyDir`, or undefined: its config.json's
 * architecture (`architectures`, `model_type` and the size fields) differs from the policy's, or a tensor of the
 * policy's layout is missing, has another shape or a non-float dtype, or one is extra (headers only).
 */
export async function architectureMismatch(dir: string, policyDir: string): Promise<string | undefined> {
  const read = async (d: string) => {
    const file = join(d, "config.json");
    const raw = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    return { raw, config: parseConfig(raw, file) };
  };
  let mine: Awaited<ReturnType<typeof read>>;
  let policy: Awaited<ReturnType<typeof read>>;
  try {
    mine = await read(dir);
  } catch (e) {
    return `config.json: ${(e as Error).message}`;
  }
  try {
    policy = await read(policyDir);
  } catch {
    return undefined; // the policy folder's own problem is reported at policy.path
  }
  const arch = (r: Record<string, unknown>) =>
    Array.isArray(r.architectures) ? r.architectures.map(String).join(", ") : undefined;
  if (arch(mine.raw) !== undefined && arch(policy.raw) !== undefined && arch(mine.raw) !== arch(policy.raw))
    return `config.json architectures is [${arch(mine.raw)}], the policy's (policy.path) is [${arch(policy.raw)}]`;
  const fields: string[] = [];
  for (const f of ARCHITECTURE_FIELDS) {
    const a = mine.config[f];
    const b = policy.config[f];
    if (JSON.stringify(a) !== JSON.stringify(b))
      fields.push(`${f} ${JSON.stringify(a)} (policy: ${JSON.stringify(b)})`);
  }
  if (fields.length)
    return `config.json does not describe the policy's architecture (policy.path): ${fields.join(", ")}`;
  const expected = parameterShapes(policy.config);
  let ckpt: Checkpoint;
  try {
    ckpt = await Checkpoint.open(new NodeFileStore(dir));
  } catch (e) {
    return (e as Error).message;
  }
  try {
    const wrong: string[] = [];
    for (const [name, shape] of expected) {
      if (!ckpt.has(name)) {
        wrong.push(`${name} missing`);
        continue;
      }
      const t = ckpt.tensor(name);
      if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i]))
        wrong.push(`${name} has shape [${t.shape}], the policy's is [${shape}] (${t.file})`);
      else if (!["F32", "F16", "BF16", "F64"].includes(t.dtype))
        wrong.push(`${name} has dtype ${t.dtype}, not a float type (${t.file})`);
    }
    for (const name of ckpt.names)
      if (
        !expected.has(name) &&
        !BUFFER.test(name) &&
        !(name === "lm_head.weight" && policy.config.tie_word_embeddings)
      )
        wrong.push(`${name} is not in the policy's layout`);
    if (wrong.length)
      return `its tensors do not match the policy's (safetensors headers): ${wrong.slice(0, 4).join("; ")}${wrong.length > 4 ? `; and ${wrong.length - 4} more` : ""}`;
    return undefined;
  } finally {
    await ckpt.close();
  }
}

/** Number of scalars in a checkpoint folder, from its safetensors headers. */
export async function checkpointParameters(dir: string): Promise<number> {
  const ckpt = await Checkpoint.open(new NodeFileStore(dir));
  try {
    let n = 0;
    for (const t of ckpt.tensors()) if (!BUFFER.test(t.name)) n += t.shape.reduce((a, b) => a * b, 1);
    return n;
  } finally {
    await ckpt.close();
  }
}

/**
 * What identifies an imported file or folder for the arm cache: each file's name, size and modification time (a
 * re-converted checkpoint or a new dump redoes the arm and everything built from it). Weights are not hashed:
 * a checkpoint has gigabytes of them.
 */
export async function fingerprintPath(path: string): Promise<unknown> {
  try {
    const s = await stat(path);
    if (!s.isDirectory()) return { size: s.size, mtime: s.mtimeMs };
    const names = (await readdir(path)).sort();
    const files: Record<string, unknown> = {};
    for (const n of names) {
      const f = await stat(join(path, n)).catch(() => undefined);
      if (f?.isFile()) files[n] = { size: f.size, mtime: f.mtimeMs };
    }
    return files;
  } catch {
    return null;
  }
}

/**
 * The cache identity of an arm's imported inputs (its checkpoint folder, its generation files), or undefined for an
 * arm that imports nothing (whose hash is then exactly as before imports existed).
 */
export async function importedFingerprint(arm: ArmConfig, baseDir: string): Promise<unknown> {
  const cp = importedCheckpoint(arm);
  if (cp === undefined && arm.generations === undefined) return undefined;
  const out: Record<string, unknown> = {};
  if (cp !== undefined) out.checkpoint = await fingerprintPath(resolve(baseDir, cp));
  if (arm.generations)
    out.generations = await Promise.all(
      arm.generations.files.map((f) => fingerprintPath(resolve(baseDir, f))),
    );
  return out;
}
