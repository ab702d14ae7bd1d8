/**
 * The code domain's name, description and options, declared once: the options type, the JSON Schema the host
 * validates with and the defaults all derive from `CODE_OPTIONS`. What validating an experiment needs, without the
 * verifier (domain.ts builds the domain from these).
 */
import {
  choice,
  group,
  int,
  type OptionsInput,
  type OptionsOf,
  optional,
  schemaOf,
  value,
} from "@m2rl/core/plugin";
import { DATA_FILES, DEFAULT_COUNT, domainName, PROMPT_TEMPLATE, THINK_GATE } from "../common/schema.ts";
import { LIMITS_SCHEMA, type SandboxLimits } from "../sandbox/limits.ts";
import { CODE_SYNTHETIC_OPTIONS } from "./generator.ts";

/** The options grading one response reads (`verifyCode`), part of `CODE_OPTIONS`. */
export const CODE_VERIFY_OPTIONS = group("How the code domain grades a response.", {
  reward: choice(
    ["all", "fraction"],
    "all (the paper; default): reward 1 only when every test passes; fraction: the share of tests passed.",
    "all",
  ),
  testIsolation: choice(
    ["process", "sandbox"],
    "stdin/stdout tests of a Python response: `process` (default) = one sandbox per response, a fresh forked " +
      "process per test; `sandbox` = a fresh sandbox per test.",
    "process",
  ),
  thinkGate: THINK_GATE,
  defaultLanguage: choice(
    ["python", "javascript"],
    "Language of ground truths that do not name one (default python).",
    "python",
  ),
});

export const CODE_OPTIONS = group("Options of the code domain.", {
  name: domainName("code"),
  ...CODE_VERIFY_OPTIONS.props,
  limits: optional(
    value<Partial<SandboxLimits>>(
      LIMITS_SCHEMA,
      "Resource limits of one sandboxed run, over the sandbox's defaults (wall 10 s, CPU 5 s, memory 512 MiB, …).",
      {},
    ),
  ),
  concurrency: optional(int("Sandboxes running at once (default: the CPU count).", 1, 1, 256)),
  promptTemplate: PROMPT_TEMPLATE,
  data: DATA_FILES,
  synthetic: CODE_SYNTHETIC_OPTIONS,
  defaultCount: DEFAULT_COUNT,
});

/** The code domain's options as given (every key optional). */
export type CodeDomainOptions = OptionsInput<typeof CODE_OPTIONS>;
/** The code domain's options with the defaults applied. */
export type ResolvedCodeDomainOptions = OptionsOf<typeof CODE_OPTIONS>;

export const CODE_OPTIONS_SCHEMA = schemaOf(CODE_OPTIONS);

/** Name, description and options schema of the `code` domain factory. */
export const CODE_DOMAIN_INFO = {
  name: "code",
  description:
    "Python / JavaScript programs run against stdin/stdout or function-call tests in a bubblewrap sandbox",
  optionsSchema: CODE_OPTIONS_SCHEMA,
} as const;
