/**
 * Conformance of the math verifier with Hugging Face's Math-Verify on its own public test cases, and zero false
 * positives on the traps collected from its issue tracker and on a battery of look-alike pairs that differ.
 *
 * Each `math-verify-*.jsonl` line is one case of Math-Verify's test suite: `gold`, `prediction` and the outcome that
 * Math-Verify's test asserts (`expected`), with the source file, commit and test name. The prediction is graded with
 * the math domain's default options against the gold, exactly as `m2rl verify --domain math` does. Agreement is the
 * share of cases where our verdict equals `expected`; it is computed here from the data files and printed per file.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { resolveMathOptions } from "../../src/math/domain.ts";
import { verifyMath } from "../../src/math/verify.ts";

interface Case {
  gold: string;
  prediction: string;
  expected: boolean;
  source: Record<string, unknown>;
}

const DIR = dirname(fileURLToPath(import.meta.url));
const OPTIONS = resolveMathOptions();

function load(file: string): Case[] {
  return readFileSync(join(DIR, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Case);
}

function verdict(c: Case): boolean {
  return verifyMath(c.prediction, c.gold, OPTIONS).status === "correct";
}

interface Score {
  file: string;
  cases: number;
  agree: number;
  falsePositives: Case[];
  falseNegatives: Case[];
}

function score(file: string): Score {
  const s: Score = { file, cases: 0, agree: 0, falsePositives: [], falseNegatives: [] };
  for (const c of load(file)) {
    const got = verdict(c);
    s.cases++;
    if (got === c.expected) s.agree++;
    else if (got) s.falsePositives.push(c);
    else s.falseNegatives.push(c);
  }
  return s;
}

const pct = (a: number, n: number) => (n ? (100 * a) / n : 100);

/**
 * Files graded with Math-Verify's default extraction (LaTeX + expression), and the minimum agreement each must keep.
 * The two `-latex` / `-expr` files hold test_all.py's cases that Math-Verify runs with only one extraction target;
 * they are reported on their own and not counted in the overall agreement.
 */
const DEFAULT_FLOORS: Record<string, number> = {
  "math-verify-test_all.jsonl": 100,
  "math-verify-misc.jsonl": 88,
  "math-verify-numina.jsonl": 96,
  "math-verify-open-thoughts.jsonl": 100,
};
const RESTRICTED_FLOORS: Record<string, number> = {
  "math-verify-test_all-latex.jsonl": 93,
  "math-verify-test_all-expr.jsonl": 78,
};
const OVERALL_FLOOR = 97.9;

describe("Math-Verify conformance", () => {
  const files = readdirSync(DIR).filter((f) => f.startsWith("math-verify-") && f.endsWith(".jsonl"));

  it("has a floor for every data file", () => {
    expect(files.sort()).toEqual(Object.keys({ ...DEFAULT_FLOORS, ...RESTRICTED_FLOORS }).sort());
  });

  const scores = new Map(files.map((f) => [f, score(f)]));
  const lines: string[] = [];
  let agree = 0;
  let cases = 0;
  for (const [f, s] of scores) {
    const inOverall = f in DEFAULT_FLOORS;
    if (inOverall) {
      agree += s.agree;
      cases += s.cases;
    }
    lines.push(
      `${f.padEnd(36)} ${String(s.agree).padStart(3)}/${String(s.cases).padEnd(3)} ${pct(s.agree, s.cases).toFixed(1).padStart(5)}%` +
        `  (M2RL accepts where Math-Verify rejects: ${s.falsePositives.length}, rejects where it accepts: ${s.falseNegatives.length})` +
        (inOverall ? "" : "  [single extraction target; not in overall]"),
    );
  }
  lines.push(
    `${"overall (default extraction)".padEnd(36)} ${agree}/${cases} ${pct(agree, cases).toFixed(1)}%`,
  );
  console.log(lines.join("\n"));
  if (process.env.CONFORMANCE_DETAILS) {
    for (const s of scores.values())
      for (const c of [...s.falsePositives, ...s.falseNegatives])
        console.log(
          JSON.stringify({
            file: s.file,
            test: c.source.test,
            expected: c.expected,
            gold: c.gold.slice(0, 200),
            pred: c.prediction.slice(-200),
          }),
        );
  }

  for (const [f, floor] of Object.entries({ ...DEFAULT_FLOORS, ...RESTRICTED_FLOORS })) {
    it(`${f}: agreement ≥ ${floor}%`, () => {
      const s = scores.get(f)!;
      expect(s.cases).toBeGreaterThan(0);
      expect(pct(s.agree, s.cases)).toBeGreaterThanOrEqual(floor);
    });
  }
  it(`overall agreement ≥ ${OVERALL_FLOOR}%`, () => {
    expect(pct(agree, cases)).toBeGreaterThanOrEqual(OVERALL_FLOOR);
  });
});

describe("issue-tracker traps", () => {
  const s = score("traps.jsonl");
  console.log(
    `traps.jsonl: ${s.agree}/${s.cases} (${pct(s.agree, s.cases).toFixed(1)}%), false positives ${s.falsePositives.length}, false negatives ${s.falseNegatives.length}`,
  );
  it("accepts no wrong answer (zero false positives)", () => {
    expect(s.falsePositives.map((c) => `${c.gold} vs ${c.prediction}`)).toEqual([]);
  });
  it("has cases of both kinds", () => {
    expect(s.cases).toBeGreaterThanOrEqual(25);
    expect(load("traps.jsonl").some((c) => c.expected)).toBe(true);
    expect(load("traps.jsonl").some((c) => !c.expected)).toBe(true);
  });
});

/**
 * `false-positives.jsonl`: pairs that look alike but are different (factorials of different n, tiny powers against
 * 0, last-digit differences, open against closed interval ends, sign flips, ±, sets and matrices off by one element,
 * equations with another right side, decimals beyond their written precision, percentages, a response restating the
 * question but answering wrongly). None may be judged correct.
 */
describe("false-positive battery", () => {
  const cases = load("false-positives.jsonl");
  const accepted = cases.filter(verdict);
  console.log(`false-positives.jsonl: ${cases.length} pairs, judged correct: ${accepted.length}`);
  it("has at least 40 distinct pairs, all expected different", () => {
    expect(new Set(cases.map((c) => `${c.gold}\u0000${c.prediction}`)).size).toBe(cases.length);
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(cases.every((c) => !c.expected)).toBe(true);
  });
  it("judges none of them correct", () => {
    expect(accepted.map((c) => `${c.gold} vs ${c.prediction}`)).toEqual([]);
  });
});
