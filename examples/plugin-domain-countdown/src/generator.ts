/**
 * Seeded Countdown tasks: draw `count` numbers, combine them in a random order with random operators under the
 * game's rules (every intermediate value a positive integer: subtract the smaller from the larger, divide only when
 * exact), and take the result as the target. The combining expression is the task's reference answer.
 * Train and eval tasks never coincide: a task belongs to the eval split when the hash of its numbers and target
 * falls in the eval bucket, whatever the counts asked for.
 */
import {
  bool,
  defaultsOf,
  group,
  hashString,
  int,
  num,
  type OptionsOf,
  Rng,
  type Split,
  str,
  subset,
} from "@m2rl/core";
import { type Expr, format } from "./expression.ts";

export const OPERATORS = ["+", "-", "*", "/"] as const;
export type Operator = (typeof OPERATORS)[number];

/**
 * The domain's options, declared once with core's options DSL: their type (`CountdownOptions`), their defaults
 * (`DEFAULT_OPTIONS`) and the JSON Schema the host validates them with (`countdownOptionsSchema`) all derive from it.
 */
export const COUNTDOWN_OPTIONS = group("Options of the countdown domain.", {
  count: int("Numbers per task (default 4).", 4, 2, 6),
  minNumber: int("Smallest number drawn (default 1).", 1, 1),
  maxNumber: int("Largest number drawn (default 25).", 25, 2, 1000),
  minTarget: int("Targets are drawn in [minTarget, maxTarget] (default 1).", 1, 1),
  maxTarget: int("Largest target (default 200).", 200, 1, 1000000),
  operators: subset(OPERATORS, "Operators the tasks combine the numbers with (default all four).", [
    ...OPERATORS,
  ]),
  useAll: bool(
    "Answers must use every number exactly once, rather than each at most once (default false).",
    false,
  ),
  evalFraction: num("Share of the task space reserved for the eval split (default 0.2).", 0.2, {
    exclusiveMinimum: 0,
    exclusiveMaximum: 1,
  }),
  formatReward: num(
    "Reward for a well-formed answer that is wrong (a format reward, as in TinyZero; default 0).",
    0,
    { minimum: 0, maximum: 1 },
  ),
  thinkEndTag: str(
    "Everything up to the last occurrence of this tag is reasoning and is not graded (default </think>).",
    "</think>",
    1,
  ),
});

export type CountdownOptions = OptionsOf<typeof COUNTDOWN_OPTIONS>;

export const DEFAULT_OPTIONS: CountdownOptions = defaultsOf(COUNTDOWN_OPTIONS);

export interface CountdownTruth {
  numbers: number[];
  target: number;
}

export interface GeneratedTask extends CountdownTruth {
  /** An expression that reaches the target. */
  solution: string;
}

const MAX_TRIES = 1000;

/** Canonical key of a task: sorted numbers and target. */
export const taskKey = (t: CountdownTruth) => `${[...t.numbers].sort((a, b) => a - b).join(",")}=${t.target}`;

/** The split a task belongs to (hash bucket of its key). */
export function splitOf(t: CountdownTruth, evalFraction: number): Split {
  return hashString(taskKey(t)) / 4294967296 < evalFraction ? "eval" : "train";
}

/** One random task (any split), or undefined when the draw missed the target range. */
function draw(rng: Rng, o: CountdownOptions): GeneratedTask | undefined {
  const numbers = Array.from({ length: o.count }, () => o.minNumber + rng.int(o.maxNumber - o.minNumber + 1));
  let pool: { value: number; expr: Expr }[] = rng.shuffle(
    numbers.map((v, i) => ({ value: v, expr: { kind: "num", value: v, at: i } })),
  );
  while (pool.length > 1) {
    const [a, b] = [pool[0], pool[1]];
    const op = rng.pick(o.operators);
    let next: { value: number; expr: Expr } | undefined;
    const [hi, lo] = a.value >= b.value ? [a, b] : [b, a];
    if (op === "+") next = { value: a.value + b.value, expr: bin("+", a.expr, b.expr) };
    else if (op === "*") next = { value: a.value * b.value, expr: bin("*", a.expr, b.expr) };
    else if (op === "-" && hi.value > lo.value)
      next = { value: hi.value - lo.value, expr: bin("-", hi.expr, lo.expr) };
    else if (op === "/" && lo.value > 0 && hi.value % lo.value === 0 && lo.value !== 1)
      next = { value: hi.value / lo.value, expr: bin("/", hi.expr, lo.expr) };
    if (!next) return undefined;
    pool = [next, ...pool.slice(2)];
    if (pool.length > 1) rng.shuffle(pool);
  }
  const target = pool[0].value;
  if (target < o.minTarget || target > o.maxTarget) return undefined;
  return { numbers, target, solution: format(pool[0].expr) };
}

const bin = (op: Operator, left: Expr, right: Expr): Expr => ({ kind: "bin", op, left, right, at: 0 });

/** `n` distinct tasks of `split`, deterministic in (seed, split, options). */
export function generateTasks(seed: number, split: Split, n: number, o: CountdownOptions): GeneratedTask[] {
  const rng = Rng.derive(seed, `countdown:${split}`);
  const out: GeneratedTask[] = [];
  const seen = new Set<string>();
  let misses = 0;
  while (out.length < n) {
    const t = draw(rng, o);
    if (t && splitOf(t, o.evalFraction) === split && !seen.has(taskKey(t))) {
      seen.add(taskKey(t));
      out.push(t);
      misses = 0;
    } else if (++misses > MAX_TRIES) {
      throw new RangeError(
        `countdown: could not draw task ${out.length + 1} of ${n} for the ${split} split in ${MAX_TRIES} tries; ` +
          "widen maxNumber / maxTarget or ask for fewer tasks",
      );
    }
  }
  return out;
}
