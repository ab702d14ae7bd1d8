/**
 * Test helper: a synthetic domain a bigram policy can learn. Prompt: one letter; answer: the digit
 * `map(letter)`. Rewards are binary; an empty response is `unparsable`; `errorOn` makes chosen answers return
 * status `error` (to test the trainer's per-status policy).
 */
import type { Domain, Task, TaskQuery, Verification, VerifyInput } from "../../domain/types.ts";
import { Rng } from "../../rng/index.ts";

export interface ToyDomainOptions {
  name: string;
  letters: string;
  /** Digit for each letter (same length as letters). */
  answers: string;
  /** Responses (exact text) that make `verify` report status error. */
  errorOn?: string[];
}

export function toyDomain(o: ToyDomainOptions): Domain<string> {
  const all = [...o.letters].map((c, i) => ({ letter: c, answer: o.answers[i] }));
  return {
    name: o.name,
    async tasks(q: TaskQuery): Promise<Task<string>[]> {
      const rng = new Rng(`${o.name}:${q.split}:${q.seed}`);
      const n = q.count ?? (q.split === "train" ? 4 * all.length : all.length);
      const out: Task<string>[] = [];
      for (let i = 0; i < n; i++) {
        const item = q.split === "eval" ? all[i % all.length] : rng.pick(all);
        out.push({
          id: `${q.split}-${i}`,
          domain: o.name,
          prompt: item.letter,
          groundTruth: item.answer,
          reference: item.answer,
        });
      }
      return out;
    },
    async verify({ response, groundTruth }: VerifyInput<string>): Promise<Verification> {
      if (o.errorOn?.includes(response)) return { reward: 0, status: "error", detail: "injected error" };
      const r = response.trim();
      if (r === "") return { reward: 0, status: "unparsable", detail: "empty response" };
      return r === groundTruth
        ? { reward: 1, status: "correct", extracted: r }
        : { reward: 0, status: "incorrect", extracted: r };
    },
  };
}
