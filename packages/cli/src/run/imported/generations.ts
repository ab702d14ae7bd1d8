/**
 * Generations made elsewhere, read back and scored with the experiment's verifiers (`arms.<id>.generations`).
 *
 * Two line formats (JSONL, one object per line):
 * - `verl`: what verl's trainer writes under `trainer.validation_data_dir`, one file per validation step
 *   (`<global_step>.jsonl`; `RayPPOTrainer._dump_generations`, verl/trainer/ppo/ray_trainer.py at b178a3cd):
 *   `input` (the prompt ids decoded with skip_special_tokens=True: the chat template's text without its special
 *   tokens), `output` (the response, decoded the same way), `gts` (the row's reward_model.ground_truth), `score`
 *   (verl's reward), `step`, and the reward function's extra keys (`reward`, ...). Samples of one prompt are
 *   consecutive (`val_kwargs.n` repeats, interleaved). No data_source and no finish reason are written.
 * - `jsonl`: `prompt` (text or a chat list), `response`, a ground truth (`ground_truth`, `gts`,
 *   `reward_model.ground_truth` or `answer`), and optionally `domain` or `data_source`, `task_id`, `sample_index`.
 *
 * Each line is placed in a domain (the spec's `domain`, else the line's `domain` / `data_source`, else the domain
 * whose eval task it answers) and on an eval task: the task of that domain with the same ground truth whose prompt
 * the line's prompt contains (special tokens and whitespace runs aside; the longest such prompt wins), so that the
 * imported rows pair task by task with arms evaluated here. A line that matches no task keeps its own id (`task_id`,
 * else `import-<hash of its prompt>`); a line whose domain cannot be told fails the arm, naming the file and line.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type {
  DomainEval,
  EvalRow,
  GenerationsConfig,
  Task,
  Tokenizer,
  Verification,
  VerificationStatus,
} from "@m2rl/core";
import { emptyStatusCounts, loadTokenizer, mapConcurrent, parseConfig, passAtK } from "@m2rl/core";
import { NodeFileStore } from "@m2rl/io-node";
import { domainOfDataSource } from "@m2rl/verifiers";
import { groundTruthOf, promptOf } from "@m2rl/verifiers/data";
import type { ExecutorContext } from "../executors/context.ts";
import { EVAL_TASK_SEED } from "../executors/context.ts";
import { stableJson } from "../hash.ts";
import type { ArmJob } from "../runner.ts";

export type GenerationsFormat = "verl" | "jsonl";

/** One line of a generations file, read. */
export interface GenerationLine {
  /** The file as written in the experiment, and the 1-based line. */
  file: string;
  line: number;
  format: GenerationsFormat;
  prompt: string;
  response: string;
  /** The ground truth as written (verl: `gts`). */
  groundTruth: unknown;
  domain?: string;
  dataSource?: string;
  taskId?: string;
  sampleIndex?: number;
  /** The engine's own reward (verl: `score`), kept for comparison. */
  engineScore?: number;
  step?: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The format a line's keys say: verl's dump has input / output, plain JSONL has response. */
export function detectFormat(row: Obj): GenerationsFormat | undefined {
  if ("input" in row && "output" in row) return "verl";
  if ("response" in row) return "jsonl";
  return undefined;
}

/** Reads one parsed line; throws an Error whose message names the key at fault. */
export function readLine(
  row: unknown,
  format: GenerationsFormat,
  file: string,
  line: number,
): GenerationLine {
  if (!isObj(row)) throw new Error("not a JSON object");
  const str = (k: string) => {
    const v = row[k];
    if (typeof v !== "string")
      throw new Error(
        `'${k}' must be a string (got ${v === undefined ? "nothing" : JSON.stringify(v)?.slice(0, 40)})`,
      );
    return v;
  };
  const optional = {
    ...(typeof row.data_source === "string" ? { dataSource: row.data_source } : {}),
    ...(typeof row.domain === "string" ? { domain: row.domain } : {}),
  };
  if (format === "verl") {
    const prompt = str("input");
    const response = str("output");
    if (!("gts" in row)) throw new Error("no 'gts' (verl's dump of the row's reward_model.ground_truth)");
    if (row.gts === null || row.gts === undefined)
      throw new Error("'gts' is null: the row had no reward_model.ground_truth, so it cannot be graded");
    return {
      file,
      line,
      format,
      prompt,
      response,
      groundTruth: row.gts,
      ...optional,
      ...(typeof row.score === "number" ? { engineScore: row.score } : {}),
      ...(typeof row.step === "number" ? { step: row.step } : {}),
    };
  }
  const response = str("response");
  let prompt: string;
  try {
    prompt = promptOf(row, { file, line, domain: "", split: "eval" }).text;
  } catch (e) {
    throw new Error(`'prompt': ${(e as Error).message}`);
  }
  const truth = "gts" in row ? row.gts : groundTruthOf(row);
  if (truth === undefined || truth === null)
    throw new Error("no ground truth (ground_truth, gts, reward_model.ground_truth or answer)");
  const id = row.task_id ?? row.taskId ?? row.id;
  const sample = row.sample_index ?? row.sampleIndex;
  if (sample !== undefined && !(Number.isInteger(sample) && (sample as number) >= 0))
    throw new Error(`'sample_index' must be an integer >= 0 (got ${JSON.stringify(sample)})`);
  return {
    file,
    line,
    format,
    prompt,
    response,
    groundTruth: truth,
    ...optional,
    ...(typeof id === "string" || typeof id === "number" ? { taskId: String(id) } : {}),
    ...(sample !== undefined ? { sampleIndex: sample as number } : {}),
  };
}

/** Every line of a generations file (blank lines skipped); throws naming `file:line` at the first bad one. */
export async function readGenerationsFile(
  file: string,
  baseDir: string,
  format?: GenerationsFormat,
): Promise<GenerationLine[]> {
  let text: string;
  try {
    text = await readFile(resolve(baseDir, file), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(
      code === "ENOENT"
        ? `generations file not found: ${file}`
        : code === "EISDIR"
          ? `generations file ${file} is a folder (verl writes one <step>.jsonl per validation step into it: name one)`
          : `generations file ${file}: ${(e as Error).message}`,
    );
  }
  const out: GenerationLine[] = [];
  let fmt = format;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(lines[i]);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (fmt === undefined) {
      fmt = isObj(row) ? detectFormat(row) : undefined;
      if (!fmt)
        throw new Error(
          `${file}:${i + 1}: neither verl's validation dump (input, output, gts) nor JSONL of prompt / response / ground truth; keys: ${isObj(row) ? Object.keys(row).join(", ") : typeof row}`,
        );
    }
    try {
      out.push(readLine(row, fmt, file, i + 1));
    } catch (e) {
      throw new Error(
        `${file}:${i + 1}: ${(e as Error).message}${format ? ` (format: ${format})` : ` (${fmt} format, from the first line)`}`,
      );
    }
  }
  if (out.length === 0) throw new Error(`generations file ${file} has no lines`);
  return out;
}

/** Prompt text compared across engines: chat special tokens (`<|im_start|>`, `<s>`) dropped, whitespace runs as one. */
export function promptKey(text: string): string {
  return text
    .replace(/<\|[^|>]*\|>|<\/?s>/g, " ")
    .replace(/\s+/g, " ")
    .trim();
}

/** A ground truth compared as stable JSON, a JSON text parsed first (verl rows may carry either). */
function truthKey(v: unknown): string {
  if (typeof v === "string") {
    const t = v.trim();
    if ((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]")))
      try {
        return stableJson(JSON.parse(t));
      } catch {
        return JSON.stringify(t);
      }
    return JSON.stringify(t);
  }
  if (typeof v === "number" || typeof v === "boolean") return JSON.stringify(String(v));
  return stableJson(v);
}

/** The experiment's eval tasks indexed by ground truth, per domain, for placing imported lines. */
export class EvalTaskIndex {
  private readonly byTruth = new Map<string, Map<string, { task: Task; key: string }[]>>();

  constructor(tasksByDomain: ReadonlyMap<string, readonly Task[]>) {
    for (const [domain, tasks] of tasksByDomain) {
      const m = new Map<string, { task: Task; key: string }[]>();
      for (const task of tasks) {
        const k = truthKey(task.groundTruth);
        if (!m.has(k)) m.set(k, []);
        m.get(k)!.push({ task, key: promptKey(task.prompt) });
      }
      this.byTruth.set(domain, m);
    }
  }

  /** The eval task `line` answers, in `domain` or (undefined) in any domain. */
  find(line: GenerationLine, domain?: string): Task | undefined {
    const truth = truthKey(line.groundTruth);
    const prompt = promptKey(line.prompt);
    let best: { task: Task; key: string } | undefined;
    for (const [d, m] of this.byTruth) {
      if (domain !== undefined && d !== domain) continue;
      for (const c of m.get(truth) ?? []) {
        if (line.taskId !== undefined && c.task.id === line.taskId) return c.task;
        if (c.key === prompt) return c.task;
        if (c.key && prompt.includes(c.key) && (!best || c.key.length > best.key.length)) best = c;
      }
    }
    return best?.task;
  }
}

/** How an arm's imported generations were scored (kept in its eval.json, shown in the report). */
export interface ImportedEvaluation {
  source: "imported";
  files: string[];
  format: string;
  samples: number;
  /** Lines placed on one of the experiment's eval tasks (the rest keep their own task ids). */
  matched: number;
  /** Lines whose verdict could be compared with the engine's own reward (verl's `score`), and how many agree. */
  engineCompared: number;
  engineAgreed: number;
}

/**
 * Scores an arm's imported generations with the experiment's verifiers: one eval row per line (status per sample as
 * always), and the per-domain summary that evaluation writes. Lengths are counted in tokens of the arm's tokenizer
 * (else the start arm's; characters when neither folder has one). No row is marked truncated and none carries a
 * token budget: the dumps record neither the finish reason nor the engine's response limit.
 */
export async function scoreGenerations(
  ctx: ExecutorContext,
  job: ArmJob,
  spec: GenerationsConfig,
): Promise<{ rows: EvalRow[]; domains: DomainEval[]; evaluation: ImportedEvaluation }> {
  const { config } = ctx;
  const lines: GenerationLine[] = [];
  for (const f of spec.files) lines.push(...(await readGenerationsFile(f, ctx.baseDir, spec.format)));
  const domainIds = Object.keys(config.domains);
  const tasksByDomain = new Map<string, Task[]>();
  for (const id of domainIds) {
    const d = ctx.domains.get(id);
    if (d) tasksByDomain.set(id, await d.tasks({ split: "eval", seed: EVAL_TASK_SEED }));
  }
  const index = new EvalTaskIndex(tasksByDomain);
  const tokenizer = await armTokenizer(job);

  const placed = lines.map((l) => {
    const named =
      spec.domain ??
      (l.domain !== undefined && domainIds.includes(l.domain) ? l.domain : undefined) ??
      domainOfDataSource(l.dataSource, domainIds);
    const task = index.find(l, named);
    const domain = named ?? task?.domain;
    if (domain === undefined)
      throw new Error(
        `${l.file}:${l.line}: cannot tell the domain of this line: no 'domain' in the arm's generations, none in the line (domain / data_source), and no eval task of ${domainIds.join(", ")} has its ground truth and prompt`,
      );
    const taskId =
      task?.id ??
      l.taskId ??
      `import-${createHash("sha256").update(promptKey(l.prompt)).digest("hex").slice(0, 12)}`;
    return { l, domain, task, taskId };
  });

  const counters = new Map<string, number>();
  let done = 0;
  const verdicts = await mapConcurrent(placed, 64, async (p): Promise<Verification> => {
    const domain = ctx.domains.get(p.domain)!;
    const v = await domain
      .verify({ response: p.l.response, groundTruth: p.task?.groundTruth ?? p.l.groundTruth, task: p.task })
      .catch((err: unknown) => ({
        reward: 0,
        status: "error" as const,
        detail: `verifier threw: ${(err as Error)?.message ?? String(err)}`,
      }));
    ctx.progress?.(job.node.id, ++done, placed.length, "imported samples");
    return v;
  });

  const rows: EvalRow[] = placed.map((p, i) => {
    const v = verdicts[i];
    const key = `${p.domain}\u0000${p.taskId}`;
    const next = counters.get(key) ?? 0;
    counters.set(key, next + 1);
    const responseLength = tokenizer ? tokenizer.encode(p.l.response).length : p.l.response.length;
    const row: EvalRow = {
      arm: job.node.id,
      domain: p.domain,
      taskId: p.taskId,
      sampleIndex: p.l.sampleIndex ?? next,
      reward: v.reward,
      status: v.status,
      responseLength,
      truncated: false,
      prompt: p.task?.prompt ?? p.l.prompt,
      response: p.l.response,
      seed: config.seed,
      imported: `${p.l.file}:${p.l.line}`,
    };
    if (v.extracted !== undefined) row.extracted = v.extracted;
    if (v.detail !== undefined) row.detail = v.detail;
    if (p.l.engineScore !== undefined) row.engineScore = p.l.engineScore;
    if (p.l.step !== undefined) row.step = p.l.step;
    return row;
  });

  let engineCompared = 0;
  let engineAgreed = 0;
  for (const r of rows)
    if (typeof r.engineScore === "number") {
      engineCompared++;
      if (r.engineScore >= 0.5 === r.reward >= 0.5) engineAgreed++;
    }
  const formats = [...new Set(lines.map((l) => l.format))].join(", ");
  return {
    rows,
    domains: summarize(rows, config.evaluation.passAtK),
    evaluation: {
      source: "imported",
      files: spec.files,
      format: formats,
      samples: rows.length,
      matched: placed.filter((p) => p.task !== undefined).length,
      engineCompared,
      engineAgreed,
    },
  };
}

/** Per-domain results of imported rows, as `evaluatePolicy` reports them (pass@k for k up to the fewest samples). */
export function summarize(rows: readonly EvalRow[], ks: readonly number[]): DomainEval[] {
  const byDomain = new Map<string, EvalRow[]>();
  for (const r of rows) {
    if (!byDomain.has(r.domain)) byDomain.set(r.domain, []);
    byDomain.get(r.domain)!.push(r);
  }
  return [...byDomain].map(([domain, rs]) => {
    const tasks = new Map<string, EvalRow[]>();
    for (const r of rs) {
      if (!tasks.has(r.taskId)) tasks.set(r.taskId, []);
      tasks.get(r.taskId)!.push(r);
    }
    const statusCounts: Record<VerificationStatus, number> = emptyStatusCounts();
    let correct = 0;
    let reward = 0;
    let tokens = 0;
    for (const r of rs) {
      statusCounts[r.status]++;
      if (r.status === "correct") correct++;
      reward += r.reward;
      tokens += r.responseLength;
    }
    const fewest = Math.min(...[...tasks.values()].map((t) => t.length));
    const passAt: Record<string, number> = {};
    for (const k of ks.filter((k) => k <= fewest)) {
      let s = 0;
      for (const t of tasks.values())
        s += passAtK(t.length, t.filter((r) => r.status === "correct").length, k);
      passAt[k] = s / tasks.size;
    }
    return {
      domain,
      tasks: tasks.size,
      samples: fewest,
      accuracy: correct / rs.length,
      meanReward: reward / rs.length,
      passAtK: passAt,
      statusCounts,
      meanResponseTokens: tokens / rs.length,
    };
  });
}

/** The tokenizer of the arm's checkpoint folder, else of the start arm's; undefined when neither has one. */
async function armTokenizer(job: ArmJob): Promise<Tokenizer | undefined> {
  for (const id of [job.node.id, job.plan.start]) {
    const dir = job.store.checkpointDir(id);
    try {
      const config = parseConfig(await readFile(join(dir, "config.json"), "utf8"), join(dir, "config.json"));
      const t = await loadTokenizer(new NodeFileStore(dir), config);
      if (t) return t;
    } catch {
      // no usable config / tokenizer here: try the next folder
    }
  }
  return undefined;
}
