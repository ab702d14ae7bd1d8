/**
 * Digest of a run's scores: sha256 over every arm's eval rows (domain, task, sample, reward, status, response,
 * log-prob, judge verdicts), in a fixed order. Two runs with equal digests scored every sample bitwise alike.
 *
 * The numbers are bitwise reproducible on one machine only: the native kernels are compiled with -march=native
 * and OpenBLAS picks its kernels by CPU, so another CPU rounds differently. `golden/smoke-digests.json` therefore
 * keeps one digest per machine (CPU model + tensor backend); the e2e target compares the smoke run with the entry
 * of the machine it runs on and says when it has none.
 *
 *   node --import tsx test/smoke-digest.ts <run folder> --log <its console output> [--record]
 * prints the digest and this machine's key; `--record` records it as this machine's golden.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join, resolve } from "node:path";

export const GOLDEN_FILE = resolve(import.meta.dirname, "golden", "smoke-digests.json");

interface Row {
  domain: string;
  taskId: string;
  sampleIndex: number;
  reward: number;
  status?: string;
  response: string;
  logprob?: number;
  judge?: unknown;
}

/** Per arm folder, the sha256 of its eval rows; `all` over every arm. */
export function runDigest(runDir: string): { all: string; arms: Record<string, string> } {
  const armsDir = join(runDir, "arms");
  const arms: Record<string, string> = {};
  for (const arm of readdirSync(armsDir).sort()) {
    const file = join(armsDir, arm, "eval.json");
    if (!existsSync(file)) continue;
    const rows = (JSON.parse(readFileSync(file, "utf8")) as { rows: Row[] }).rows
      .map((r) => [r.domain, r.taskId, r.sampleIndex, r.reward, r.status, r.response, r.logprob, r.judge])
      .sort((a, b) => `${a[0]}\u0000${a[1]}\u0000${a[2]}`.localeCompare(`${b[0]}\u0000${b[1]}\u0000${b[2]}`));
    arms[arm] = createHash("sha256").update(JSON.stringify(rows)).digest("hex").slice(0, 16);
  }
  const all = createHash("sha256").update(JSON.stringify(arms)).digest("hex").slice(0, 16);
  return { all, arms };
}

/**
 * The machine key of a golden digest: CPU model, a hash of the CPU's instruction-set flags (what -march=native
 * compiles for; Linux's /proc/cpuinfo) and the tensor backend line the run printed.
 */
export function machineKey(backend: string): string {
  const info = existsSync("/proc/cpuinfo") ? readFileSync("/proc/cpuinfo", "utf8") : "";
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1]?.trim().split(/\s+/).sort().join(" ") ?? "";
  const isa = createHash("sha256").update(flags).digest("hex").slice(0, 8);
  return `${cpus()[0]?.model ?? "unknown CPU"} [isa ${isa}] | ${backend}`;
}

/** The tensor backend as `m2rl run` reports it (`[m2rl] tensor backend: …`), without its list of skipped ones. */
export function backendOf(output: string): string {
  return /tensor backend: (.*?)(?: \(skipped:.*)?$/m.exec(output)?.[1]?.trim() ?? "unknown backend";
}

export function readGolden(): Record<
  string,
  { all: string; arms: Record<string, string>; recorded: string }
> {
  return existsSync(GOLDEN_FILE) ? JSON.parse(readFileSync(GOLDEN_FILE, "utf8")) : {};
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const runDir = process.argv[2];
  if (!runDir) throw new Error("usage: smoke-digest.ts <run folder> [--record]");
  const digest = runDigest(runDir);
  // the run's console output (m2rl run ... > log), for its tensor backend line
  const logArg = process.argv.indexOf("--log");
  if (logArg < 0)
    throw new Error("give --log <file>: the run's console output (for its tensor backend line)");
  const backend = backendOf(readFileSync(process.argv[logArg + 1], "utf8"));
  const key = machineKey(backend);
  console.log(JSON.stringify({ key, ...digest }, null, 2));
  if (process.argv.includes("--record")) {
    const golden = readGolden();
    golden[key] = { ...digest, recorded: new Date().toISOString().slice(0, 10) };
    writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 2)}\n`);
    console.log(`recorded in ${GOLDEN_FILE}`);
  }
}
