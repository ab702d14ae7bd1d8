import {
  type Domain,
  type DomainFactory,
  type JSONSchema,
  type OptionsInput,
  schemaOf,
  type Task,
  type Verification,
  type VerifyInput,
  withDefaults,
} from "@m2rl/core";
import { ExpressionSyntaxError, evaluate, literals, parseExpression } from "./expression.ts";
import { COUNTDOWN_OPTIONS, type CountdownOptions, type CountdownTruth, generateTasks } from "./generator.ts";
import { equalsInt, show } from "./rational.ts";

/** The JSON Schema of the options (no defaults in it: `create` applies them, see COUNTDOWN_OPTIONS). */
export const countdownOptionsSchema: JSONSchema = schemaOf(COUNTDOWN_OPTIONS);

/** The prompt given to the policy. */
export function countdownPrompt(t: CountdownTruth, useAll: boolean): string {
  const rule = useAll ? "each number exactly once" : "each number at most once";
  return (
    `Using the numbers [${t.numbers.join(", ")}], write an arithmetic expression that equals ${t.target}. ` +
    `You may use + - * / and parentheses, ${rule}. Give the expression in <answer> </answer> tags, ` +
    "for example <answer>(1 + 2) / 3</answer>."
  );
}

/**
 * The answer part of a response: after the reasoning gate (`</think>`), the last <answer>…</answer>, else the text
 * after the last "answer:" / "answer is", else the last line. A trailing "= 24" is dropped.
 */
export function extractAnswer(response: string, thinkEndTag = "</think>"): string | undefined {
  const gate = response.lastIndexOf(thinkEndTag);
  const text = gate >= 0 ? response.slice(gate + thinkEndTag.length) : response;
  const tags = [...text.matchAll(/<answer>([\s\S]*?)<\/answer>/gi)];
  let answer: string | undefined;
  if (tags.length) answer = tags[tags.length - 1][1];
  else {
    const m = [...text.matchAll(/answer(?:\s+is)?\s*[:=]?\s*([^\n]*)/gi)];
    if (m.length) answer = m[m.length - 1][1];
    else answer = text.trim().split("\n").pop();
  }
  answer = answer
    ?.trim()
    .replace(/\s*=\s*-?\d+\s*\.?$/, "")
    .replace(/\.$/, "")
    .trim();
  return answer ? answer : undefined;
}

/** Grades one response: exact arithmetic, number usage checked against the multiset of given numbers. */
export function verifyCountdown(response: string, truth: CountdownTruth, o: CountdownOptions): Verification {
  const answer = extractAnswer(response, o.thinkEndTag);
  if (answer === undefined) return { reward: 0, status: "unparsable", detail: "no answer found" };
  let tree: ReturnType<typeof parseExpression>;
  try {
    tree = parseExpression(answer);
  } catch (err) {
    if (err instanceof ExpressionSyntaxError)
      return { reward: 0, status: "unparsable", extracted: answer, detail: err.message };
    throw err;
  }
  const wrong = (detail: string): Verification => ({
    reward: o.formatReward,
    status: "incorrect",
    extracted: answer,
    detail,
  });
  const available = new Map<number, number>();
  for (const n of truth.numbers) available.set(n, (available.get(n) ?? 0) + 1);
  for (const n of literals(tree)) {
    const left = available.get(n) ?? 0;
    if (left === 0)
      return wrong(
        truth.numbers.includes(n) ? `uses ${n} more often than given` : `uses ${n}, which is not given`,
      );
    available.set(n, left - 1);
  }
  if (o.useAll) {
    const unused = [...available.entries()].flatMap(([n, k]) => Array<number>(k).fill(n));
    if (unused.length) return wrong(`does not use ${unused.join(", ")}`);
  }
  let value: ReturnType<typeof evaluate>;
  try {
    value = evaluate(tree);
  } catch (err) {
    if (err instanceof RangeError) return wrong(err.message);
    throw err;
  }
  if (!equalsInt(value, truth.target)) return wrong(`evaluates to ${show(value)}, target ${truth.target}`);
  return { reward: 1, status: "correct", extracted: answer };
}

/**
 * The `countdown` domain factory: options validated by the host against `countdownOptionsSchema` first, then the
 * declared defaults applied to the keys not given.
 */
export const countdownDomain: DomainFactory<OptionsInput<typeof COUNTDOWN_OPTIONS>, CountdownTruth> = {
  name: "countdown",
  description: "Countdown arithmetic game: reach a target from given numbers with + - * /.",
  optionsSchema: countdownOptionsSchema,
  create(options): Domain<CountdownTruth> {
    const o: CountdownOptions = withDefaults(COUNTDOWN_OPTIONS, options);
    if (o.minNumber > o.maxNumber) throw new RangeError("countdown: minNumber must not exceed maxNumber");
    if (o.minTarget > o.maxTarget) throw new RangeError("countdown: minTarget must not exceed maxTarget");
    return {
      name: "countdown",
      async tasks({ split, seed, count }): Promise<Task<CountdownTruth>[]> {
        return generateTasks(seed, split, count ?? 1000, o).map((t, i) => ({
          id: `countdown-${split}-${i}`,
          domain: "countdown",
          prompt: countdownPrompt(t, o.useAll),
          groundTruth: { numbers: t.numbers, target: t.target },
          reference: `<answer>${t.solution}</answer>`,
          meta: { count: t.numbers.length, target: t.target },
        }));
      },
      async verify({ response, groundTruth }: VerifyInput<CountdownTruth>): Promise<Verification> {
        return verifyCountdown(response, groundTruth, o);
      },
    };
  },
};
