/**
 * Merge benchmark: M2RL's streaming merger beside ../shared/bench/merge_ref.py (NumPy) on the same checkpoints,
 * in one run, on one machine.
 *
 *   npm run bench:merge -- [--mb 200] [--big] [--methods linear,task_arithmetic,ties] [--workers 0,2] [--no-check]
 *                          [--no-measure]   (skip the per-tensor update density / sign agreement pass)
 *                          [--dist]         (run our merger from the built dist/ packages: npm run build first)
 *                          [--embed]        (LLM-shaped checkpoints with huge tensors, see below)
 *                          [--no-fsync]     (our merger without fsyncs, as the reference writes: durable: false)
 *
 * Checkpoints: base + 3 fine-tunes from make_checkpoints.py (512x512 F32 tensors), generated once under
 * /tmp/m2rl-bench-merge-<mb>mb and reused. --big uses 2000 MB per model. --embed writes (with M2RL's own writer)
 * base + 3 BF16 checkpoints shaped like Qwen2.5-0.5B's vocabulary matrices (embed_tokens and lm_head
 * [151936, 896], 272 MB each in BF16, 545 MB as float32; fine-tunes change 10% of the entries), where memory depends
 * on how the merger handles one huge tensor rather than on model size. Each method runs the reference first, then
 * ours in a child process, both after a `sync` and under /usr/bin/time (peak RSS of the process and its threads).
 * Each program times itself after its imports and argument / config parsing; GB/s = (bytes read + written) / s as
 * each counts them, ratio = reference seconds / our seconds. Prints one JSON object.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";

const PY = "/usr/bin/python3";
const BENCH = resolve(import.meta.dirname, "../../shared/bench");

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

async function child(): Promise<void> {
  // --child <config> <outDir> <workers>
  const i = process.argv.indexOf("--child");
  const [cfg, out, workers] = process.argv.slice(i + 1, i + 4);
  const { parseMergeConfig, planMerge, runMerge } = await import("@m2rl/mergers");
  // the config is parsed (and ajv compiles its schema: a fixed ~0.1 s on first use) before the clock starts, as the
  // reference parses its arguments before its clock; pre-flight (headers) and the merge are timed
  const config = parseMergeConfig(await readFile(cfg, "utf8"), cfg);
  const t0 = performance.now();
  const plan = await planMerge(config, { outDir: out, overwrite: true });
  const r = await runMerge(plan, {
    outDir: out,
    workers: Number(workers),
    overwrite: true,
    measure: !process.argv.includes("--no-measure"),
    durable: !process.argv.includes("--no-fsync"),
  });
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      seconds,
      bytes_read: r.inputBytes,
      bytes_written: r.outputBytes,
      gb_per_s: (r.inputBytes + r.outputBytes) / seconds / 1e9,
      workers: r.workers,
      kernels: r.kernels,
    }),
  );
}

function run(cmd: string, args: string[]): { out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${r.stderr}`);
  return { out: r.stdout, err: r.stderr };
}

/** Runs a command under /usr/bin/time -f %M to get its peak RSS (KiB). */
function runTimed(cmd: string, args: string[]): { out: string; rssMb: number } {
  const r = run("/usr/bin/time", ["-f", "M2RL_MAXRSS=%M", cmd, ...args]);
  const m = /M2RL_MAXRSS=(\d+)/.exec(r.err);
  return { out: r.out, rssMb: m ? Number(m[1]) / 1024 : Number.NaN };
}

/**
 * Flushes dirty pages to disk before each timed run: the reference does not fsync its output, and the kernel's
 * writeback of it would otherwise land inside the next program's run (measured: +1.7 s on a 2 GB merge).
 */
function settle(): void {
  spawnSync("sync");
}

function lastJson(text: string): Record<string, number> {
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

/** Writes the --embed checkpoints: BF16 [151936, 896] embed_tokens and lm_head plus a norm, base + 3 fine-tunes. */
async function makeEmbedCheckpoints(files: string[]): Promise<void> {
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
  for (const [m, file] of files.entries()) {
    const dirOf = file.slice(0, file.lastIndexOf("/"));
    const store = new NodeFileStore(dirOf);
    const w = await CheckpointWriter.create(store, specs);
    for (const [k, t] of specs.entries()) {
      const u = baseData[k].slice();
      if (m > 0) for (let j = next() % 10; j < u.length; j += 1 + (next() % 19)) u[j] ^= 1 + (next() & 3);
      await w.write(t.name, new Uint8Array(u.buffer));
    }
    await w.finish();
    // the writer names a single-file checkpoint model.safetensors: move it to the wanted name
    await rename(join(dirOf, "model.safetensors"), file);
  }
}

async function main(): Promise<void> {
  const embed = flag("embed");
  const mb = flag("big") ? 2000 : Number(arg("mb") ?? 200);
  const methods = (arg("methods") ?? "linear,task_arithmetic,ties").split(",");
  const workerList = (arg("workers") ?? "2").split(",").map(Number);
  const dir = embed ? "/tmp/m2rl-bench-merge-embed" : `/tmp/m2rl-bench-merge-${mb}mb`;
  const files = ["base", "ft0", "ft1", "ft2"].map((f) => join(dir, `${f}.safetensors`));
  if (!files.every(existsSync)) {
    if (embed) {
      await mkdir(dir, { recursive: true });
      await makeEmbedCheckpoints(files);
    } else run(PY, [join(BENCH, "make_checkpoints.py"), dir, "3", String(mb), "0"]);
  }
  const args: Record<string, string[]> = {
    linear: ["--weights", "1,1,1"],
    task_arithmetic: ["--weights", "1,1,1", "--lambda", "1.0"],
    ties: ["--weights", "1,1,1", "--density", "0.2", "--lambda", "1.0"],
  };
  const results: Record<string, unknown>[] = [];
  for (const method of methods) {
    const refOut = join(dir, `ref-${method}.safetensors`);
    settle();
    const ref = runTimed(PY, [
      join(BENCH, "merge_ref.py"),
      method,
      refOut,
      ...files,
      ...(args[method] ?? []),
    ]);
    const refJ = lastJson(ref.out);
    const params = method === "ties" ? ", density: 0.2" : "";
    const cfg = join(dir, `m2rl-${method}.yml`);
    await writeFile(
      cfg,
      `merge_method: ${method}\nout_dtype: float32\n${method === "linear" ? "" : `base_model: ${files[0]}\n`}models:\n${files
        .slice(1)
        .map((f) => `  - model: ${f}\n    parameters: {weight: 1${params}}`)
        .join("\n")}\n`,
    );
    for (const workers of workerList) {
      const out = join(dir, `m2rl-out-${method}`);
      // peak RSS from /usr/bin/time, as for the reference (a child's own getrusage maxRSS starts from the parent's)
      settle();
      const oursRun = runTimed(process.execPath, [
        // --dist: the built packages (dist/, as the m2rl bin runs them; build first), else the TS sources
        ...(flag("dist") ? [] : ["--conditions=m2rl-source"]),
        "--import",
        "tsx",
        import.meta.filename,
        "--child",
        cfg,
        out,
        String(workers),
        ...(flag("no-measure") ? ["--no-measure"] : []),
        ...(flag("no-fsync") ? ["--no-fsync"] : []),
      ]);
      const ours = { ...lastJson(oursRun.out), peak_rss_mb: oursRun.rssMb };
      const diff = flag("no-check") ? undefined : await maxAbsDiff(refOut, out);
      results.push({
        method,
        workers,
        ref_gb_per_s: refJ.gb_per_s,
        ref_seconds: refJ.seconds,
        ref_peak_rss_mb: Math.round(ref.rssMb),
        m2rl_gb_per_s: Number(ours.gb_per_s.toFixed(3)),
        m2rl_seconds: Number(ours.seconds.toFixed(3)),
        m2rl_peak_rss_mb: Math.round(ours.peak_rss_mb),
        m2rl_kernels: ours.kernels,
        // same input files, same output bytes (F32): the speed ratio is the ratio of wall times
        ratio: Number((refJ.seconds / ours.seconds).toFixed(2)),
        max_abs_diff: diff,
      });
      await rm(out, { recursive: true, force: true });
    }
    await rm(refOut, { force: true });
  }
  console.log(
    JSON.stringify(
      {
        checkpoints: embed
          ? "embed: BF16 [151936, 896] x 2 + norm, 545 MB per model"
          : `${mb} MB per model, F32 512x512`,
        models: 3,
        measure: !flag("no-measure"),
        durable: !flag("no-fsync"),
        code: flag("dist") ? "dist" : "src (tsx)",
        node: process.version,
        load_avg: loadavg(),
        results,
      },
      null,
      2,
    ),
  );
}

if (process.argv.includes("--child")) await child();
else await main();
