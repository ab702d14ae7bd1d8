/**
 * Synthetic arithmetic for tiny char-level policies: prompts like "47+8=" with answers like "55".
 * Vocabulary: digits, `+-*=` and `-` for negatives. Difficulty knobs: operand ranges, operators, number of terms.
 * Held-out items are unseen operand pairs: the rule (digit facts, carries) carries over from the train split.
 * Noisy teacher (`teacherErrorRate`): the SFT reference is off by one (answer + 1), the slip of a careless adder.
 */
import type { Rng, Split, Task } from "@m2rl/core";
import { syntheticTasks, TEACHER_ERROR_RATE_SCHEMA } from "../common/synthetic.ts";

export interface MathSyntheticOptions {
  /** Largest first operand (inclusive); the first operand is drawn from [0, maxOperand]. */
  maxOperand: number;
  /** Largest operand after the first (inclusive; default: maxOperand), e.g. 99 and 9 for "47+8=". */
  maxSecondOperand?: number;
  /** Operators to draw from. */
  ops: ("+" | "-" | "*")[];
  /** Number of operands per problem (2 or 3). */
  terms: number;
  /** Fraction of the problem space reserved for eval. */
  evalFraction: number;
  /** Allow negative results (else `-` only appears when the result stays ≥ 0). */
  allowNegative: boolean;
  /** Fraction of SFT references that are off by one (a noisy teacher); the graded answer is unchanged. */
  teacherErrorRate: number;
}

export const DEFAULT_MATH_SYNTHETIC: MathSyntheticOptions = {
  maxOperand: 20,
  ops: ["+", "-"],
  terms: 2,
  evalFraction: 0.2,
  allowNegative: false,
  teacherErrorRate: 0,
};

export const MATH_SYNTHETIC_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    maxOperand: { type: "integer", minimum: 1, maximum: 100000 },
    maxSecondOperand: { type: "integer", minimum: 1, maximum: 100000 },
    ops: { type: "array", minItems: 1, items: { type: "string", enum: ["+", "-", "*"] }, uniqueItems: true },
    terms: { type: "integer", minimum: 2, maximum: 4 },
    evalFraction: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
    allowNegative: { type: "boolean" },
    teacherErrorRate: TEACHER_ERROR_RATE_SCHEMA,
  },
} as const;

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
