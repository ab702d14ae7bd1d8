/**
 * Streaming weight geometry on large checkpoints: peak RSS must stay bounded (target ≤ 500 MB for 3 arms of a
 * 2 GB model) because tensors are read in chunks and never held whole.
 *
 *   node --conditions=m2rl-source --import tsx bench/analysis.ts [--mb 2000] [--arms 3] [--dir /tmp/m2rl-bench-analysis]
 *
 * Checkpoints come from ../shared/bench/make_checkpoints.py (base + N fine-tuned, float32, 512×512 tensors),
 * generated once into --dir. The measurement runs in a child process so that its peak RSS (maxRSS) covers only the
 * analysis. Prints one JSON object.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const here = dirname(fileURLToPath(import.meta.url));

async function measure(dir: string, arms: number): Promise<void> {
  const { computeWeightGeometry, summarizeGeometry } = await import("@m2rl/analysis");
  const { openCheckpoint } = await import("@m2rl/io-node");
  const base = await openCheckpoint(join(dir, "base.safetensors"));
  const armCkpts = await Promise.all(
    Array.from({ length: arms }, (_, j) => openCheckpoint(join(dir, `ft${j}.safetensors`))),
  );
  const t0 = performance.now();
  let peakHeap = 0;
  const timer = setInterval(() => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers);
  }, 200);
  const g = await computeWeightGeometry(
    { name: "base", weights: base },
    armCkpts.map((c, j) => ({ name: `ft${j}`, weights: c })),
    {
      seed: 0,
      perTensor: false,
      projection: { dims: 256 },
      footprint: { threshold: { kind: "relative", value: 1e-3 } },
      subspace: { rank: 8, budgetElements: 1 << 22 },
    },
  );
  clearInterval(timer);
  const seconds = (performance.now() - t0) / 1000;
  const { pairs, arms: armStats } = summarizeGeometry(g);
  for (const c of [base, ...armCkpts]) await c.close();
  const bytesPerModel = base.totalBytes();
  process.stdout.write(
    `${JSON.stringify({
      bench: "analysis/weight-geometry",
      arms,
      parameters: g.parameters,
      bytesPerModel,
      bytesRead: bytesPerModel * (arms + 1),
      seconds: Number(seconds.toFixed(2)),
      mbPerSecond: Number(((bytesPerModel * (arms + 1)) / 1e6 / seconds).toFixed(1)),
      projection: g.projection?.kind,
      subspaceMatrices: g.subspace?.tensors.length,
      peakRssMB: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
      peakHeapPlusBuffersMB: Number((peakHeap / 1e6).toFixed(1)),
      footprintDensity: armStats.map((a) => Number((a.footprintDensity ?? 0).toFixed(4))),
      pairs: pairs.map((p) => ({
        a: p.a,
        b: p.b,
        cosine: p.cosine,
        projectedCosine: p.projectedCosine,
        jaccard: p.jaccard,
        randomJaccard: p.randomJaccard,
        signConflictRate: p.signConflictRate,
        subspaceOverlap: p.subspaceOverlap,
      })),
    })}\n`,
  );
}

async function main(): Promise<void> {
  const dir = resolve(arg("dir", "/tmp/m2rl-bench-analysis"));
  const arms = Number(arg("arms", "3"));
  if (args.includes("--measure")) return measure(dir, arms);
  const mb = arg("mb", "2000");
  if (!existsSync(join(dir, `ft${arms - 1}.safetensors`))) {
    const script = resolve(here, "../../shared/bench/make_checkpoints.py");
    const gen = spawnSync("/usr/bin/python3", [script, dir, String(arms), mb, "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (gen.status !== 0) throw new Error(`make_checkpoints.py failed (${gen.status})`);
  }
  const child = spawnSync(
    process.execPath,
    [
      "--conditions=m2rl-source",
      "--import",
      "tsx",
      fileURLToPath(import.meta.url),
      "--measure",
      "--dir",
      dir,
      "--arms",
      String(arms),
    ],
    { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" },
  );
  if (child.status !== 0) throw new Error(`measurement failed (${child.status})`);
  const result = JSON.parse(child.stdout.trim().split("\n").pop()!);
  result.targetRssMB = 500;
  result.withinTarget = result.peakRssMB <= 500;
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

await main();
