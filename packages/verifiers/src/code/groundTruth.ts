import { VerifierError } from "@m2rl/core";
import { Ajv } from "ajv";
import type { Language } from "../sandbox/languages.ts";
import type { CodeGroundTruth } from "./types.ts";

const language = { enum: ["python", "javascript"] };
const identifier = { type: "string", pattern: "^[A-Za-z_$][A-Za-z0-9_$]*$", maxLength: 200 };

/** JSON Schema of the code ground truth: stdin/stdout style, function-call style, or the APPS/TACO-style
 * `{"inputs": [...], "outputs": [...], "fn_name"?}` lists (converted to one of the first two). */
export const CODE_GROUND_TRUTH_SCHEMA = {
  $id: "m2rl:code-ground-truth",
  oneOf: [
    {
      type: "object",
      required: ["tests"],
      not: { required: ["fn_name"] },
      properties: {
        language,
        tests: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["input", "output"],
            properties: { input: { type: "string" }, output: { type: "string" } },
          },
        },
      },
    },
    {
      type: "object",
      required: ["fn_name", "tests"],
      properties: {
        language,
        fn_name: identifier,
        tests: {
          type: "array",
          minItems: 1,
          items: { type: "object", required: ["args", "expected"], properties: { args: { type: "array" } } },
        },
      },
    },
    {
      type: "object",
      required: ["inputs", "outputs"],
      properties: {
        language,
        fn_name: identifier,
        inputs: { type: "array", minItems: 1 },
        outputs: { type: "array" },
      },
    },
  ],
} as const;

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(CODE_GROUND_TRUTH_SCHEMA);

/**
 * Checks and normalises a code ground truth (an object or its JSON text). Throws VerifierError naming the field
 * at fault: a malformed ground truth is the data's fault, never the response's.
 */
export function parseCodeGroundTruth(raw: unknown, defaultLanguage: Language = "python"): CodeGroundTruth {
  let gt = raw;
  if (typeof gt === "string") {
    try {
      gt = JSON.parse(gt);
    } catch {
      throw new VerifierError("code ground truth is a string but not JSON", { path: "ground_truth" });
    }
  }
  if (!validate(gt)) {
    const e = validate.errors?.[0];
    throw new VerifierError(
      `bad code ground truth: expected {language, tests: [{input, output}]} or {language, fn_name, tests: [{args, expected}]} or {inputs, outputs}${e ? ` (${e.instancePath || "/"} ${e.message})` : ""}`,
      { path: "ground_truth" },
    );
  }
  const o = gt as Record<string, unknown>;
  const lang = (o.language as Language | undefined) ?? defaultLanguage;
  if ("inputs" in o) {
    const inputs = o.inputs as unknown[];
    const outputs = o.outputs as unknown[];
    if (inputs.length !== outputs.length)
      throw new VerifierError(`inputs (${inputs.length}) and outputs (${outputs.length}) differ in length`, {
        path: "ground_truth",
      });
    if (typeof o.fn_name === "string") {
      return {
        language: lang,
        fn_name: o.fn_name,
        tests: inputs.map((args, i) => {
          if (!Array.isArray(args))
            throw new VerifierError("function-call inputs must be argument arrays", {
              path: `ground_truth.inputs[${i}]`,
            });
          return { args, expected: outputs[i] };
        }),
      };
    }
    return {
      language: lang,
      tests: inputs.map((input, i) => {
        const output = outputs[i];
        if (typeof input !== "string" || typeof output !== "string")
          throw new VerifierError("stdin/stdout inputs and outputs must be strings", {
            path: `ground_truth.inputs[${i}]`,
          });
        return { input, output };
      }),
    };
  }
  if (typeof o.fn_name === "string")
    return { language: lang, fn_name: o.fn_name, tests: o.tests as { args: unknown[]; expected: unknown }[] };
  return { language: lang, tests: o.tests as { input: string; output: string }[] };
}
