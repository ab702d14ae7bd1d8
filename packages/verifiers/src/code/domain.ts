/**
 * The code domain: programs are run against test cases in the bubblewrap sandbox. A DomainFactory with the JSON
 * Schema of its options, and a plugin that registers it.
 */

import type {
  Domain,
  DomainContext,
  DomainFactory,
  Plugin,
  TaskQuery,
  Verification,
  VerifyInput,
} from "@m2rl/core";
import { DataError } from "@m2rl/core";
import { applyThinkGate, type ThinkGateMode } from "../common/think.ts";
import { type DataFiles, loadSplit } from "../data/load.ts";
import type { Language } from "../sandbox/languages.ts";
import type { SandboxLimits } from "../sandbox/limits.ts";
import { Sandbox } from "../sandbox/sandbox.ts";
import { extractProgram } from "./extract.ts";
import { type CodeSyntheticOptions, codeSyntheticTasks, DEFAULT_CODE_SYNTHETIC } from "./generator.ts";
import { parseCodeGroundTruth } from "./groundTruth.ts";
import { CODE_DOMAIN_INFO } from "./schema.ts";
import type { CodeGroundTruth, RewardMode } from "./types.ts";
import { runTests, type TestIsolation } from "./verify.ts";

export { CODE_OPTIONS_SCHEMA } from "./schema.ts";

export interface CodeDomainOptions {
  name?: string;
  /** `all` (default, the paper): reward 1 only when every test passes; `fraction`: passed / total. */
  reward?: RewardMode;
  /** `process` (default): one sandbox per response, a fresh process per test (Python); `sandbox`: one per test. */
  testIsolation?: TestIsolation;
  thinkGate?: ThinkGateMode;
  /** Language of ground truths that do not name one. */
  defaultLanguage?: Language;
  limits?: Partial<SandboxLimits>;
  /** Sandboxes running at once (default: CPU count). */
  concurrency?: number;
  promptTemplate?: string;
  data?: DataFiles;
  synthetic?: Partial<CodeSyntheticOptions>;
  defaultCount?: number;
}

/**
 * Grades one response against a code ground truth. Never throws. When `input.signal` aborts, the running sandbox is
 * killed and the result is `timeout` with a detail saying the check was cancelled.
 */
export async function verifyCode(
  sandbox: Sandbox,
  input: { response: string; groundTruth: unknown; signal?: AbortSignal },
  options: Pick<CodeDomainOptions, "reward" | "thinkGate" | "defaultLanguage" | "testIsolation"> = {},
): Promise<Verification> {
  const gate = applyThinkGate(input.response, { mode: options.thinkGate ?? "optional" });
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
      reward: options.reward ?? "all",
      isolation: options.testIsolation ?? "process",
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
  create(options: CodeDomainOptions, context: DomainContext): Domain<CodeGroundTruth> {
    const name = options.name ?? "code";
    const syn = { ...DEFAULT_CODE_SYNTHETIC, ...options.synthetic };
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
        return verifyCode(getSandbox(), input, options);
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
