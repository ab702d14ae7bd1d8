/**
 * The instruction-following domain (IFEval): a DomainFactory with the JSON Schema of its options.
 */
import { DataError, type Domain, type DomainContext, type DomainFactory, type Plugin } from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import type { ThinkGateMode } from "../common/think.ts";
import type { DataFiles } from "../data/load.ts";
import type { GroundTruthMapper } from "../data/verl.ts";
import {
  DEFAULT_IFEVAL_OPTIONS,
  type IfevalGroundTruth,
  type IfevalOptions,
  parseIfevalGroundTruth,
  verifyIfeval,
} from "./evaluate.ts";
import { DEFAULT_IF_SYNTHETIC, type IfSyntheticOptions, ifSyntheticTasks } from "./generator.ts";
import { IFEVAL_DOMAIN_INFO } from "./schema.ts";

export { IFEVAL_OPTIONS_SCHEMA } from "./schema.ts";

export interface IfevalDomainOptions {
  name?: string;
  mode?: "strict" | "loose";
  reward?: "all" | "fraction";
  thinkGate?: ThinkGateMode;
  /** Responses shorter than this many characters have an undetermined language (the check passes). */
  languageMinLength?: number;
  promptTemplate?: string;
  data?: DataFiles;
  synthetic?: Partial<IfSyntheticOptions>;
  defaultCount?: number;
}

/** Ground truth of a verl row (`reward_model.ground_truth`) or of an IFEval row (top-level fields). */
export const ifevalGroundTruth: GroundTruthMapper<IfevalGroundTruth> = (raw, row, where) => {
  let candidate: unknown = raw;
  if (candidate === undefined || candidate === null || candidate === "") {
    const extra = row.extra_info as Record<string, unknown> | undefined;
    if (row.instruction_id_list !== undefined)
      candidate = { instruction_id_list: row.instruction_id_list, kwargs: row.kwargs };
    else if (extra && extra.instruction_id_list !== undefined) {
      candidate = { instruction_id_list: extra.instruction_id_list, kwargs: extra.kwargs };
    }
  }
  const parsed = parseIfevalGroundTruth(candidate);
  if (!parsed.ok) {
    throw new DataError(parsed.error, {
      file: where.file,
      line: where.line,
      path: "reward_model.ground_truth",
    });
  }
  return { instruction_id_list: parsed.value.ids, kwargs: parsed.value.kwargs };
};

export function resolveIfevalOptions(o: IfevalDomainOptions = {}): IfevalOptions {
  return {
    mode: o.mode ?? DEFAULT_IFEVAL_OPTIONS.mode,
    reward: o.reward ?? DEFAULT_IFEVAL_OPTIONS.reward,
    thinkGate: o.thinkGate ?? DEFAULT_IFEVAL_OPTIONS.thinkGate,
    detect: { minLength: o.languageMinLength ?? DEFAULT_IFEVAL_OPTIONS.detect.minLength },
  };
}

export const ifevalDomainFactory: DomainFactory<IfevalDomainOptions, IfevalGroundTruth> = {
  ...IFEVAL_DOMAIN_INFO,
  create(options: IfevalDomainOptions, context: DomainContext): Domain<IfevalGroundTruth> {
    const vo = resolveIfevalOptions(options);
    const syn = { ...DEFAULT_IF_SYNTHETIC, ...options.synthetic };
    return dataOrSyntheticDomain<IfevalGroundTruth>({
      name: "ifeval",
      options,
      context,
      mapGroundTruth: ifevalGroundTruth,
      synthetic: (name, split, seed, count, template) =>
        ifSyntheticTasks(name, split, seed, count, syn, template),
      verify: (response, groundTruth) => verifyIfeval(response, groundTruth, vo),
    });
  },
};

/** Registers the `ifeval` domain. */
export const ifevalPlugin: Plugin = domainPlugin("m2rl-domain-ifeval", ifevalDomainFactory);
