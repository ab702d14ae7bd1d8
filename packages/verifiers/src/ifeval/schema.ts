/**
 * The ifeval domain's name, description and options, declared once: the options type, the JSON Schema the host
 * validates with and the defaults all derive from `IFEVAL_OPTIONS`. What validating an experiment needs, without
 * the verifier (domain.ts builds the domain from these).
 */
import {
  choice,
  defaultsOf,
  group,
  int,
  type OptionsInput,
  type OptionsOf,
  schemaOf,
} from "@m2rl/core/plugin";
import { DATA_FILES, DEFAULT_COUNT, domainName, PROMPT_TEMPLATE, THINK_GATE } from "../common/schema.ts";
import { IF_SYNTHETIC_OPTIONS } from "./generator.ts";

export const IFEVAL_OPTIONS = group("Options of the ifeval (instruction following) domain.", {
  name: domainName("ifeval"),
  mode: choice(
    ["strict", "loose"],
    "strict (the paper) grades the response as it is; loose also accepts it without markdown `*`, its first or last line.",
    "strict",
  ),
  reward: choice(
    ["all", "fraction"],
    "all (the paper, prompt level): 1 only when every instruction is followed; fraction: the share followed.",
    "all",
  ),
  thinkGate: THINK_GATE,
  languageMinLength: int(
    "Responses shorter than this many characters have an undetermined language: the language check passes (default 10).",
    10,
    1,
    1000,
  ),
  promptTemplate: PROMPT_TEMPLATE,
  data: DATA_FILES,
  synthetic: IF_SYNTHETIC_OPTIONS,
  defaultCount: DEFAULT_COUNT,
});

/** The ifeval domain's options as given (every key optional). */
export type IfevalDomainOptions = OptionsInput<typeof IFEVAL_OPTIONS>;
/** The ifeval domain's options with the defaults applied. */
export type ResolvedIfevalDomainOptions = OptionsOf<typeof IFEVAL_OPTIONS>;

export const IFEVAL_DEFAULTS: ResolvedIfevalDomainOptions = defaultsOf(IFEVAL_OPTIONS);

export const IFEVAL_OPTIONS_SCHEMA = schemaOf(IFEVAL_OPTIONS);

/** Name, description and options schema of the `ifeval` domain factory. */
export const IFEVAL_DOMAIN_INFO = {
  name: "ifeval",
  description: "Instruction following: the 25 verifiable instructions of IFEval, strict or loose",
  optionsSchema: IFEVAL_OPTIONS_SCHEMA,
} as const;
