/**
 * The code domain: programs are run against test cases in the bubblewrap sandbox. A DomainFactory with the JSON
 * Schema of its options, and a plugin that registers it.
 */

import {
  DataError,
  type Domain,
  type DomainContext,
  type DomainFactory,
  type OptionsInput,
  type Plugin,
  type TaskQuery,
  type Verification,
  type VerifyInput,
  withDefaults,
} from "@m2rl/core";
import { applyThinkGate } from "../common/think.ts";
import { loadSplit } from "../data/load.ts";
import { Sandbox } from "../sandbox/sandbox.ts";
import { extractProgram } from "./extract.ts";
import { codeSyntheticTasks } from "./generator.ts";
import { parseCodeGroundTruth } from "./groundTruth.ts";
import { CODE_DOMAIN_INFO, CODE_OPTIONS, CODE_VERIFY_OPTIONS, type CodeDomainOptions } from "./schema.ts";
import type { CodeGroundTruth } from "./types.ts";
import { runTests } from "./verify.ts";

export {
  CODE_OPTIONS,
  CODE_OPTIONS_SCHEMA,
  CODE_VERIFY_OPTIONS,
  type CodeDomainOptions,
  type ResolvedCodeDomainOptions,
} from "./schema.ts";

/**
 * Grades one response against a code ground truth. Never throws. When `input.signal` aborts, the running sandbox is
 * killed and the result is `timeout` with a detail saying the check was cancelled.
 */
export async function verifyCode(
  sandbox: Sandbox,
  input: { response: string; groundTruth: unknown; signal?: AbortSignal },
  given: OptionsInput<typeof CODE_VERIFY_OPTIONS> = {},
): Promise<Verification> {
  const options = withDefaults(CODE_VERIFY_OPTIONS, given);
  const gate = applyThinkGate(input.response, { mode: options.thinkGate });
  if (!gate.ok) return gate.verification;
  let gt: CodeGroundTruth;
  try {
    gt = parseCodeGroundTruth(input.groundTruth, options.defaultLanguage);
  } catch (e) {
    return { reward: 0, status: "error", detail: (e as Error).message };
  }
  const extracted = extractProgram(gate.text);
  if (!extracted) return { reward: 0, status: "unparsable", detail: "no program in the response" };
  const signal = input.signal;
  const cancelled = (): Verification => ({
    reward: 0,
    status: "timeout",
    extracted: extracted.program,
    detail: "cancelled before the tests finished (the caller's deadline passed)",
  });
  if (signal?.aborted) return cancelled();
  try {
    const v = await runTests(sandbox, extracted.program, gt, {
      reward: options.reward,
      isolation: options.testIsolation,
      signal,
    });
    return signal?.aborted ? cancelled() : v;
  } catch (e) {
    if (signal?.aborted) return cancelled();
    return {
      reward: 0,
      status: "error",
      extracted: extracted.program,
      detail: `sandbox failed: ${(e as Error).message}`,
    };
  }
}

export const codeDomainFactory: DomainFactory<CodeDomainOptions, CodeGroundTruth> = {
  ...CODE_DOMAIN_INFO,
  create(given: CodeDomainOptions, context: DomainContext): Domain<CodeGroundTruth> {
    const options = withDefaults(CODE_OPTIONS, given);
    const { name, synthetic: syn } = options;
    const verifyOptions = {
      reward: options.reward,
      testIsolation: options.testIsolation,
      thinkGate: options.thinkGate,
      defaultLanguage: options.defaultLanguage,
    };
    let sandbox: Sandbox | undefined;
    const getSandbox = () => {
      sandbox ??= new Sandbox({ concurrency: options.concurrency, limits: options.limits });
      return sandbox;
    };
    return {
      name,
      async tasks(query: TaskQuery) {
        const fromData = options.data
          ? await loadSplit<CodeGroundTruth>(options.data, query, {
              domain: name,
              context,
              template: options.promptTemplate,
              mapGroundTruth: (raw, _row, where) => {
                try {
                  return parseCodeGroundTruth(raw, options.defaultLanguage);
                } catch (e) {
                  throw new DataError((e as Error).message, {
                    file: where.file,
                    line: where.line,
                    path: "reward_model.ground_truth",
                  });
                }
              },
            })
          : undefined;
        if (fromData) return fromData;
        const count = query.count ?? options.defaultCount ?? (query.split === "train" ? 2000 : 200);
        return codeSyntheticTasks(name, query.split, query.seed, count, syn, options.promptTemplate);
      },
      verify(input: VerifyInput<CodeGroundTruth>) {
        return verifyCode(getSandbox(), input, verifyOptions);
      },
      async close() {
        await sandbox?.close();
        sandbox = undefined;
      },
    };
  },
};

/** Registers the `code` domain. */
export const codePlugin: Plugin = {
  name: "m2rl-domain-code",
  apply(host) {
    host.registry.domains.register("m2rl-domain-code", codeDomainFactory);
  },
};
