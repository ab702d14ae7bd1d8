/**
 * The instruction-following domain (IFEval): a DomainFactory with the JSON Schema of its options.
 */
import {
  DataError,
  type Domain,
  type DomainContext,
  type DomainFactory,
  type Plugin,
  withDefaults,
} from "@m2rl/core";
import { dataOrSyntheticDomain, domainPlugin } from "../common/domain.ts";
import type { GroundTruthMapper } from "../data/verl.ts";
import {
  type IfevalGroundTruth,
  type IfevalOptions,
  parseIfevalGroundTruth,
  verifyIfeval,
} from "./evaluate.ts";
import { ifSyntheticTasks } from "./generator.ts";
import { IFEVAL_DOMAIN_INFO, IFEVAL_OPTIONS, type IfevalDomainOptions } from "./schema.ts";

export {
  IFEVAL_OPTIONS,
  IFEVAL_OPTIONS_SCHEMA,
  type IfevalDomainOptions,
  type ResolvedIfevalDomainOptions,
} from "./schema.ts";

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

/** The verifier's options from the domain's options (the declaration's defaults for keys not given). */
export function resolveIfevalOptions(o: IfevalDomainOptions = {}): IfevalOptions {
  const { mode, reward, thinkGate, languageMinLength } = withDefaults(IFEVAL_OPTIONS, o);
  return { mode, reward, thinkGate, detect: { minLength: languageMinLength } };
}

export const ifevalDomainFactory: DomainFactory<IfevalDomainOptions, IfevalGroundTruth> = {
  ...IFEVAL_DOMAIN_INFO,
  create(options: IfevalDomainOptions, context: DomainContext): Domain<IfevalGroundTruth> {
    const o = withDefaults(IFEVAL_OPTIONS, options);
    const vo = resolveIfevalOptions(o);
    const syn = o.synthetic;
    return dataOrSyntheticDomain<IfevalGroundTruth>({
      name: "ifeval",
      options: o,
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
