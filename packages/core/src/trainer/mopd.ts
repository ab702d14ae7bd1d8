/**
 * Multi-teacher on-policy distillation (MOPD) as a trainer plugin: after the GRPO advantages, each sample gets
 * per-token advantages A_t = log p_teacher(y_t) − log p_student_old(y_t) + rewardWeight·A_GRPO, the teacher chosen
 * by the prompt's domain. The Trainer applies it itself when `algorithm: mopd` (right after its built-in stages, so
 * later plugins see MOPD's advantages).
 */
import type { Policy } from "../policy/types.ts";
import { scoreCompletions } from "./stages/score.ts";
import type { Trainer, TrainerPlugin } from "./trainer.ts";
import type { Sample } from "./types.ts";

export const MOPD_PLUGIN = "m2rl:mopd";

export function mopdPlugin(teachers: ReadonlyMap<string, Policy>): TrainerPlugin {
  return {
    name: MOPD_PLUGIN,
    apply(trainer: Trainer) {
      trainer.hooks.advantage.tapPromise(MOPD_PLUGIN, async (batch) => ({
        ...batch,
        samples: mopdAdvantages(batch.samples, teachers, trainer),
      }));
    },
  };
}

function mopdAdvantages(
  samples: Sample[],
  teachers: ReadonlyMap<string, Policy>,
  trainer: Trainer,
): Sample[] {
  const c = trainer.config;
  const w = c.mopd.rewardWeight;
  const byDomain = new Map<string, number[]>();
  samples.forEach((s, i) => {
    const list = byDomain.get(s.domain) ?? [];
    list.push(i);
    byDomain.set(s.domain, list);
  });
  const out = [...samples];
  for (const [domain, idx] of byDomain) {
    const teacher = teachers.get(domain);
    if (!teacher) throw new Error(`MOPD has no teacher for domain '${domain}'`);
    const teacherLp = scoreCompletions(
      teacher,
      idx.map((i) => samples[i]),
      { microBatchSize: c.microBatchSize, temperature: c.sampling.temperature },
    );
    idx.forEach((i, j) => {
      const s = samples[i];
      const old = s.oldLogprobs ?? s.generation.logprobs;
      const tl = teacherLp[j];
      out[i] = {
        ...s,
        teacherLogprobs: tl,
        tokenAdvantages: tl.map((t, k) => t - old[k] + w * s.advantage),
      };
    });
  }
  return out;
}
