import { randomBytes } from "node:crypto";
import type { Verification } from "@m2rl/core";
import type { Sandbox, SandboxResult } from "../sandbox/sandbox.ts";
import { outputsMatch, preview, valuesMatch } from "./compare.ts";
import {
  type BatchTestReport,
  JS_HARNESS,
  PYTHON_BATCH_RUNNER,
  PYTHON_HARNESS,
  parseBatchOutput,
  parseHarnessOutput,
} from "./harness.ts";
import type { CallGroundTruth, CodeGroundTruth, RewardMode, StdioGroundTruth } from "./types.ts";
import { isCallStyle } from "./types.ts";

/**
 * How stdin/stdout tests of one response are isolated from each other:
 * - `process` (default; Python only, JavaScript always uses `sandbox`): one sandbox per response and a fresh
 *   forked process per test (PYTHON_BATCH_RUNNER). Isolation from the host is the same; tests of the same response
 *   share the sandbox's scratch folder. Several times faster: one bubblewrap and interpreter start per response.
 * - `sandbox`: a fresh sandbox (and interpreter) per test.
 */
export type TestIsolation = "process" | "sandbox";

export interface RunTestsOptions {
  reward: RewardMode;
  isolation?: TestIsolation;
  /** Cancels the runs: running sandboxes are killed and the call rejects (a SandboxError saying so). */
  signal?: AbortSignal;
}

/** Failure of one test, in the order of the checks (the first one names the verification's detail). */
interface Failure {
  index: number;
  kind: "timeout" | "wrong" | "runtime";
  message: string;
}

const describeRun = (r: SandboxResult): string => {
  switch (r.outcome) {
    case "timeout":
      return `time limit exceeded after ${Math.round(r.wallMs)} ms`;
    case "memory":
      return "memory limit exceeded";
    case "output_limit":
      return "output limit exceeded";
    case "signal":
      return `killed by signal (status ${r.exitCode ?? "?"})`;
    default: {
      const last = r.stderr.trim().split("\n").pop() ?? "";
      return `exit status ${r.exitCode}${last ? `: ${last.slice(0, 200)}` : ""}`;
    }
  }
};

function conclude(
  total: number,
  passed: number,
  failures: Failure[],
  mode: RewardMode,
  program: string,
): Verification {
  const extracted = program.length > 4000 ? `${program.slice(0, 4000)}…` : program;
  if (failures.length === 0)
    return { reward: 1, status: "correct", extracted, detail: `${passed}/${total} tests passed` };
  const first = failures[0] as Failure;
  const reward = mode === "fraction" ? passed / total : 0;
  const status = failures.some((f) => f.kind === "timeout") ? "timeout" : "incorrect";
  return {
    reward,
    status,
    extracted,
    detail: `${passed}/${total} tests passed; test ${first.index + 1} failed: ${first.message}`,
  };
}

/** Stdin/stdout style: one fresh sandbox per test. In `all` mode tests run in order and stop at the first failure. */
export async function runStdioTests(
  sandbox: Sandbox,
  program: string,
  gt: StdioGroundTruth,
  opts: RunTestsOptions,
): Promise<Verification> {
  const failures: Failure[] = [];
  let passed = 0;
  const check = (i: number, r: SandboxResult) => {
    const t = gt.tests[i] as { input: string; output: string };
    if (r.outcome === "ok" && outputsMatch(r.stdout, t.output)) passed++;
    else if (r.outcome === "ok")
      failures.push({
        index: i,
        kind: "wrong",
        message: `expected ${preview(t.output)}, got ${preview(r.stdout)}`,
      });
    else
      failures.push({
        index: i,
        kind: r.outcome === "timeout" ? "timeout" : "runtime",
        message: describeRun(r),
      });
  };
  if (gt.language === "python" && (opts.isolation ?? "process") === "process") {
    const reports = await runPythonBatch(sandbox, program, gt, opts.reward === "all", opts.signal);
    for (let i = 0; i < gt.tests.length; i++) {
      const rep = reports.results[i];
      if (rep) check(i, rep);
      else if (reports.run.outcome === "timeout" || failures.some((f) => f.kind === "timeout"))
        failures.push({
          index: i,
          kind: "timeout",
          message: "not run: an earlier test or the whole run timed out",
        });
      else failures.push({ index: i, kind: "runtime", message: `no result (${describeRun(reports.run)})` });
      if (opts.reward === "all" && failures.length) break;
    }
  } else if (opts.reward === "all") {
    for (let i = 0; i < gt.tests.length && failures.length === 0; i++) {
      const t = gt.tests[i] as { input: string };
      check(
        i,
        await sandbox.run({ language: gt.language, code: program, stdin: t.input, signal: opts.signal }),
      );
    }
  } else {
    const results = await Promise.all(
      gt.tests.map((t) =>
        sandbox.run({ language: gt.language, code: program, stdin: t.input, signal: opts.signal }),
      ),
    );
    results.forEach((r, i) => {
      check(i, r);
    });
  }
  return conclude(gt.tests.length, passed, failures, opts.reward, program);
}

/** Runs every test of a Python program in one sandbox, a fresh forked process per test. */
async function runPythonBatch(
  sandbox: Sandbox,
  program: string,
  gt: StdioGroundTruth,
  stopOnTimeout: boolean,
  signal?: AbortSignal,
): Promise<{ results: SandboxResult[]; run: SandboxResult }> {
  const nonce = `@@m2rl-${randomBytes(12).toString("hex")}@@`;
  const per = sandbox.limits;
  const n = gt.tests.length;
  const run = await sandbox.run({
    language: "python",
    code: PYTHON_BATCH_RUNNER,
    files: { "solution.py": program },
    stdin: JSON.stringify({
      nonce,
      inputs: gt.tests.map((t) => t.input),
      wall_ms: per.wallMs,
      out_cap: per.stdoutBytes,
      err_cap: per.stderrBytes,
      stop_on_timeout: stopOnTimeout,
    }),
    limits: {
      wallMs: per.wallMs * n + 2000,
      // JSON escaping can grow output up to 6x; the runner enforces the per-test caps itself.
      stdoutBytes: (6 * per.stdoutBytes + 4096) * n,
      stderrBytes: 64 * 1024,
    },
    signal,
  });
  const results = parseBatchOutput(run.stdout, nonce).map(reportToResult);
  return { results, run };
}

function reportToResult(r: BatchTestReport): SandboxResult {
  const base = {
    exitCode: r.exit,
    stdout: r.stdout,
    stderr: r.stderr,
    truncated: r.why === "output_limit",
    wallMs: r.ms,
  };
  if (r.why) return { ...base, outcome: r.why };
  if (r.exit === 0) return { ...base, outcome: "ok" };
  if (/\bMemoryError\b/.test(r.stderr)) return { ...base, outcome: "memory" };
  if (r.signal !== null) return { ...base, exitCode: 128 + r.signal, outcome: "signal" };
  return { ...base, outcome: "exit" };
}

/** Function-call style: one sandbox per response; a harness calls the function on every test in that process. */
export async function runCallTests(
  sandbox: Sandbox,
  program: string,
  gt: CallGroundTruth,
  opts: RunTestsOptions,
): Promise<Verification> {
  const nonce = `@@m2rl-${randomBytes(12).toString("hex")}@@`;
  const py = gt.language === "python";
  const r = await sandbox.run({
    language: gt.language,
    code: py ? PYTHON_HARNESS : JS_HARNESS,
    files: { [py ? "solution.py" : "solution.js"]: program },
    stdin: JSON.stringify({ nonce, fn_name: gt.fn_name, tests: gt.tests.map((t) => t.args) }),
    signal: opts.signal,
  });
  const lines = parseHarnessOutput(r.stdout, nonce);
  const failures: Failure[] = [];
  let passed = 0;
  const first = lines[0];
  if (first && "load" in first) {
    failures.push({ index: 0, kind: "runtime", message: `program failed to load: ${first.load}` });
    return conclude(gt.tests.length, 0, failures, opts.reward, program);
  }
  gt.tests.forEach((t, i) => {
    const line = lines[i];
    if (!line || "load" in line) {
      failures.push({
        index: i,
        kind: r.outcome === "timeout" ? "timeout" : "runtime",
        message: r.outcome === "ok" ? "no result (the program ended the process)" : describeRun(r),
      });
    } else if (!line.ok) failures.push({ index: i, kind: "runtime", message: line.error });
    else if (valuesMatch(line.value, t.expected)) passed++;
    else
      failures.push({
        index: i,
        kind: "wrong",
        message: `${gt.fn_name}(${preview(t.args, 60).slice(1, -1)}): expected ${preview(t.expected)}, got ${preview(line.value)}`,
      });
  });
  return conclude(gt.tests.length, passed, failures, opts.reward, program);
}

export function runTests(
  sandbox: Sandbox,
  program: string,
  gt: CodeGroundTruth,
  opts: RunTestsOptions,
): Promise<Verification> {
  return isCallStyle(gt)
    ? runCallTests(sandbox, program, gt, opts)
    : runStdioTests(sandbox, program, gt, opts);
}
