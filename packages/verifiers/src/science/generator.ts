/**
 * Synthetic science tasks for tiny char-level policies: multiple choice over a small fact table (element
 * symbols, SI units, classes of animals) and integer formula questions. Prompts ≤ 40 characters, answers one
 * letter or a short integer. Knobs: number of choices (2-4), families, eval fraction.
 *   `Fe is? A)tin B)iron C)gold`  → `B`
 *   `unit of power? A)J B)W`       → `B`
 *   `F=ma m=2 a=3 F=?`             → `6`
 *   `R=R1+R2 R1=47 R2=8 R=?`       → `55`   (sum: series resistance, total mass, energy, series voltage)
 * The sum family applies additive laws to unseen numbers: the arithmetic is the math domain's, the reading of the
 * formula is science's own. Noisy teacher (`teacherErrorRate`): a numeric reference is off by one, a
 * multiple-choice reference names the option after the right one.
 */
import type { Rng, Split, Task } from "@m2rl/core";
import { defaultsOf, group, int, type OptionsOf, optional, schemaOf, subset } from "@m2rl/core/plugin";
import { EVAL_FRACTION, teacherErrorRate } from "../common/schema.ts";
import { syntheticTasks } from "../common/synthetic.ts";

export const SCIENCE_FAMILIES = ["element", "unit", "animal", "formula", "sum"] as const;
export type ScienceFamily = (typeof SCIENCE_FAMILIES)[number];

/** The generator's options (the science domain's `synthetic` block), declared once. */
export const SCIENCE_SYNTHETIC_OPTIONS = group(
  "Synthetic science questions (used for a split without a data file).",
  {
    families: subset(SCIENCE_FAMILIES, "Question families to draw from (default: all five).", [
      ...SCIENCE_FAMILIES,
    ]),
    choices: int("Options of a multiple-choice question (default 3).", 3, 2, 4),
    evalFraction: EVAL_FRACTION,
    maxOperand: int(
      "Largest operand of formula questions (products: both operands in [1, maxOperand]; sums: the first; default 9).",
      9,
      2,
      99,
    ),
    maxSecondOperand: optional(
      int(
        "Largest second operand of sum questions, drawn from [0, maxSecondOperand] (default: maxOperand).",
        1,
        1,
        99,
      ),
    ),
    teacherErrorRate: teacherErrorRate(
      "wrong (a numeric answer off by one, a multiple-choice answer naming the next option)",
    ),
  },
);

export type ScienceSyntheticOptions = OptionsOf<typeof SCIENCE_SYNTHETIC_OPTIONS>;

export const DEFAULT_SCIENCE_SYNTHETIC: ScienceSyntheticOptions = defaultsOf(SCIENCE_SYNTHETIC_OPTIONS);

export const SCIENCE_SYNTHETIC_SCHEMA = schemaOf(SCIENCE_SYNTHETIC_OPTIONS);

/** Fact tables: [question, answer] pairs; distractors are the other answers of the same table. */
export const ELEMENTS: [string, string][] = [
  ["H", "hydrogen"],
  ["He", "helium"],
  ["C", "carbon"],
  ["N", "nitrogen"],
  ["O", "oxygen"],
  ["Na", "sodium"],
  ["Fe", "iron"],
  ["Cu", "copper"],
  ["Ag", "silver"],
  ["Au", "gold"],
  ["Zn", "zinc"],
  ["Pb", "lead"],
  ["Sn", "tin"],
  ["Ne", "neon"],
  ["S", "sulfur"],
  ["Ca", "calcium"],
];

export const UNITS: [string, string][] = [
  ["force", "N"],
  ["energy", "J"],
  ["power", "W"],
  ["charge", "C"],
  ["voltage", "V"],
  ["pressure", "Pa"],
  ["frequency", "Hz"],
  ["mass", "kg"],
  ["time", "s"],
  ["length", "m"],
  ["current", "A"],
  ["resistance", "ohm"],
];

export const ANIMALS: [string, string][] = [
  ["bat", "mammal"],
  ["whale", "mammal"],
  ["dog", "mammal"],
  ["owl", "bird"],
  ["hen", "bird"],
  ["duck", "bird"],
  ["frog", "amphibian"],
  ["toad", "amphibian"],
  ["shark", "fish"],
  ["trout", "fish"],
  ["snake", "reptile"],
  ["lizard", "reptile"],
  ["ant", "insect"],
  ["bee", "insect"],
];

const FORMULAS: { name: string; make: (a: number, b: number) => { prompt: string; answer: number } }[] = [
  { name: "F=ma", make: (a, b) => ({ prompt: `F=ma m=${a} a=${b} F=?`, answer: a * b }) },
  { name: "V=IR", make: (a, b) => ({ prompt: `V=IR I=${a} R=${b} V=?`, answer: a * b }) },
  { name: "d=vt", make: (a, b) => ({ prompt: `d=vt v=${a} t=${b} d=?`, answer: a * b }) },
  { name: "v=d/t", make: (a, b) => ({ prompt: `v=d/t d=${a * b} t=${b} v=?`, answer: a }) },
];

/** Additive laws: [law, first quantity, second quantity, asked quantity]. */
const SUMS: [string, string, string, string][] = [
  ["R=R1+R2", "R1", "R2", "R"],
  ["m=m1+m2", "m1", "m2", "m"],
  ["E=K+U", "K", "U", "E"],
  ["V=V1+V2", "V1", "V2", "V"],
];

interface SciProblem {
  prompt: string;
  answer: string;
  family: ScienceFamily;
  key: string;
}

const LETTERS = "ABCD";

function multipleChoice(
  rng: Rng,
  table: [string, string][],
  stem: (q: string) => string,
  k: number,
  family: ScienceFamily,
): SciProblem {
  const [q, right] = rng.pick(table);
  const pool = [...new Set(table.map((r) => r[1]).filter((x) => x !== right))];
  rng.shuffle(pool);
  const options = [right, ...pool.slice(0, k - 1)];
  rng.shuffle(options);
  const idx = options.indexOf(right);
  const prompt = `${stem(q)} ${options.map((o, i) => `${LETTERS[i]})${o}`).join(" ")}`;
  return { prompt, answer: LETTERS[idx], family, key: prompt };
}

export const MAX_PROMPT_CHARS = 40;

/** Draws until the prompt fits in MAX_PROMPT_CHARS and its answer is not a number of the prompt (echo guard). */
function draw(rng: Rng, o: ScienceSyntheticOptions): SciProblem {
  for (;;) {
    const p = drawOnce(rng, o);
    if (p.prompt.length > MAX_PROMPT_CHARS) continue;
    const numeric = p.family === "formula" || p.family === "sum";
    if (numeric && [...p.prompt.matchAll(/\d+/g)].some((m) => m[0] === p.answer)) continue;
    return p;
  }
}

function drawOnce(rng: Rng, o: ScienceSyntheticOptions): SciProblem {
  const family = rng.pick(o.families);
  switch (family) {
    case "element":
      return multipleChoice(rng, ELEMENTS, (q) => `${q} is?`, o.choices, family);
    case "unit":
      return multipleChoice(rng, UNITS, (q) => `unit of ${q}?`, o.choices, family);
    case "animal":
      return multipleChoice(rng, ANIMALS, (q) => `${q} is a?`, o.choices, family);
    case "formula": {
      const f = rng.pick(FORMULAS);
      const a = 1 + rng.int(o.maxOperand);
      const b = 1 + rng.int(o.maxOperand);
      const { prompt, answer } = f.make(a, b);
      return { prompt, answer: String(answer), family, key: prompt };
    }
    case "sum": {
      const [law, x, y, asked] = rng.pick(SUMS);
      const a = rng.int(o.maxOperand + 1);
      const b = rng.int((o.maxSecondOperand ?? o.maxOperand) + 1);
      const prompt = `${law} ${x}=${a} ${y}=${b} ${asked}=?`;
      return { prompt, answer: String(a + b), family, key: prompt };
    }
  }
}

/** The noisy teacher's answer: off by one for numbers, the next option for a multiple-choice letter. */
function mistake(p: SciProblem): string {
  if (/^\d+$/.test(p.answer)) return String(Number(p.answer) + 1);
  const options = (p.prompt.match(/\b[A-D]\)/g) ?? []).length;
  return LETTERS[(LETTERS.indexOf(p.answer) + 1) % Math.max(2, options)] as string;
}

export function scienceSyntheticTasks(
  domain: string,
  split: Split,
  seed: number,
  count: number,
  o: ScienceSyntheticOptions,
  template?: string,
): Task<string>[] {
  return syntheticTasks({
    domain,
    split,
    seed,
    count,
    evalFraction: o.evalFraction,
    template,
    draw: (rng) => draw(rng, o),
    key: (p) => p.key,
    prompt: (p) => p.prompt,
    fields: (p) => ({
      groundTruth: p.answer,
      reference: p.answer,
      meta: { source: "synthetic", family: p.family },
    }),
    teacher: { errorRate: o.teacherErrorRate, mistake },
  });
}
