/**
 * Reading the analyses' inputs from files (Node): eval rows (JSONL, or a JSON array, or `{rows: [...]}`),
 * metrics.jsonl, arm costs (JSON array) and prompts (JSONL). Every bad line is an error naming file and line.
 */
import { readFile } from "node:fs/promises";
import type { AnalysisPrompt, ArmCost, EvalRow, MetricsRow } from "@m2rl/core";
import { VERIFICATION_STATUSES } from "@m2rl/core/domain";
import { DataError } from "@m2rl/core/errors";

/** Parses JSONL text (blank lines allowed) or, when the text starts with `[` / `{`, one JSON document. */
export function parseRecords(text: string, file: string): { value: unknown; line: number }[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new DataError(`not valid JSON (${(e as Error).message})`, { file });
    }
    return (v as unknown[]).map((value, i) => ({ value, line: i + 1 }));
  }
  const out: { value: unknown; line: number }[] = [];
  const lines = text.split(/\r?\n/);
  // a single pretty-printed object `{ "rows": [...] }`
  if (trimmed.startsWith("{") && lines.length > 1 && !lines[0].trim().endsWith("}")) {
    try {
      const v = JSON.parse(text) as { rows?: unknown[] };
      if (Array.isArray(v.rows)) return v.rows.map((value, i) => ({ value, line: i + 1 }));
    } catch {
      // fall through to JSONL, which reports the precise line
    }
  }
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      out.push({ value: JSON.parse(l), line: i + 1 });
    } catch (e) {
      throw new DataError(`not valid JSON (${(e as Error).message})`, { file, line: i + 1 });
    }
  });
  return out;
}

function need(
  o: Record<string, unknown>,
  key: string,
  type: "string" | "number" | "boolean",
  file: string,
  line: number,
) {
  if (typeof o[key] !== type) {
    throw new DataError(`field '${key}' must be a ${type}, got ${JSON.stringify(o[key])}`, {
      file,
      line,
      path: key,
    });
  }
}

/** Checks the required fields of an eval row (see EvalRow). */
export function checkEvalRow(v: unknown, file: string, line: number): EvalRow {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    throw new DataError("an eval row must be an object", { file, line });
  const o = v as Record<string, unknown>;
  for (const k of ["arm", "domain"]) need(o, k, "string", file, line);
  if (typeof o.taskId === "number") o.taskId = String(o.taskId);
  need(o, "taskId", "string", file, line);
  for (const k of ["sampleIndex", "reward", "responseLength"]) need(o, k, "number", file, line);
  need(o, "truncated", "boolean", file, line);
  if (!VERIFICATION_STATUSES.includes(o.status as never)) {
    throw new DataError(
      `field 'status' must be one of ${VERIFICATION_STATUSES.join(", ")}, got ${JSON.stringify(o.status)}`,
      {
        file,
        line,
        path: "status",
      },
    );
  }
  if (!((o.reward as number) >= 0 && (o.reward as number) <= 1)) {
    throw new DataError(`field 'reward' must be in [0, 1], got ${o.reward}`, { file, line, path: "reward" });
  }
  return {
    ...o,
    arm: o.arm as string,
    domain: o.domain as string,
    taskId: o.taskId as string,
    sampleIndex: o.sampleIndex as number,
    reward: o.reward as number,
    status: o.status as EvalRow["status"],
    responseLength: o.responseLength as number,
    truncated: o.truncated as boolean,
  };
}

export async function readEvalRows(file: string): Promise<EvalRow[]> {
  return parseRecords(await readFile(file, "utf8"), file).map((r) => checkEvalRow(r.value, file, r.line));
}

export async function readMetrics(file: string): Promise<MetricsRow[]> {
  return parseRecords(await readFile(file, "utf8"), file).map(({ value, line }) => {
    if (typeof value !== "object" || value === null)
      throw new DataError("a metrics row must be an object", { file, line });
    need(value as Record<string, unknown>, "step", "number", file, line);
    return value as MetricsRow;
  });
}

export async function readCosts(file: string): Promise<ArmCost[]> {
  return parseRecords(await readFile(file, "utf8"), file).map(({ value, line }) => {
    if (typeof value !== "object" || value === null)
      throw new DataError("a cost entry must be an object", { file, line });
    need(value as Record<string, unknown>, "arm", "string", file, line);
    return value as ArmCost;
  });
}

export async function readPrompts(file: string): Promise<AnalysisPrompt[]> {
  return parseRecords(await readFile(file, "utf8"), file).map(({ value, line }) => {
    const o = value as Record<string, unknown>;
    if (typeof o !== "object" || o === null)
      throw new DataError("a prompt must be an object", { file, line });
    need(o, "domain", "string", file, line);
    need(o, "prompt", "string", file, line);
    return { domain: o.domain as string, taskId: String(o.taskId ?? line), prompt: o.prompt as string };
  });
}
