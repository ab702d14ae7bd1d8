/**
 * Crash-safety check of `m2rl run` (issue: kill -9 at random points, re-run, same numbers). Runs the smoke preset
 * once uninterrupted, then again in another folder killing it with SIGKILL at seeded random moments and re-running
 * until it finishes; the per-arm eval scores, the report's score table and every arm's held-out curve points
 * (heldout.jsonl) must be identical.
 * (heldout.jsonl) must be identical, and the run folder must hold no temp file (`*.tmp-*`) afterwards.
 * Kills land at (0.1 + (max − 0.1)·u) × the reference run's wall time, u uniform; a small --max gives many early
 * kills (the e2e target runs 20 with --max 0.15: all 20 land before the run completes).
 * Usage: npm run kill-resume -w @m2rl/cli [-- --kills 4 --seed 1 --max 0.9]
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Rng } from "@m2rl/core";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const kills = opt("kills", 4);
const maxFraction = opt("max", 0.9);
const rng = new Rng(opt("seed", 1));
const bin = resolve(import.meta.dirname, "..", "bin", "m2rl.js");
const runArgs = [bin, "run", "--preset", "smoke"];

function scores(dir: string): Record<string, Record<string, number>> {
  const arms = join(dir, "runs", "builtin-smoke", "arms");
  const out: Record<string, Record<string, number>> = {};
  for (const a of readdirSync(arms).sort())
    out[a] = JSON.parse(readFileSync(join(arms, a, "arm.json"), "utf8")).scores;
  return out;
}
/** Every training arm's held-out points (heldout.jsonl): a resumed arm must neither lose nor repeat one. */
function heldOut(dir: string): Record<string, string> {
  const arms = join(dir, "runs", "builtin-smoke", "arms");
  const out: Record<string, string> = {};
  for (const a of readdirSync(arms).sort()) {
    const file = join(arms, a, "heldout.jsonl");
    if (existsSync(file)) out[a] = readFileSync(file, "utf8");
  }
  return out;
}
/** Every `*.tmp-*` entry under `dir`: temp files of killed writers that the runs did not sweep. */
function tempFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (/\.tmp-\d+/.test(e.name)) out.push(p.slice(dir.length + 1));
      else if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out;
}
const scoreTable = (dir: string) =>
  readFileSync(join(dir, "runs", "builtin-smoke", "report.md"), "utf8")
    .split("**Avg@K")[1]
    ?.split("\n\n")[1];

const a = mkdtempSync(join(tmpdir(), "m2rl-ref-"));
const b = mkdtempSync(join(tmpdir(), "m2rl-kill-"));
try {
  const t0 = Date.now();
  const ref = spawnSync(process.execPath, runArgs, { cwd: a, encoding: "utf8" });
  if (ref.status !== 0) throw new Error(`reference run failed:\n${ref.stderr}`);
  const full = (Date.now() - t0) / 1000;
  const killedAt: number[] = [];
  for (let k = 0; k < kills; k++) {
    const delay = (0.1 + (maxFraction - 0.1) * rng.next()) * full;
    const child = spawn(process.execPath, runArgs, { cwd: b, stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), delay * 1000);
    const code = await new Promise<number | null>((res) => child.on("exit", (c) => res(c)));
    clearTimeout(timer);
    if (code === 0) break;
    killedAt.push(Math.round(delay));
  }
  const last = spawnSync(process.execPath, runArgs, { cwd: b, encoding: "utf8" });
  if (last.status !== 0) throw new Error(`final run failed:\n${last.stderr}`);
  const sameHeldOut = JSON.stringify(heldOut(a)) === JSON.stringify(heldOut(b));
  if (Object.keys(heldOut(a)).length === 0) throw new Error("the smoke preset wrote no heldout.jsonl");
  const leftovers = tempFiles(join(b, "runs"));
  const same =
    JSON.stringify(scores(a)) === JSON.stringify(scores(b)) &&
    scoreTable(a) === scoreTable(b) &&
    sameHeldOut &&
    leftovers.length === 0;
  console.log(
    JSON.stringify({
      check: "kill-resume",
      referenceSeconds: full,
      killedAtSeconds: killedAt,
      identical: same,
      heldOutIdentical: sameHeldOut,
      tempFilesLeft: leftovers,
    }),
  );
  if (!same) {
    console.error(JSON.stringify({ reference: scores(a), resumed: scores(b) }, null, 1));
    console.log("kill-resume: 0 passed, 1 failed");
    process.exitCode = 1;
  } else console.log("kill-resume: 1 passed, 0 failed");
} finally {
  rmSync(a, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
}
