/**
 * Seeded synthetic code tasks sized for tiny character-level policies: a short prompt names a stdin→stdout
 * transformation (`py: n*3` = "read an integer n, print n*3"), the reference is a one- or two-line program, and
 * each task carries a few stdin/stdout tests with random inputs (so that printing a constant does not pass).
 * Difficulty levels (a task of level L is drawn only when L ≤ `difficulty`):
 * 1 print a constant · 2 one integer with one operator · 3 two integers · 4 a list of integers · 5 loops ·
 * 6 constant folding (`py: n+47+8` → `print(int(input())+55)`: a program composed from seen parts, with the math
 * domain's addition inside; 1,620 prompts).
 * `levels` picks levels explicitly (e.g. [6]); `difficulty` L means levels 1..L. Give one of the two.
 * Noisy teacher (`teacherErrorRate`): the SFT reference is a plausible wrong program (a constant off by one, the
 * other operator, a loop bound off by one); the graded tests are unchanged.
 */
import type { Split, Task } from "@m2rl/core";
import {
  defaultsOf,
  group,
  int,
  type OptionsInput,
  type OptionsOf,
  optional,
  schemaOf,
  subset,
  value,
  withDefaults,
} from "@m2rl/core/plugin";
import { Rng } from "@m2rl/core/rng";
import { EVAL_FRACTION, teacherErrorRate } from "../common/schema.ts";
import { applyTemplate, sampleSplit, syntheticId, teacherSlips } from "../common/synthetic.ts";
import type { Language } from "../sandbox/languages.ts";
import type { StdioGroundTruth, StdioTest } from "./types.ts";

/** The generator's options (the code domain's `synthetic` block), declared once. */
export const CODE_SYNTHETIC_OPTIONS = group(
  "Synthetic stdin/stdout programs (used for a split without a data file); give `difficulty` or `levels`, not both.",
  {
    difficulty: int("Highest task level: levels 1..difficulty are drawn (default 3).", 3, 1, 6),
    levels: optional(
      value<number[]>(
        { type: "array", minItems: 1, uniqueItems: true, items: { type: "integer", minimum: 1, maximum: 6 } },
        "The levels to draw, e.g. [6], instead of 1..difficulty.",
        [],
      ),
    ),
    teacherErrorRate: teacherErrorRate("plausible wrong programs (tests unchanged)"),
    languages: subset(["python", "javascript"], "Languages of the programs (default [python]).", ["python"]),
    testsPerTask: int("stdin/stdout tests per task, each with random inputs (default 3).", 3, 1, 20),
    evalFraction: EVAL_FRACTION,
  },
  { not: { required: ["difficulty", "levels"] } },
);

export type CodeSyntheticOptions = OptionsOf<typeof CODE_SYNTHETIC_OPTIONS>;

export const DEFAULT_CODE_SYNTHETIC: CodeSyntheticOptions = defaultsOf(CODE_SYNTHETIC_OPTIONS);

export const CODE_SYNTHETIC_SCHEMA = schemaOf(CODE_SYNTHETIC_OPTIONS);

/** One task family: its prompt key, reference programs, and how to make a test. */
interface Family {
  level: number;
  /** Prompt text after the language tag. */
  key: string;
  py: string;
  js: string;
  /** The noisy teacher's plausible wrong program. */
  slip: { py: string; js: string };
  test(rng: Rng): StdioTest;
}

const JS_IN = 'require("fs").readFileSync(0,"utf8")';
const WORDS = [
  "hi",
  "ok",
  "yes",
  "no",
  "cat",
  "dog",
  "sun",
  "abc",
  "code",
  "rl",
  "mix",
  "merge",
  "tiny",
  "zero",
];
const ints = (rng: Rng, n: number, lo: number, hi: number) =>
  Array.from({ length: n }, () => lo + rng.int(hi - lo + 1));

function families(): Family[] {
  const f: Family[] = [];
  for (let k = 0; k <= 99; k++)
    f.push({
      level: 1,
      key: `print ${k}`,
      py: `print(${k})`,
      js: `console.log(${k})`,
      slip: { py: `print(${k + 1})`, js: `console.log(${k + 1})` },
      test: () => ({ input: "", output: `${k}\n` }),
    });
  for (const w of WORDS)
    f.push({
      level: 1,
      key: `say ${w}`,
      py: `print("${w}")`,
      js: `console.log("${w}")`,
      slip: { py: `print("${w.toUpperCase()}")`, js: `console.log("${w.toUpperCase()}")` },
      test: () => ({ input: "", output: `${w}\n` }),
    });
  const unary: [string, (n: number, k: number) => number, string, string][] = [
    ["+", (n, k) => n + k, "int(input())+K", "+JS+K"],
    ["-", (n, k) => n - k, "int(input())-K", "JS-K"],
    ["*", (n, k) => n * k, "int(input())*K", "JS*K"],
    ["%", (n, k) => n % k, "int(input())%K", "JS%K"],
    ["//", (n, k) => Math.floor(n / k), "int(input())//K", "Math.floor(JS/K)"],
  ];
  for (const [op, fn, py, js] of unary)
    for (let k = 2; k <= 9; k++)
      f.push({
        level: 2,
        key: `n${op}${k}`,
        py: `print(${py.replace("K", String(k))})`,
        js: `console.log(${js.replace("JS", JS_IN).replace("K", String(k))})`,
        slip: {
          py: `print(${py.replace("K", String(k + 1))})`,
          js: `console.log(${js.replace("JS", JS_IN).replace("K", String(k + 1))})`,
        },
        test: (rng) => {
          const n = rng.int(100);
          return { input: `${n}\n`, output: `${fn(n, k)}\n` };
        },
      });
  const binary: [string, (a: number, b: number) => number, string, string][] = [
    ["a+b", (a, b) => a + b, "a+b", "a+b"],
    ["a-b", (a, b) => a - b, "a-b", "a-b"],
    ["a*b", (a, b) => a * b, "a*b", "a*b"],
    ["max", (a, b) => Math.max(a, b), "max(a,b)", "Math.max(a,b)"],
    ["min", (a, b) => Math.min(a, b), "min(a,b)", "Math.min(a,b)"],
  ];
  for (const [i, [key, fn, py, js]] of binary.entries()) {
    // The teacher's slip: the neighbouring operation (a+b → a-b, …, min → a+b).
    const [, , slipPy, slipJs] = binary[(i + 1) % binary.length]!;
    f.push({
      level: 3,
      key,
      py: `a,b=map(int,input().split())\nprint(${py})`,
      js: `const[a,b]=${JS_IN}.trim().split(" ").map(Number)\nconsole.log(${js})`,
      slip: {
        py: `a,b=map(int,input().split())\nprint(${slipPy})`,
        js: `const[a,b]=${JS_IN}.trim().split(" ").map(Number)\nconsole.log(${slipJs})`,
      },
      test: (rng) => {
        const [a, b] = ints(rng, 2, 0, 99) as [number, number];
        return { input: `${a} ${b}\n`, output: `${fn(a, b)}\n` };
      },
    });
  }
  const lists: [string, (xs: number[]) => string, string, string][] = [
    [
      "sum",
      (xs) => String(xs.reduce((s, x) => s + x, 0)),
      "print(sum(X))",
      "console.log(X.reduce((s,x)=>s+x,0))",
    ],
    ["max", (xs) => String(Math.max(...xs)), "print(max(X))", "console.log(Math.max(...X))"],
    ["min", (xs) => String(Math.min(...xs)), "print(min(X))", "console.log(Math.min(...X))"],
    ["len", (xs) => String(xs.length), "print(len(X))", "console.log(X.length)"],
    [
      "sort",
      (xs) => [...xs].sort((a, b) => a - b).join(" "),
      "print(*sorted(X))",
      'console.log(X.sort((a,b)=>a-b).join(" "))',
    ],
    ["rev", (xs) => [...xs].reverse().join(" "), "print(*X[::-1])", 'console.log(X.reverse().join(" "))'],
  ];
  for (const [i, [key, fn, py, js]] of lists.entries()) {
    // The teacher's slip: the neighbouring list operation (sum → max, …, rev → sum).
    const [, , slipPy, slipJs] = lists[(i + 1) % lists.length]!;
    f.push({
      level: 4,
      key: `list ${key}`,
      py: py.replace("X", "list(map(int,input().split()))"),
      js: js.replace("X", `${JS_IN}.trim().split(" ").map(Number)`),
      slip: {
        py: slipPy.replace("X", "list(map(int,input().split()))"),
        js: slipJs.replace("X", `${JS_IN}.trim().split(" ").map(Number)`),
      },
      test: (rng) => {
        const xs = ints(rng, 1 + rng.int(6), 0, 50);
        return { input: `${xs.join(" ")}\n`, output: `${fn(xs)}\n` };
      },
    });
  }
  f.push(
    {
      level: 5,
      key: "1..n",
      py: "for i in range(1,int(input())+1):print(i)",
      js: `for(let i=1;i<=+${JS_IN};i++)console.log(i)`,
      slip: {
        py: "for i in range(1,int(input())):print(i)",
        js: `for(let i=1;i<+${JS_IN};i++)console.log(i)`,
      },
      test: (rng) => {
        const n = 1 + rng.int(8);
        return { input: `${n}\n`, output: `${Array.from({ length: n }, (_, i) => i + 1).join("\n")}\n` };
      },
    },
    {
      level: 5,
      key: "n!",
      py: "import math\nprint(math.factorial(int(input())))",
      js: `let p=1;for(let i=2;i<=+${JS_IN};i++)p*=i\nconsole.log(p)`,
      slip: {
        py: "import math\nprint(math.factorial(int(input())+1))",
        js: `let p=1;for(let i=2;i<=+${JS_IN}+1;i++)p*=i\nconsole.log(p)`,
      },
      test: (rng) => {
        const n = rng.int(11);
        let p = 1;
        for (let i = 2; i <= n; i++) p *= i;
        return { input: `${n}\n`, output: `${p}\n` };
      },
    },
    {
      level: 5,
      key: "n*'#'",
      py: 'print("#"*int(input()))',
      js: `console.log("#".repeat(+${JS_IN}))`,
      slip: { py: 'print("#"*(int(input())+1))', js: `console.log("#".repeat(+${JS_IN}+1))` },
      test: (rng) => {
        const n = 1 + rng.int(9);
        return { input: `${n}\n`, output: `${"#".repeat(n)}\n` };
      },
    },
  );
  // Level 6: constant folding, n+a+b → print(int(input())+(a+b)), n-a-b → print(int(input())-(a+b)).
  for (const op of ["+", "-"] as const)
    for (let a = 10; a <= 99; a++)
      for (let b = 1; b <= 9; b++) {
        const program = (c: number) => ({
          py: `print(int(input())${op}${c})`,
          js: `console.log(+${JS_IN}${op}${c})`,
        });
        f.push({
          level: 6,
          key: `n${op}${a}${op}${b}`,
          ...program(a + b),
          slip: program(a + b + 1),
          test: (rng) => {
            const n = rng.int(100);
            return { input: `${n}\n`, output: `${op === "+" ? n + a + b : n - a - b}\n` };
          },
        });
      }
  return f;
}

const FAMILIES = families();
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)] as T;
const TAG: Record<Language, string> = { python: "py", javascript: "js" };

interface Drawn {
  family: Family;
  language: Language;
}

/** Tasks of one split: distinct prompts, disjoint between train and eval whatever the seed. */
export function codeSyntheticTasks(
  domain: string,
  split: Split,
  seed: number,
  count: number,
  given: OptionsInput<typeof CODE_SYNTHETIC_OPTIONS> = {},
  template?: string,
): Task<StdioGroundTruth>[] {
  const options = withDefaults(CODE_SYNTHETIC_OPTIONS, given);
  // Level first (uniform), then a family of that level: level 1 has many more prompts than the others.
  const chosen = options.levels ?? Array.from({ length: options.difficulty }, (_, i) => i + 1);
  const levels: Family[][] = chosen.map((l) => FAMILIES.filter((f) => f.level === l));
  const key = (d: Drawn) => `${TAG[d.language]}: ${d.family.key}`;
  const drawn = sampleSplit<Drawn>({
    domain,
    split,
    seed,
    count,
    evalFraction: options.evalFraction,
    draw: (rng) => ({
      family: pick(rng, pick(rng, levels)),
      language: options.languages[rng.int(options.languages.length)] as Language,
    }),
    key,
  });
  return drawn.map((d) => {
    const k = key(d);
    // Test inputs come from a stream of their own, so a task's tests do not depend on which other tasks were drawn.
    const testRng = Rng.derive(seed, `code-tests/${split}/${k}`);
    const tests = Array.from({ length: options.testsPerTask }, () => d.family.test(testRng));
    const slips = teacherSlips(domain, seed, k, options.teacherErrorRate);
    const program = slips ? d.family.slip : d.family;
    return {
      id: syntheticId(domain, split, k),
      domain,
      prompt: applyTemplate(template, `${k}\n`),
      groundTruth: { language: d.language, tests },
      reference: d.language === "python" ? program.py : program.js,
      meta: {
        level: d.family.level,
        language: d.language,
        family: d.family.key,
        ...(slips ? { teacherMistake: true } : {}),
      },
    };
  });
}

/** Number of distinct prompts per level (for documentation and tests). */
export function codeFamilyCounts(): Record<number, number> {
  const out: Record<number, number> = {};
  for (const f of FAMILIES) out[f.level] = (out[f.level] ?? 0) + 1;
  return out;
}
