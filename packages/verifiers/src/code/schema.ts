/**
 * The code domain's name, description and options schema: what validating an experiment needs, without the
 * verifier (domain.ts builds the domain from these).
 */
import { THINK_GATE_SCHEMA } from "../common/think.ts";
import { DATA_FILES_SCHEMA } from "../data/schema.ts";
import { LIMITS_SCHEMA } from "../sandbox/limits.ts";
import { CODE_SYNTHETIC_SCHEMA } from "./generator.ts";

export const CODE_OPTIONS_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string", minLength: 1, description: "domain name (default: code)" },
    reward: { enum: ["all", "fraction"], description: "all-pass (default) or fraction of tests passed" },
    testIsolation: {
      enum: ["process", "sandbox"],
      description:
        "stdin/stdout tests of a Python response: `process` (default) = one sandbox per response, a fresh forked process per test; `sandbox` = a fresh sandbox per test",
    },
    thinkGate: THINK_GATE_SCHEMA,
    defaultLanguage: { enum: ["python", "javascript"] },
    limits: LIMITS_SCHEMA,
    concurrency: { type: "integer", minimum: 1, maximum: 256 },
    promptTemplate: { type: "string", description: "template with {prompt}" },
    data: DATA_FILES_SCHEMA,
    synthetic: CODE_SYNTHETIC_SCHEMA,
    defaultCount: { type: "integer", minimum: 1 },
  },
} as const;

/** Name, description and options schema of the `code` domain factory. */
export const CODE_DOMAIN_INFO = {
  name: "code",
  description:
    "Python / JavaScript programs run against stdin/stdout or function-call tests in a bubblewrap sandbox",
  optionsSchema: CODE_OPTIONS_SCHEMA,
} as const;
