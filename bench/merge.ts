/**
 * Merge benchmark, as a user waits for it: the whole `m2rl merge` process (the BUILT command,
 * packages/cli/bin/m2rl.js, which loads dist/: run `npm run build` first; a warning says when a source is newer)
 * beside the whole NumPy reference process (../shared/bench/merge_ref.py), on the same files, in one run, on one
 * machine. Neither side fsyncs (ours runs with --no-fsync; the reference never does), and both wall clocks include
 * start-up (interpreter, module loading, config parsing), pre-flight and the merge. Prints one JSON object.
 *
 *   npm run bench:merge -- [--mb 200] [--methods linear,task_arithmetic,ties] [--runs 3] [--no-check]
 *                          [--rss-methods all|none|a,b]  (peak RSS of every built-in method on LLM-shaped checkpoints)
 *                          [--budget 512MB] [--workers 0] [--durable]   (ours with fsyncs)
 *
 * Speed: base + 3 fine-tunes from make_checkpoints.py (F32, 512x512 tensors, --mb per model), generated once under
 * /tmp/m2rl-bench-merge-<mb>mb. Per method the two programs alternate --runs times (a `sync` before each run, so
 * one program's write-back does not land in the other's); reported: each side's median wall seconds, their ratio
 * (reference / ours: > 1 means M2RL is faster), every sample, peak RSS of both (/usr/bin/time) and the largest
 * difference between the two outputs.
 *
 * Memory: base + 3 BF16 checkpoints shaped like Qwen2.5-0.5B's vocabulary matrices (embed_tokens and lm_head
 * [151936, 896], 272 MB each in BF16; fine-tunes change ~10% of the entries; written with M2RL's own writer, as
 * make_checkpoints.py writes F32 512x512 tensors only), under /tmp/m2rl-bench-merge-embed. Every built-in method
 * merges them once at the memory budget (default 512 MB), with as many models as it takes (up to 3) and its required
 * parameters set (density 0.5 where it has one); reported: wall seconds, peak RSS of the process (/usr/bin/time),
 * and the engine's accounted peak and chunk size from its report.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";

const PY = "/usr/bin/python3";
const BENCH = resolve(import.meta.dirname, "../../shared/bench");
const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "packages", "cli", "bin", "m2rl.js");

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

function run(cmd: string, args: string[]): { out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
  return { out: r.stdout, err: r.stderr };
}

/** One whole process under /usr/bin/time: wall seconds (measured here, around the process) and peak RSS (MB). */
function timed(cmd: string, args: string[]): { seconds: number; rssMb: number; out: string } {
  const t0 = process.hrtime.bigint();
  const r = run("/usr/bin/time", ["-f", "M2RL_MAXRSS=%M", cmd, ...args]);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const m = /M2RL_MAXRSS=(\d+)/.exec(r.err);
  return { seconds, rssMb: m ? Number(m[1]) / 1024 : Number.NaN, out: r.out };
}

/**
 * Flushes dirty pages to disk before each timed run: neither program fsyncs its output, and the kernel's write-back
 * of one would otherwise land inside the next program's run.
 */
function settle(): void {
  spawnSync("sync");
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function lastJson(text: string): Record<string, unknown> {
  const lines = text.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

async function maxAbsDiff(a: string, b: string): Promise<number> {
  const { openCheckpoint } = await import("@m2rl/io-node");
  const x = await openCheckpoint(a);
  const y = await openCheckpoint(b);
  let max = 0;
  for (const n of x.names) {
    const p = await x.readFloat32(n);
    const q = await y.readFloat32(n);
    for (let i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
  }
  await x.close();
  await y.close();
  return max;
}

/** Newest modification time (ms) of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
      newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** The merge path's packages must be built: their dist is what `m2rl` runs. */
function checkBuilt(): void {
  for (const pkg of ["cli", "mergers", "core", "io-node", "kernels-native"]) {
    const dist = join(ROOT, "packages", pkg, "dist");
    if (!existsSync(dist)) throw new Error(`packages/${pkg}/dist is missing: run \`npm run build\` first`);
    const built = Math.min(...readdirSync(dist).map((f) => statSync(join(dist, f)).mtimeMs));
    if (newestSource(join(ROOT, "packages", pkg, "src")) > built)
      process.stderr.write(
        `warning: packages/${pkg}/src has files newer than dist/: run \`npm run build\` to measure them\n`,
      );
  }
}

/** Writes the embed checkpoints: BF16 [151936, 896] embed_tokens and lm_head plus a norm, base + 3 fine-tunes. */
async function makeEmbedCheckpoints(dir: string): Promise<void> {
  const { CheckpointWriter } = await import("@m2rl/core/checkpoint");
  const { NodeFileStore } = await import("@m2rl/io-node");
  const rows = 151936;
  const cols = 896;
  const specs = [
    { name: "model.embed_tokens.weight", shape: [rows, cols], dtype: "BF16" as const },
    { name: "model.norm.weight", shape: [cols], dtype: "BF16" as const },
    { name: "lm_head.weight", shape: [rows, cols], dtype: "BF16" as const },
  ];
  // bf16 bits of values ~ ±[2^-7, 2^-5): sign, exponent 120..122, 7 random mantissa bits; xorshift32 streams
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  const baseData = specs.map((t) => {
    const u = new Uint16Array(t.shape.reduce((a, b) => a * b, 1));
    for (let j = 0; j < u.length; j++) {
      const r = next();
      u[j] = ((r & 1) << 15) | ((120 + ((r >>> 1) % 3)) << 7) | ((r >>> 8) & 0x7f);
    }
    return u;
  });
  for (const [m, name] of ["base", "ft0", "ft1", "ft2"].entries()) {
    const folder = join(dir, name);
    await mkdir(folder, { recursive: true });
    const w = await CheckpointWriter.create(new NodeFileStore(folder), specs);
    for (const [k, t] of specs.entries()) {
      const u = baseData[k].slice();
      if (m > 0) for (let j = next() % 10; j < u.length; j += 1 + (next() % 19)) u[j] ^= 1 + (next() & 3);
      await w.write(t.name, new Uint8Array(u.buffer));
    }
    await w.finish();
    await writeFile(
      join(folder, "config.json"),
      JSON.stringify({ model_type: "custom", vocab_size: rows, hidden_size: cols, torch_dtype: "bfloat16" }),
    );
  }
}

/** A mergekit config that runs `method` on the embed checkpoints: its model count, base, required parameters. */
async function embedConfig(dir: string, method: string): Promise<string> {
  const { METHODS } = await import("@m2rl/mergers");
  const m = METHODS.get(method)!;
  const count = Math.max(m.minModels, Math.min(3, m.maxModels ?? 3));
  const params: string[] = [];
  for (const d of m.parameters) {
    if (d.name === "density") params.push("density: 0.5");
    else if (d.default === undefined)
      params.push(`${d.name}: ${d.type === "boolean" ? "false" : d.type === "string" ? d.enum?.[0] : 0.5}`);
  }
  return (
    `merge_method: ${method}\n${m.base === "none" ? "" : `base_model: ${join(dir, "base")}\n`}models:\n` +
    Array.from({ length: count }, (_, i) => `  - model: ${join(dir, `ft${i}`)}\n`).join("") +
    (params.length ? `parameters: {${params.join(", ")}}\n` : "")
  );
}

async function main(): Promise<void> {
  checkBuilt();
  const mb = Number(arg("mb") ?? 200);
  const runs = Number(arg("runs") ?? 3);
  const methods = (arg("methods") ?? "linear,task_arithmetic,ties").split(",").filter(Boolean);
  const workers = arg("workers");
  const budget = arg("budget") ?? "512MB";
  const common = [
    "--overwrite",
    "--no-progress",
    "--json",
    "--memory-budget",
    budget,
    ...(flag("durable") ? [] : ["--no-fsync"]),
    ...(workers !== undefined ? ["--workers", workers] : []),
  ];
  const dir = `/tmp/m2rl-bench-merge-${mb}mb`;
  const files = ["base", "ft0", "ft1", "ft2"].map((f) => join(dir, `${f}.safetensors`));
  if (!files.every(existsSync)) run(PY, [join(BENCH, "make_checkpoints.py"), dir, "3", String(mb), "0"]);
  const refArgs: Record<string, string[]> = {
    linear: ["--weights", "1,1,1"],
    task_arithmetic: ["--weights", "1,1,1", "--lambda", "1.0"],
    ties: ["--weights", "1,1,1", "--density", "0.2", "--lambda", "1.0"],
  };
  const speed: Record<string, unknown>[] = [];
  for (const method of methods) {
    const refOut = join(dir, `ref-${method}.safetensors`);
    const out = join(dir, `m2rl-out-${method}`);
    const params = method === "ties" ? ", density: 0.2" : "";
    const cfg = join(dir, `m2rl-${method}.yml`);
    await writeFile(
      cfg,
      `merge_method: ${method}\nout_dtype: float32\n${method === "linear" ? "" : `base_model: ${files[0]}\n`}models:\n${files
        .slice(1)
        .map((f) => `  - model: ${f}\n    parameters: {weight: 1${params}}`)
        .join("\n")}\n`,
    );
    const ref: ReturnType<typeof timed>[] = [];
    const ours: ReturnType<typeof timed>[] = [];
    for (let i = 0; i < runs; i++) {
      settle();
      ref.push(
        timed(PY, [join(BENCH, "merge_ref.py"), method, refOut, ...files, ...(refArgs[method] ?? [])]),
      );
      settle();
      ours.push(timed(process.execPath, [BIN, "merge", cfg, "--out", out, ...common]));
    }
    const report = lastJson(ours[0].out) as {
      kernels: string;
      workers: number;
      memory: Record<string, number>;
    };
    const diff = flag("no-check") ? undefined : await maxAbsDiff(refOut, out);
    const refS = median(ref.map((r) => r.seconds));
    const ourS = median(ours.map((r) => r.seconds));
    speed.push({
      method,
      ratio: Number((refS / ourS).toFixed(2)),
      ref_seconds: r3(refS),
      m2rl_seconds: r3(ourS),
      ref_samples: ref.map((r) => r3(r.seconds)),
      m2rl_samples: ours.map((r) => r3(r.seconds)),
      sample_ratios: ref.map((r, k) => Number((r.seconds / ours[k].seconds).toFixed(2))),
      ref_peak_rss_mb: Math.round(median(ref.map((r) => r.rssMb))),
      m2rl_peak_rss_mb: Math.round(median(ours.map((r) => r.rssMb))),
      m2rl_kernels: report.kernels,
      m2rl_workers: report.workers,
      max_abs_diff: diff,
    });
    await rm(out, { recursive: true, force: true });
    await rm(refOut, { force: true });
  }

  // peak RSS of every built-in method on LLM-shaped BF16 checkpoints, at the budget
  const rssArg = arg("rss-methods") ?? "all";
  const memory: Record<string, unknown>[] = [];
  if (rssArg !== "none") {
    const { BUILTIN_METHODS } = await import("@m2rl/mergers");
    const embedDir = "/tmp/m2rl-bench-merge-embed";
    if (!["base", "ft0", "ft1", "ft2"].every((f) => existsSync(join(embedDir, f, "model.safetensors")))) {
      await rm(embedDir, { recursive: true, force: true });
      await makeEmbedCheckpoints(embedDir);
    }
    const names = rssArg === "all" ? BUILTIN_METHODS.map((m) => m.name) : rssArg.split(",");
    for (const method of names) {
      const cfg = join(embedDir, `m2rl-${method}.yml`);
      await writeFile(cfg, await embedConfig(embedDir, method));
      const out = join(embedDir, "out");
      settle();
      const r = timed(process.execPath, [BIN, "merge", cfg, "--out", out, ...common]);
      const report = lastJson(r.out) as { memory: Record<string, number> };
      memory.push({
        method,
        seconds: r3(r.seconds),
        peak_rss_mb: Math.round(r.rssMb),
        accounted_peak_mb: Math.round(report.memory.accountedPeakBytes / 1e6),
        planned_peak_mb: Math.round(report.memory.plannedPeakBytes / 1e6),
        chunk_elements: report.memory.chunkElements,
      });
      await rm(out, { recursive: true, force: true });
    }
  }
  console.log(
    JSON.stringify(
      {
        what: "whole processes: `m2rl merge` (built) vs merge_ref.py (NumPy); ratio = reference s / M2RL s",
        speed_checkpoints: `${mb} MB per model (base + 3), F32 512x512 tensors`,
        memory_checkpoints: "base + 3 BF16: embed_tokens and lm_head [151936, 896] + norm, 545 MB per model",
        budget,
        runs,
        durable: flag("durable"),
        node: process.version,
        cpus: cpus().length,
        load_avg_at_end: loadavg().map((x) => Number(x.toFixed(2))),
        speed,
        memory,
      },
      null,
      2,
    ),
  );
}

await main();
