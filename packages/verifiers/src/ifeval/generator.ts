/**
 * Synthetic instruction-following tasks for tiny char-level policies, checked with real IFEval instruction ids.
 * Vocabulary: lowercase/uppercase letters, digits 2-5, quotes, commas and spaces. Families:
 * - caps      `say "cat dog" in caps`          → `CAT DOG`      change_case:english_capital + keywords:existence
 * - lower     `say "CAT DOG" in lowercase`     → `cat dog`      change_case:english_lowercase + keywords:existence
 * - end       `end with dog and say cat`       → `cat dog`      keywords:existence + startend:end_checker
 * - quote     `quote cat dog`                  → `"cat dog"`    startend:quotation + keywords:existence
 * - repeat    `say cat 3 times`                → `cat cat cat`  keywords:frequency + length_constraints:number_words
 * - nocomma   `list cat,dog without commas`    → `cat dog`      punctuation:no_comma + keywords:existence
 * Difficulty knob: `maxWords` (1-3 words per phrase — caps / lower keep ≤ 2 —, up to 5 repetitions).
 * Responses are short (< 10 characters for most), so language detection stays undetermined and the change-case
 * checks reduce to the case test, as intended for these tasks.
 * Noisy teacher (`teacherErrorRate`): the SFT reference breaks the instruction the way a careless writer does: the
 * phrase in the wrong case, no quotes, one repetition too many, the words in the order asked about last, commas
 * kept.
 */
import type { Rng, Split, Task } from "@m2rl/core";
import { defaultsOf, group, int, type OptionsOf, schemaOf, subset } from "@m2rl/core/plugin";
import { EVAL_FRACTION, teacherErrorRate } from "../common/schema.ts";
import { syntheticTasks } from "../common/synthetic.ts";
import type { IfevalGroundTruth } from "./evaluate.ts";

export const IF_FAMILIES = ["caps", "lower", "end", "quote", "repeat", "nocomma"] as const;
export type IfFamily = (typeof IF_FAMILIES)[number];

/** The generator's options (the ifeval domain's `synthetic` block), declared once. */
export const IF_SYNTHETIC_OPTIONS = group(
  "Synthetic instruction tasks (used for a split without a data file).",
  {
    families: subset(IF_FAMILIES, "Instruction families to draw from (default: all six).", [...IF_FAMILIES]),
    maxWords: int("Words per phrase, 1-3 (caps / lower keep at most 2; default 2).", 2, 1, 3),
    evalFraction: EVAL_FRACTION,
    teacherErrorRate: teacherErrorRate("broken the way a careless writer breaks the instruction"),
  },
);

export type IfSyntheticOptions = OptionsOf<typeof IF_SYNTHETIC_OPTIONS>;

export const DEFAULT_IF_SYNTHETIC: IfSyntheticOptions = defaultsOf(IF_SYNTHETIC_OPTIONS);

export const IF_SYNTHETIC_SCHEMA = schemaOf(IF_SYNTHETIC_OPTIONS);

export const IF_WORDS = [
  "cat",
  "dog",
  "sun",
  "red",
  "box",
  "map",
  "cup",
  "hat",
  "pen",
  "sky",
  "owl",
  "fox",
  "bee",
  "ant",
  "egg",
  "jam",
  "key",
  "net",
  "oak",
  "pig",
  "toy",
  "van",
  "web",
  "zip",
  "gum",
  "bus",
  "mud",
  "fig",
  "ink",
  "log",
];

interface IfProblem {
  family: IfFamily;
  prompt: string;
  answer: string;
  /** The noisy teacher's response: it breaks the family's instruction. */
  mistake: string;
  gt: IfevalGroundTruth;
  key: string;
}

function words(rng: Rng, n: number): string[] {
  const out: string[] = [];
  while (out.length < n) {
    const w = rng.pick(IF_WORDS);
    if (!out.includes(w)) out.push(w);
  }
  return out;
}

function draw(rng: Rng, o: IfSyntheticOptions): IfProblem {
  const family = rng.pick(o.families);
  const n = 1 + rng.int(o.maxWords);
  switch (family) {
    case "caps": {
      // At most 2 words (< 10 characters): longer random word lists are not detectably English, and
      // english_capital / english_lowercase also require English once the language is determinable.
      const ws = words(rng, Math.min(n, 2));
      const phrase = ws.join(" ");
      return {
        family,
        prompt: `say "${phrase}" in caps`,
        answer: phrase.toUpperCase(),
        mistake: phrase,
        gt: {
          instruction_id_list: ["change_case:english_capital", "keywords:existence"],
          kwargs: [{}, { keywords: ws }],
        },
        key: `caps:${phrase}`,
      };
    }
    case "lower": {
      const ws = words(rng, Math.min(n, 2));
      const phrase = ws.join(" ");
      return {
        family,
        prompt: `say "${phrase.toUpperCase()}" in lowercase`,
        answer: phrase,
        mistake: phrase.toUpperCase(),
        gt: {
          instruction_id_list: ["change_case:english_lowercase", "keywords:existence"],
          kwargs: [{}, { keywords: ws }],
        },
        key: `lower:${phrase}`,
      };
    }
    case "end": {
      const [a, b] = words(rng, 2);
      return {
        family,
        prompt: `end with ${b} and say ${a}`,
        answer: `${a} ${b}`,
        mistake: `${b} ${a}`,
        gt: {
          instruction_id_list: ["keywords:existence", "startend:end_checker"],
          kwargs: [{ keywords: [a] }, { end_phrase: b }],
        },
        key: `end:${a}:${b}`,
      };
    }
    case "quote": {
      const ws = words(rng, n);
      const phrase = ws.join(" ");
      return {
        family,
        prompt: `quote ${phrase}`,
        answer: `"${phrase}"`,
        mistake: phrase,
        gt: {
          instruction_id_list: ["startend:quotation", "keywords:existence"],
          kwargs: [{}, { keywords: ws }],
        },
        key: `quote:${phrase}`,
      };
    }
    case "repeat": {
      const [w] = words(rng, 1);
      const times = 2 + rng.int(Math.min(o.maxWords + 1, 4));
      return {
        family,
        prompt: `say ${w} ${times} times`,
        answer: Array(times).fill(w).join(" "),
        mistake: Array(times + 1)
          .fill(w)
          .join(" "),
        gt: {
          instruction_id_list: ["keywords:frequency", "length_constraints:number_words"],
          kwargs: [
            { keyword: w, frequency: times, relation: "at least" },
            { num_words: times + 1, relation: "less than" },
          ],
        },
        key: `repeat:${w}:${times}`,
      };
    }
    case "nocomma": {
      const ws = words(rng, Math.max(2, n));
      return {
        family,
        prompt: `list ${ws.join(",")} without commas`,
        answer: ws.join(" "),
        mistake: ws.join(","),
        gt: {
          instruction_id_list: ["punctuation:no_comma", "keywords:existence"],
          kwargs: [{}, { keywords: ws }],
        },
        key: `nocomma:${ws.join(",")}`,
      };
    }
  }
}

export function ifSyntheticTasks(
  domain: string,
  split: Split,
  seed: number,
  count: number,
  o: IfSyntheticOptions,
  template?: string,
): Task<IfevalGroundTruth>[] {
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
      groundTruth: p.gt,
      reference: p.answer,
      meta: { source: "synthetic", family: p.family },
    }),
    teacher: { errorRate: o.teacherErrorRate, mistake: (p) => p.mistake },
  });
}
