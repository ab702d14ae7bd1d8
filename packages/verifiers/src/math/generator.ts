/**
 * Synthetic arithmetic for tiny char-level policies: prompts like "47+8=" with answers like "55".
 * Vocabulary: digits, `+-*=` and `-` for negatives. Difficulty knobs: operand ranges, operators, number of terms.
 * Held-out items are unseen operand pairs: the rule (digit facts, carries) carries over from the train split.
 * Noisy teacher (`teacherErrorRate`): the SFT reference is off by one (answer + 1), the slip of a careless adder.
 */
import type { Rng, Split, Task } from "@m2rl/core";
import { bool, defaultsOf, group, int, type OptionsOf, optional, schemaOf, subset } from "@m2rl/core/plugin";
import { EVAL_FRACTION, teacherErrorRate } from "../common/schema.ts";
import { syntheticTasks } from "../common/synthetic.ts";

/** The generator's options (the math domain's `synthetic` block), declared once. */
export const MATH_SYNTHETIC_OPTIONS = group("Synthetic arithmetic (used for a split without a data file).", {
  maxOperand: int("Largest first operand: drawn from [0, maxOperand] (default 20).", 20, 1, 100000),
  maxSecondOperand: optional(
    int('Largest operand after the first (default: maxOperand), e.g. 99 and 9 for "47+8=".', 1, 1, 100000),
  ),
  ops: subset(["+", "-", "*"], "Operators to draw from (default + and -).", ["+", "-"]),
  terms: int("Operands per problem (default 2).", 2, 2, 4),
  evalFraction: EVAL_FRACTION,
  allowNegative: bool(
    "Allow negative results (else `-` only where the result stays >= 0; default false).",
    false,
  ),
  teacherErrorRate: teacherErrorRate("off by one (answer + 1)"),
});

export type MathSyntheticOptions = OptionsOf<typeof MATH_SYNTHETIC_OPTIONS>;

export const DEFAULT_MATH_SYNTHETIC: MathSyntheticOptions = defaultsOf(MATH_SYNTHETIC_OPTIONS);

export const MATH_SYNTHETIC_SCHEMA = schemaOf(MATH_SYNTHETIC_OPTIONS);

interface Problem {
  expr: string;
  answer: number;
}

/** Left-to-right with `*` binding tighter, as in ordinary arithmetic. */
export function evaluateArithmetic(expr: string): number {
  const tokens = expr.match(/\d+|[+\-*]/g) ?? [];
  const terms: number[] = [];
  let sign = 1;
  let cur = Number(tokens[0]);
  for (let i = 1; i < tokens.length; i += 2) {
    const op = tokens[i];
    const v = Number(tokens[i + 1]);
    if (op === "*") cur *= v;
    else {
      terms.push(sign * cur);
      sign = op === "+" ? 1 : -1;
      cur = v;
    }
  }
  terms.push(sign * cur);
  return terms.reduce((a, b) => a + b, 0);
}

function draw(rng: Rng, o: MathSyntheticOptions): Problem {
  for (;;) {
    const second = o.maxSecondOperand ?? o.maxOperand;
    let expr = String(rng.int(o.maxOperand + 1));
    for (let k = 1; k < o.terms; k++) expr += rng.pick(o.ops) + String(rng.int(second + 1));
    const answer = evaluateArithmetic(expr);
    if (answer < 0 && !o.allowNegative) continue;
    // Echoing the prompt must not be rewarded: the answer never equals the last operand ("0+6=" → 6).
    if (o.maxOperand > 2 && String(answer) === expr.split(/[+\-*]/).pop()) continue;
    return { expr, answer };
  }
}

export function mathSyntheticTasks(
  domain: string,
  split: Split,
  seed: number,
  count: number,
  o: MathSyntheticOptions,
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
    key: (p) => p.expr,
    prompt: (p) => `${p.expr}=`,
    fields: (p) => ({
      groundTruth: String(p.answer),
      reference: String(p.answer),
      meta: { source: "synthetic", terms: o.terms, maxOperand: o.maxOperand },
    }),
    teacher: { errorRate: o.teacherErrorRate, mistake: (p) => String(p.answer + 1) },
  });
}
