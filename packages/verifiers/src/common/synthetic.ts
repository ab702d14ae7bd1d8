/**
 * Helpers for seeded synthetic task generators. Train and eval splits never overlap: a problem belongs to the
 * eval split when the hash of its canonical key falls in the eval bucket, whatever seed generated it. The seed
 * only decides which problems of the split are drawn and in which order.
 *
 * Teacher noise: SFT data is distilled from a teacher that makes mistakes. With `teacherErrorRate` ε, each task's
 * SFT reference (`Task.reference`, read only by the supervised warm-up) is the domain's typical mistake instead of
 * the right answer for a seeded fraction ε of the tasks; the ground truth the verifier grades is never changed.
 * A policy that imitates such a teacher is right about (1 − ε) of the time on held-out items while pass@k stays
 * high: the gap RL with a verifier can close. Which tasks get a mistake depends on the seed, the domain and the
 * task's key only (not on which other tasks were drawn).
 */
import type { Split, Task } from "@m2rl/core";
import { hashString, Rng } from "@m2rl/core/rng";

export interface SyntheticSplitOptions {
  /** Fraction of the problem space reserved for the eval split, in (0, 1). */
  evalFraction: number;
}

/** Which split a problem with canonical `key` belongs to. */
export function splitOf(domain: string, key: string, evalFraction: number): Split {
  const h = hashString(`${domain}\u0000${key}`) / 4294967296;
  return h < evalFraction ? "eval" : "train";
}

/**
 * Draws `count` distinct problems of `split` from `draw` (which samples one problem from the whole space).
 * Stops early (returning fewer) when the space is exhausted: after `count * 50 + 1000` draws without success.
 */
export function sampleSplit<P>(options: {
  domain: string;
  split: Split;
  seed: number;
  count: number;
  evalFraction: number;
  draw: (rng: Rng) => P;
  key: (problem: P) => string;
}): P[] {
  const rng = Rng.derive(options.seed, `${options.domain}/${options.split}`);
  const seen = new Set<string>();
  const out: P[] = [];
  const budget = options.count * 50 + 1000;
  for (let tries = 0; out.length < options.count && tries < budget; tries++) {
    const p = options.draw(rng);
    const k = options.key(p);
    if (seen.has(k)) continue;
    seen.add(k);
    if (splitOf(options.domain, k, options.evalFraction) !== options.split) continue;
    out.push(p);
  }
  return out;
}

/** True when the noisy teacher gets the task with canonical `key` wrong (probability `rate`, seeded per task). */
export function teacherSlips(domain: string, seed: number, key: string, rate: number): boolean {
  if (!(rate > 0)) return false;
  return Rng.derive(seed, `${domain}/teacher/${key}`).next() < rate;
}

/** Stable task id from domain, split and canonical key. */
export function syntheticId(domain: string, split: Split, key: string): string {
  return `${domain}-${split}-${hashString(key).toString(36)}`;
}

/** Replaces `{prompt}` in a template; a template without the placeholder is a prefix. */
export function applyTemplate(template: string | undefined, prompt: string): string {
  if (!template) return prompt;
  return template.includes("{prompt}") ? template.split("{prompt}").join(prompt) : template + prompt;
}

export type { Task };

/**
 * The tasks of a synthetic split: `sampleSplit`, then one Task per problem with a stable id, the domain and the
 * templated prompt; `fields` gives the rest (ground truth, SFT reference, metadata).
 */
export function syntheticTasks<P, G>(options: {
  domain: string;
  split: Split;
  seed: number;
  count: number;
  evalFraction: number;
  template?: string;
  draw: (rng: Rng) => P;
  key: (problem: P) => string;
  prompt: (problem: P) => string;
  fields: (problem: P) => Pick<Task<G>, "groundTruth" | "reference" | "meta">;
  /** Noisy teacher: for a seeded fraction `errorRate` of the tasks the reference is `mistake(problem)`. */
  teacher?: { errorRate: number; mistake: (problem: P) => string };
}): Task<G>[] {
  const { domain, split, template, teacher } = options;
  return sampleSplit(options).map((p) => {
    const key = options.key(p);
    const task: Task<G> = {
      id: syntheticId(domain, split, key),
      domain,
      prompt: applyTemplate(template, options.prompt(p)),
      ...options.fields(p),
    };
    if (teacher && teacherSlips(domain, options.seed, key, teacher.errorRate)) {
      task.reference = teacher.mistake(p);
      task.meta = { ...task.meta, teacherMistake: true };
    }
    return task;
  });
}
