/**
 * `m2rl verify`, loaded when it runs: a domain from the verifier plugins and JSONL scoring with it (`serve` creates
 * its domains here too).
 */
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Writable } from "node:stream";
import {
  ConfigError,
  type Domain,
  type Plugin,
  PluginHost,
  VERIFICATION_STATUSES,
  type Verification,
  type VerificationStatus,
} from "@m2rl/core";
import { SingleBar } from "cli-progress";
import { loadBuiltinPlugins } from "../plugins/builtin.ts";
import { loadPlugin } from "../plugins/load.ts";
import type { VerifyOptions } from "./verify.ts";

/** A host with the built-in plugins and `--plugin` modules applied (warnings go to stderr). */
export async function verifierHost(pluginSpecifiers: readonly string[] = []): Promise<PluginHost> {
  const builtin = await loadBuiltinPlugins(["@m2rl/verifiers"]);
  for (const w of builtin.warnings) process.stderr.write(`warning: ${w}\n`);
  const extra: Plugin[] = [];
  for (const s of pluginSpecifiers) extra.push(...(await loadPlugin(s, process.cwd())));
  return new PluginHost([...builtin.plugins, ...extra]);
}

/** Creates a registered domain with options validated against its schema; throws ConfigError naming the problem. */
export async function createDomain(
  host: PluginHost,
  name: string,
  options: Record<string, unknown> = {},
): Promise<Domain> {
  const factory = host.registry.domains.get(name);
  const problems = host.validateOptions(
    host.registry.domains.owner(name) ?? name,
    factory.optionsSchema,
    options,
    ["options"],
  );
  if (problems.length)
    throw new ConfigError(problems.map((p) => `${JSON.stringify(p.path)} ${p.message}`).join("; "), {
      plugin: name,
    });
  return factory.create(options, { baseDir: process.cwd() });
}

export interface ScoreSummary {
  domain: string;
  lines: number;
  badLines: number;
  meanReward: number;
  statuses: Record<VerificationStatus, number>;
}

/** One scored output line: the input object plus the verification, or the bad line's error. */
type Scored = Record<string, unknown>;

/** Parses and grades one input line. Never throws: a bad line becomes `{reward: 0, status: "error", error}`. */
async function scoreLine(
  domain: Domain,
  text: string,
  lineNo: number,
): Promise<{ out: Scored; bad: boolean }> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return {
      out: { line: lineNo, reward: 0, status: "error", error: `not JSON: ${(e as Error).message}` },
      bad: true,
    };
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj))
    return {
      out: { line: lineNo, reward: 0, status: "error", error: "line is not a JSON object" },
      bad: true,
    };
  const o = obj as Record<string, unknown>;
  const groundTruth = o.ground_truth !== undefined ? o.ground_truth : o.groundTruth;
  const missing = [
    typeof o.response !== "string" && "response (string)",
    groundTruth === undefined && "ground_truth",
  ]
    .filter(Boolean)
    .join(", ");
  if (missing)
    return { out: { ...o, reward: 0, status: "error", error: `missing field: ${missing}` }, bad: true };
  let v: Verification;
  try {
    v = await domain.verify({ response: o.response as string, groundTruth });
  } catch (e) {
    v = { reward: 0, status: "error", detail: `verifier threw: ${(e as Error).message}` };
  }
  return {
    out: {
      ...o,
      reward: v.reward,
      status: v.status,
      extracted: v.extracted ?? null,
      detail: v.detail ?? null,
    },
    bad: false,
  };
}

/**
 * Scores a JSONL stream: at most `concurrency` lines in flight, output in input order, one line out per line in
 * (blank lines skipped). Returns the summary.
 */
export async function scoreJsonl(opts: {
  domain: Domain;
  lines: AsyncIterable<string>;
  out: Writable;
  concurrency: number;
  onProgress?: (done: number) => void;
}): Promise<ScoreSummary> {
  const statuses = Object.fromEntries(VERIFICATION_STATUSES.map((s) => [s, 0])) as Record<
    VerificationStatus,
    number
  >;
  let lines = 0;
  let badLines = 0;
  let rewardSum = 0;
  const window: Promise<{ out: Scored; bad: boolean }>[] = [];
  const flushOne = async () => {
    const r = await (window.shift() as Promise<{ out: Scored; bad: boolean }>);
    lines++;
    if (r.bad) badLines++;
    const status = r.out.status as VerificationStatus;
    statuses[status] = (statuses[status] ?? 0) + 1;
    rewardSum += r.out.reward as number;
    if (!opts.out.write(`${JSON.stringify(r.out)}\n`))
      await new Promise((res) => opts.out.once("drain", res));
    opts.onProgress?.(lines);
  };
  let lineNo = 0;
  for await (const text of opts.lines) {
    lineNo++;
    if (!text.trim()) continue;
    window.push(scoreLine(opts.domain, text, lineNo));
    if (window.length >= opts.concurrency) await flushOne();
  }
  while (window.length) await flushOne();
  return { domain: opts.domain.name, lines, badLines, meanReward: lines ? rewardSum / lines : 0, statuses };
}

async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file)) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  }
  return n;
}

/** `m2rl verify`: scores the input file; resolves to 2 on bad input or options, 1 when a line was bad, else 0. */
export async function verify(opts: VerifyOptions): Promise<number> {
  const input = resolve(opts.in);
  if (!existsSync(input)) {
    process.stderr.write(`m2rl verify: input file not found: ${input}\n`);
    return 2;
  }
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) {
    process.stderr.write("m2rl verify: --concurrency must be a positive integer\n");
    return 2;
  }
  let domain: Domain;
  try {
    const options = JSON.parse(opts.options) as Record<string, unknown>;
    domain = await createDomain(await verifierHost(opts.plugin), opts.domain, options);
  } catch (e) {
    process.stderr.write(`m2rl verify: ${(e as Error).message}\n`);
    return 2;
  }
  const total = opts.progress ? await countLines(input) : 0;
  const bar = opts.progress
    ? new SingleBar({
        stream: process.stderr,
        format: `verify ${opts.domain} [{bar}] {value}/{total} lines | {eta_formatted} left`,
        noTTYOutput: true,
        notTTYSchedule: 5000,
      })
    : undefined;
  bar?.start(total, 0);
  const out = opts.out ? createWriteStream(resolve(opts.out)) : process.stdout;
  try {
    const summary = await scoreJsonl({
      domain,
      lines: createInterface({ input: createReadStream(input), crlfDelay: Number.POSITIVE_INFINITY }),
      out,
      concurrency: opts.concurrency,
      onProgress: (n) => bar?.update(n),
    });
    bar?.stop();
    if (out !== process.stdout)
      await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    process.stderr.write(`${JSON.stringify(summary)}\n`);
    return summary.badLines ? 1 : 0;
  } finally {
    bar?.stop();
    await domain.close?.();
  }
}
