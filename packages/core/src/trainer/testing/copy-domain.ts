/**
 * Test helper: a synthetic "copy" domain for the real tiny CausalLM. Prompt `ab=`, answer `ab`; strings over a
 * small alphabet, all combinations of a fixed length split by a seeded shuffle into disjoint train and held-out
 * eval sets, so eval accuracy measures a learned skill (copying), not memorised prompts.
 */
import type { Domain, Task, TaskQuery, Verification, VerifyInput } from "../../domain/types.ts";
import { Rng } from "../../rng/index.ts";

export function copyDomain(o: {
  name?: string;
  letters: string;
  length: number;
  evalFraction: number;
}): Domain<string> {
  const name = o.name ?? "copy";
  let all: string[] = [""];
  for (let i = 0; i < o.length; i++) all = all.flatMap((s) => [...o.letters].map((c) => s + c));
  new Rng(`${name}:split`).shuffle(all);
  const nEval = Math.round(all.length * o.evalFraction);
  const split = { eval: all.slice(0, nEval), train: all.slice(nEval) };
  const task = (s: string, i: number, sp: string): Task<string> => ({
    id: `${sp}-${i}`,
    domain: name,
    prompt: `${s}=`,
    groundTruth: s,
    reference: s,
  });
  return {
    name,
    async tasks(q: TaskQuery): Promise<Task<string>[]> {
      const items = split[q.split];
      const n = q.count ?? items.length;
      return Array.from({ length: n }, (_, i) => task(items[i % items.length], i, q.split));
    },
    async verify({ response, groundTruth }: VerifyInput<string>): Promise<Verification> {
      if (response.length === 0) return { reward: 0, status: "unparsable", detail: "empty response" };
      return response === groundTruth
        ? { reward: 1, status: "correct", extracted: response }
        : { reward: 0, status: "incorrect", extracted: response };
    },
  };
}
