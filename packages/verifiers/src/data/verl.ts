/**
 * The verl dataset format → M2RL tasks. A verl row has `data_source`, `prompt` (a chat list
 * `[{role, content}, ...]` or a string), `ability`, `reward_model: {style, ground_truth}` and `extra_info`.
 * The task's prompt is the text of the user turns (joined by blank lines) and the whole chat list is kept in
 * `meta.messages`, so a host with a chat template can render it itself.
 */
import type { Split, Task } from "@m2rl/core";
import { DataError } from "@m2rl/core/errors";
import { applyTemplate } from "../common/synthetic.ts";
import type { Row } from "./rows.ts";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface RowContext {
  file: string;
  line: number;
  domain: string;
  split: Split;
}

/** Maps a row's raw ground truth to the domain's type; throws DataError (with `path`) when it is unusable. */
export type GroundTruthMapper<G> = (raw: unknown, row: Record<string, unknown>, where: RowContext) => G;

function parseMaybeJson(v: unknown): unknown {
  if (typeof v === "string") {
    const t = v.trim();
    if ((t.startsWith("[") && t.endsWith("]")) || (t.startsWith("{") && t.endsWith("}"))) {
      try {
        return JSON.parse(t);
      } catch {
        return v;
      }
    }
  }
  return v;
}

export function promptOf(
  row: Record<string, unknown>,
  where: RowContext,
): { text: string; messages?: ChatMessage[] } {
  const p = parseMaybeJson(row.prompt ?? row.question ?? row.problem);
  if (typeof p === "string") return { text: p };
  if (Array.isArray(p)) {
    const messages: ChatMessage[] = p.map((m, k) => {
      if (!m || typeof m !== "object") throw bad(`prompt[${k}]`, "chat message must be an object", where);
      const { role, content } = m as Record<string, unknown>;
      if (typeof role !== "string" || typeof content !== "string") {
        throw bad(`prompt[${k}]`, "chat message needs string `role` and `content`", where);
      }
      return { role, content };
    });
    const user = messages.filter((m) => m.role === "user").map((m) => m.content);
    if (!user.length) throw bad("prompt", "chat list has no user message", where);
    return { text: user.join("\n\n"), messages };
  }
  throw bad("prompt", "missing or not a string / chat list", where);
}

export function groundTruthOf(row: Record<string, unknown>): unknown {
  const rm = parseMaybeJson(row.reward_model);
  if (rm && typeof rm === "object" && !Array.isArray(rm) && "ground_truth" in rm) {
    return (rm as Record<string, unknown>).ground_truth;
  }
  if ("ground_truth" in row) return row.ground_truth;
  if ("answer" in row) return row.answer;
  return undefined;
}

function bad(path: string, message: string, where: RowContext): DataError {
  return new DataError(message, { file: where.file, line: where.line, path });
}

export function verlRowToTask<G>(
  row: Row,
  opts: {
    file: string;
    domain: string;
    split: Split;
    template?: string;
    mapGroundTruth: GroundTruthMapper<G>;
  },
): Task<G> {
  const where: RowContext = { file: opts.file, line: row.line, domain: opts.domain, split: opts.split };
  const d = row.data;
  const { text, messages } = promptOf(d, where);
  const raw = groundTruthOf(d);
  const groundTruth = opts.mapGroundTruth(raw, d, where);
  const extra = parseMaybeJson(d.extra_info);
  const extraObj =
    extra && typeof extra === "object" && !Array.isArray(extra) ? (extra as Record<string, unknown>) : {};
  const idRaw = extraObj.index ?? d.id ?? d.key;
  const id =
    idRaw !== undefined && idRaw !== null
      ? `${opts.domain}-${String(idRaw)}`
      : `${opts.domain}-${opts.split}-${row.line}`;
  const meta: Record<string, unknown> = { file: opts.file, line: row.line };
  if (typeof d.data_source === "string") meta.dataSource = d.data_source;
  if (typeof d.ability === "string") meta.ability = d.ability;
  if (messages) meta.messages = messages;
  if (Object.keys(extraObj).length) meta.extraInfo = extraObj;
  const task: Task<G> = {
    id,
    domain: opts.domain,
    prompt: applyTemplate(opts.template, text),
    groundTruth,
    meta,
  };
  const ref = extraObj.reference ?? extraObj.answer ?? d.reference;
  if (typeof ref === "string") task.reference = ref;
  return task;
}

/** A ground truth that must be a non-empty string (math, science); numbers are accepted and stringified. */
export const stringGroundTruth: GroundTruthMapper<string> = (raw, _row, where) => {
  if (typeof raw === "number" && Number.isFinite(raw)) return String(raw);
  if (Array.isArray(raw) && raw.length && raw.every((x) => typeof x === "string")) return raw[0] as string;
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new DataError("reward_model.ground_truth must be a non-empty string", {
      file: where.file,
      line: where.line,
      path: "reward_model.ground_truth",
    });
  }
  return raw;
};
