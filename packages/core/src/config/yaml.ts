import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import type { PathSegment, Problem } from "../plugin/problem.ts";
import { formatPath } from "../plugin/problem.ts";

/** A problem placed in its file: 1-based line and column, the JSON path as text. */
export interface ConfigProblem extends Problem {
  file: string;
  line: number;
  column: number;
  /** `domains.math.options.maxDigits` */
  pathText: string;
  severity: "error" | "warning";
}

/** A YAML document parsed with source positions, so that any JSON path can be placed at file:line:column. */
export interface ParsedYaml {
  fileName: string;
  /** The document as plain data; undefined when the YAML could not be parsed. */
  data: unknown;
  /** YAML syntax problems (duplicate keys, bad indentation, ...). */
  problems: ConfigProblem[];
  /** Where `path` is in the file (the deepest existing node along it; the key itself when `at` is "key"). */
  locate(path: readonly PathSegment[], at?: "key" | "value"): { line: number; column: number };
  /** Places a problem in the file. */
  place(problem: Problem): ConfigProblem;
}

/** Parses YAML text keeping positions. Never throws for bad input: syntax errors come back as problems. */
export function parseYaml(text: string, fileName: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    keepSourceTokens: false,
  });
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const locate = (path: readonly PathSegment[], at: "key" | "value" = "value") =>
    pos(offsetOf(doc, path, at));
  const place = (p: Problem): ConfigProblem => ({
    ...p,
    severity: p.severity ?? "error",
    file: fileName,
    ...locate(p.path, p.at),
    pathText: formatPath(p.path),
  });

  const problems: ConfigProblem[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    problems.push({
      file: fileName,
      ...pos(e.pos[0]),
      path: [],
      pathText: "(yaml)",
      message: e.message.split("\n")[0],
      severity: e.name === "YAMLWarning" ? "warning" : "error",
    });
  }
  let data: unknown;
  if (doc.errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      problems.push({
        file: fileName,
        line: 1,
        column: 1,
        path: [],
        pathText: "(yaml)",
        message: (err as Error).message,
        severity: "error",
      });
    }
  }
  return { fileName, data, problems, locate, place };
}

/** Start offset of the node at `path` (or of its key), or of the deepest ancestor that exists. */
function offsetOf(doc: Document, path: readonly PathSegment[], at: "key" | "value"): number {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isAlias(node)) node = node.resolve(doc);
    let keyNode: unknown;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) break;
      keyNode = pair.key;
      next = pair.value;
    } else if (isSeq(node) && typeof seg === "number") {
      next = node.items[seg];
      if (next === undefined) break;
    } else break;
    const last = i === path.length - 1;
    const start = last && at === "key" ? rangeStart(keyNode) : (valueStart(next) ?? rangeStart(keyNode));
    if (start === undefined) break;
    offset = start;
    node = next;
  }
  return offset;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  if (key === null || key === undefined) return undefined;
  return String(key);
}

function rangeStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  return r ? r[0] : undefined;
}

/** An empty value (`base:` with nothing after it) has no text of its own: point at its key instead. */
function valueStart(node: unknown): number | undefined {
  const r = (node as Node | null | undefined)?.range;
  if (!r || (isScalar(node) && node.value === null && r[0] === r[1])) return undefined;
  return r[0];
}
