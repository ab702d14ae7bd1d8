/**
 * The science domain's name, description and options, declared once: the options type, the JSON Schema the host
 * validates with and the defaults all derive from `SCIENCE_OPTIONS`. What validating an experiment needs, without
 * the verifier (domain.ts builds the domain from these).
 */
import {
  bool,
  defaultsOf,
  group,
  int,
  num,
  type OptionsInput,
  type OptionsOf,
  schemaOf,
} from "@m2rl/core/plugin";
import { DATA_FILES, DEFAULT_COUNT, domainName, PROMPT_TEMPLATE, THINK_GATE } from "../common/schema.ts";
import { SCIENCE_SYNTHETIC_OPTIONS } from "./generator.ts";

export const SCIENCE_OPTIONS = group("Options of the science domain.", {
  name: domainName("science"),
  thinkGate: THINK_GATE,
  maxChoices: int(
    "Multiple-choice letters accepted: A up to the maxChoices-th letter (default 10: A-J).",
    10,
    2,
    26,
  ),
  heuristics: bool("Last-line / parenthesised / trailing letter fallbacks (default true).", true),
  relTolerance: num("Relative tolerance of numeric answers (default 0.01).", 0.01, {
    minimum: 0,
    maximum: 1,
  }),
  promptTemplate: PROMPT_TEMPLATE,
  data: DATA_FILES,
  synthetic: SCIENCE_SYNTHETIC_OPTIONS,
  defaultCount: DEFAULT_COUNT,
});

/** The science domain's options as given (every key optional). */
export type ScienceDomainOptions = OptionsInput<typeof SCIENCE_OPTIONS>;
/** The science domain's options with the defaults applied. */
export type ResolvedScienceDomainOptions = OptionsOf<typeof SCIENCE_OPTIONS>;

export const SCIENCE_DEFAULTS: ResolvedScienceDomainOptions = defaultsOf(SCIENCE_OPTIONS);

export const SCIENCE_OPTIONS_SCHEMA = schemaOf(SCIENCE_OPTIONS);

/** Name, description and options schema of the `science` domain factory. */
export const SCIENCE_DOMAIN_INFO = {
  name: "science",
  description: "Science: multiple-choice letter extraction and numeric answers with relative tolerance",
  optionsSchema: SCIENCE_OPTIONS_SCHEMA,
} as const;
