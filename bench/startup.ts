/**
 * Start-up benchmark of the `m2rl` command as a user runs it: the BUILT bin (packages/cli/bin/m2rl.js, which loads
 * dist/), each case in a fresh `node` process, against a bare `node -e 0`. Rebuild first
 * (`npx nx run @m2rl/cli:build`); a warning says when a source file is newer than the build. `m2rl merge (tiny)` is
 * a whole task-arithmetic merge of four two-weight checkpoints (written to a temp folder here): all of it start-up,
 * config parsing and pre-flight, what `m2rl merge` costs before its first weight.
 *
 *   npm run bench:startup -- [--runs 7]
 *
 * The cases run round-robin (one warm-up round not counted), so a change in machine load spreads over all of them.
 * Prints one JSON object: per case the median and min wall milliseconds and the median's ratio to `node -e 0`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CheckpointWriter } from "@m2rl/core/checkpoint";
import { NodeFileStore } from "@m2rl/io-node";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "packages", "cli");
const bin = join(cli, "bin", "m2rl.js");

const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg >= 0 ? Number(process.argv[runsArg + 1]) : 7;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs wants a positive integer");

/** Start-up goals: the median of a case at most this many times `node -e 0`. */
const GOALS: Record<string, number> = { "m2rl --version": 4, "m2rl validate": 8 };

/** base + 3 checkpoints of one two-weight tensor, and a task_arithmetic config over them, in a temp folder. */
async function tinyMerge(): Promise<{ dir: string; config: string }> {
  const dir = mkdtempSync(join(tmpdir(), "m2rl-startup-"));
  for (const [name, w] of [
    ["base", [1, 1]],
    ["a", [2, 1]],
    ["b", [1, 3]],
    ["c", [1, 4]],
  ] as const) {
    mkdirSync(join(dir, name));
    const store = new NodeFileStore(join(dir, name), { durable: false });
    const writer = await CheckpointWriter.create(store, [{ name: "w", dtype: "F32", shape: [2] }]);
    await writer.write("w", new Float32Array(w));
    await writer.finish();
  }
  const config = join(dir, "merge.yml");
  writeFileSync(
    config,
    `merge_method: task_arithmetic\nbase_model: ${join(dir, "base")}\nmodels:\n` +
      ["a", "b", "c"].map((m) => `  - model: ${join(dir, m)}\n    parameters: {weight: 1}\n`).join(""),
  );
  return { dir, config };
}
const tiny = await tinyMerge();
process.on("exit", () => rmSync(tiny.dir, { recursive: true, force: true }));

const CASES: { name: string; args: string[] }[] = [
  { name: "node -e 0", args: ["-e", "0"] },
  { name: "m2rl --version", args: [bin, "--version"] },
  { name: "m2rl --help", args: [bin, "--help"] },
  { name: "m2rl validate", args: [bin, "validate", join(cli, "experiments", "default.yaml")] },
  {
    name: "m2rl merge (tiny)",
    args: [bin, "merge", tiny.config, "--out", join(tiny.dir, "out"), "--overwrite", "--no-fsync", "--json"],
  },
];

/** Newest modification time (ms) of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let built: number;
try {
  built = statSync(join(cli, "dist", "main.js")).mtimeMs;
} catch {
  throw new Error("packages/cli/dist/main.js is missing: run `npx nx run @m2rl/cli:build` first");
}
if (newestSource(join(cli, "src")) > built)
  process.stderr.write(
    "warning: packages/cli/src has files newer than dist/: run `npx nx run @m2rl/cli:build` to measure them\n",
  );

/** Wall milliseconds of one run of a case; throws when it fails (a benchmark of an error path is no benchmark). */
function timeOnce(c: (typeof CASES)[number]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, c.args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0)
    throw new Error(`${c.name} exited with ${r.status ?? r.signal}: ${String(r.stderr).slice(0, 2000)}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

const loadavgAtStart = loadavg();
for (const c of CASES) timeOnce(c); // warm-up: file-system cache, compile caches
const times = new Map(CASES.map((c) => [c.name, [] as number[]]));
for (let i = 0; i < RUNS; i++) for (const c of CASES) times.get(c.name)!.push(timeOnce(c));

const bare = median(times.get("node -e 0")!);
const cases: Record<string, unknown> = {};
const goals: Record<string, unknown> = {};
for (const c of CASES) {
  const ms = times.get(c.name)!;
  const ratio = median(ms) / bare;
  cases[c.name] = {
    command: ["node", ...c.args.map((a) => a.replace(root, ""))].join(" "),
    medianMs: round(median(ms)),
    minMs: round(Math.min(...ms)),
    ratioToNode: round(ratio, 2),
  };
  const goal = GOALS[c.name];
  if (goal !== undefined) goals[c.name] = { atMost: goal, ratioToNode: round(ratio, 2), met: ratio <= goal };
}

console.log(
  JSON.stringify(
    {
      machine: {
        cpus: availableParallelism(),
        model: cpus()[0]?.model,
        node: process.version,
        loadavgAtStart,
        loadavgAtEnd: loadavg(),
      },
      runs: RUNS,
      cases,
      goals,
    },
    null,
    2,
  ),
);
