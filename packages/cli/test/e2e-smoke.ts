/**
 * End-to-end check of the built-in experiment (`m2rl run --preset smoke`), run by `npm test` through the nx target
 * `e2e` (not a vitest file: it takes minutes). Runs the built CLI like a user, then checks that the report exists
 * and has a score with its CI for every arm × domain, findings with verdicts, and that a second run does no work.
 * Behaviour: the run's score digest (every arm's eval rows) must equal the golden digest recorded on this machine
 * (test/golden/smoke-digests.json, one per CPU and tensor backend: see smoke-digest.ts); on a machine without one
 * the digest is printed, to record.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { backendOf, GOLDEN_FILE, machineKey, readGolden, runDigest } from "./smoke-digest.ts";

const bin = resolve(import.meta.dirname, "..", "bin", "m2rl.js");
const dir = mkdtempSync(join(tmpdir(), "m2rl-e2e-"));
const run = (): string => {
  const r = spawnSync(process.execPath, [bin, "run", "--preset", "smoke"], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) fail(`m2rl run exited with ${r.status}:\n${r.stderr}`);
  return `${r.stdout}${r.stderr}`;
};
const fail = (msg: string): never => {
  console.error(`e2e smoke: FAIL — ${msg}`);
  process.exit(1);
};

try {
  const t0 = Date.now();
  const output = run();
  const seconds = (Date.now() - t0) / 1000;
  const out = join(dir, "runs", "builtin-smoke");
  const md = readFileSync(join(out, "report.md"), "utf8");
  const html = readFileSync(join(out, "report.html"), "utf8");
  const config = readFileSync(join(out, "config.yaml"), "utf8");
  const arms =
    [...md.matchAll(/^- \*\*arms:\*\* (.*)$/gm)][0]?.[1]?.split(", ") ?? fail("report.md lists no arms");
  const domains = ["math", "code", "science", "ifeval"];
  const table = md.split("**Avg@K (%)")[1] ?? fail("report.md has no score table");
  for (const d of domains) {
    const row = table.split("\n").find((l) => l.startsWith(`| ${d} |`)) ?? fail(`no score row for ${d}`);
    const cells = row
      .split("|")
      .slice(2, -1)
      .map((c) => c.trim());
    if (cells.length !== arms.length) fail(`row ${d} has ${cells.length} cells for ${arms.length} arms`);
    // Each cell: a score with its 95% CI, e.g. "45.3 [40.1, 50.2]".
    for (const c of cells)
      if (!/^\d+\.\d \[\d+\.\d, \d+\.\d\]$/.test(c)) fail(`row ${d} has no score with a CI: '${c}'`);
  }
  // Self-judging (evaluation.selfJudge): every arm × domain judged in both modes, each accuracy with its CI.
  const judging =
    md.split("**Self-judging: outcome- vs process-based")[1] ?? fail("report.md has no self-judging table");
  const judged =
    judging
      .split("\n\n")[1]
      ?.split("\n")
      .filter((l) => /^\| [^-]/.test(l))
      .slice(1) ?? [];
  if (judged.length !== arms.length * domains.length)
    fail(
      `the self-judging table has ${judged.length} rows for ${arms.length} arms × ${domains.length} domains`,
    );
  for (const l of judged) {
    const [, , , , outcome, process] = l.split("|").map((c) => c.trim());
    for (const c of [outcome, process])
      if (!/^\d+\.\d \[\d+\.\d, \d+\.\d\]$/.test(c)) fail(`self-judging row without a CI: '${l}'`);
  }
  if (!html.includes("<svg")) fail("report.html has no SVG chart");
  const findings = md.split("## Findings")[1]?.split("\n## ")[0] ?? fail("report.md has no findings");
  const verdicts = [...findings.matchAll(/^\d\. .* — (\*\*(yes|no|inconclusive)\*\*|n\/a)\./gm)];
  if (verdicts.length < 4) fail(`report.md gives ${verdicts.length} finding verdicts (expected at least 4)`);
  if (!/_rule:_/.test(findings)) fail("findings do not name the rule that decided them");
  if (!config.includes("builtin-smoke")) fail("config.yaml is not the resolved experiment");
  // the scores, bitwise, against this machine's golden digest
  const digest = runDigest(out);
  const key = machineKey(backendOf(output));
  const golden = readGolden()[key];
  if (golden && golden.all !== digest.all) {
    const changed = Object.keys({ ...golden.arms, ...digest.arms }).filter(
      (a) => golden.arms[a] !== digest.arms[a],
    );
    fail(
      `the smoke's scores changed on this machine (${key}): arms ${changed.join(", ")} differ from the golden ` +
        `digest of ${golden.recorded} in ${GOLDEN_FILE}. If the change is intended, re-record it with ` +
        "test/smoke-digest.ts --record and say why in the commit.",
    );
  }
  const t1 = Date.now();
  const again = run();
  if (!/nothing to do/.test(again) || !/report: /.test(again)) fail(`the second run did work:\n${again}`);
  const rerun = (Date.now() - t1) / 1000;
  console.log(
    JSON.stringify({
      e2e: "smoke",
      seconds,
      rerunSeconds: rerun,
      arms: arms.length,
      domains: domains.length,
      digest: digest.all,
      golden: golden ? "equal" : `none for this machine (${key})`,
    }),
  );
  console.log(`e2e: 1 passed, 0 failed`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
