/**
 * The math domain's name, description and options, declared once: the options type, the JSON Schema the host
 * validates with and the defaults all derive from `MATH_OPTIONS`. What validating an experiment needs, without the
 * verifier (domain.ts builds the domain from these).
 */
import {
  bool,
  defaultsOf,
  group,
  num,
  type OptionsInput,
  type OptionsOf,
  schemaOf,
  subset,
} from "@m2rl/core/plugin";
import { DATA_FILES, DEFAULT_COUNT, domainName, PROMPT_TEMPLATE, THINK_GATE } from "../common/schema.ts";
import { DEFAULT_EXTRACTION, MATH_EXTRACTORS } from "./extract.ts";
import { MATH_SYNTHETIC_OPTIONS } from "./generator.ts";

export const MATH_OPTIONS = group("Options of the math domain.", {
  name: domainName("math"),
  thinkGate: THINK_GATE,
  extraction: subset(
    MATH_EXTRACTORS,
    "Answer extractors in order, the first that finds an answer wins (default: boxed, answer_phrase, last_number).",
    [...DEFAULT_EXTRACTION],
  ),
  tolerance: num("Relative tolerance of approximate numbers (default 1e-6).", 1e-6, {
    minimum: 0,
    maximum: 0.1,
  }),
  percentAsFraction: bool("Accept `50%` for `0.5` and the reverse (default true).", true),
  equationRhs: bool(
    "Accept `3` for `x = 3` and the reverse when one side is a lone variable (default true).",
    true,
  ),
  unorderedLists: bool('Compare bare comma lists ("1, 2") as sets (default true).', true),
  promptTemplate: PROMPT_TEMPLATE,
  data: DATA_FILES,
  synthetic: MATH_SYNTHETIC_OPTIONS,
  defaultCount: DEFAULT_COUNT,
});

/** The math domain's options as given (every key optional). */
export type MathDomainOptions = OptionsInput<typeof MATH_OPTIONS>;
/** The math domain's options with the defaults applied. */
export type ResolvedMathDomainOptions = OptionsOf<typeof MATH_OPTIONS>;

export const MATH_DEFAULTS: ResolvedMathDomainOptions = defaultsOf(MATH_OPTIONS);

export const MATH_OPTIONS_SCHEMA = schemaOf(MATH_OPTIONS);

/** Name, description and options schema of the `math` domain factory. */
export const MATH_DOMAIN_INFO = {
  name: "math",
  description:
    "Math answers: \\boxed{} / answer phrase / last number; numeric, symbolic and structural equivalence",
  optionsSchema: MATH_OPTIONS_SCHEMA,
} as const;
