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

/** Largest YAML text parsed (an experiment or merge config is kilobytes; 10 MB of YAML takes ~1 GB to parse). */
export const MAX_YAML_BYTES = 1 << 20;

/**
 * Largest number of nodes the document may expand to through its aliases. Counts the expanded size, not the
 * aliases: 5,000 references to one small anchor are fine, a "billion laughs" alias bomb is not.
 */
export const MAX_YAML_EXPANDED_NODES = 1_000_000;

/** Why `text` is too large to parse (`what` names the kind of file), or undefined. */
export function yamlSizeProblem(text: string, what: string): string | undefined {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes <= MAX_YAML_BYTES) return undefined;
  return `the file is ${bytes.toLocaleString("en")} bytes; the limit is ${MAX_YAML_BYTES.toLocaleString("en")} (${what})`;
}

/** Why the document expands too much through its aliases, or undefined. */
export function yamlExpansionProblem(doc: Document): string | undefined {
  if (expandedNodeCount(doc, MAX_YAML_EXPANDED_NODES) <= MAX_YAML_EXPANDED_NODES) return undefined;
  return `the document expands to more than ${MAX_YAML_EXPANDED_NODES.toLocaleString("en")} nodes through its aliases (an alias bomb?)`;
}

/** Nodes the document becomes once every alias is replaced by its anchor (memoised per anchored node). */
export function expandedNodeCount(doc: Document, limit = Number.POSITIVE_INFINITY): number {
  const memo = new Map<Node, number>();
  const active = new Set<Node>();
  const size = (node: unknown): number => {
    if (!node || typeof node !== "object") return 0;
    if (isAlias(node)) {
      const target = node.resolve(doc);
      return target ? size(target) : 1;
    }
    const n = node as Node;
    const known = memo.get(n);
    if (known !== undefined) return known;
    if (active.has(n)) return 1; // a recursive alias: counted once (toJS refuses it)
    active.add(n);
    let total = 1;
    if (isMap(n) || isSeq(n)) {
      for (const item of n.items) {
        total += isPair(item) ? size(item.key) + size(item.value) : size(item);
        if (total > limit) break;
      }
    }
    active.delete(n);
    memo.set(n, total);
    return total;
  };
  return size(doc.contents);
}

/** Parses YAML text keeping positions. Never throws for bad input: syntax errors come back as problems. */
export function parseYaml(text: string, fileName: string): ParsedYaml {
  const top = (message: string): ConfigProblem => ({
    file: fileName,
    line: 1,
    column: 1,
    path: [],
    pathText: "(yaml)",
    message,
    severity: "error",
  });
  const tooLarge = yamlSizeProblem(text, "a config, not a dataset");
  if (tooLarge) {
    return {
      fileName,
      data: undefined,
      problems: [top(tooLarge)],
      locate: () => ({ line: 1, column: 1 }),
      place: (p) => ({
        ...p,
        severity: p.severity ?? "error",
        file: fileName,
        line: 1,
        column: 1,
        pathText: formatPath(p.path),
      }),
    };
  }
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
    const bomb = yamlExpansionProblem(doc);
    if (bomb) {
      problems.push(top(bomb));
    } else {
      try {
        // The expanded size is bounded above; yaml's own alias-count check would refuse legitimate reuse.
        data = doc.toJS({ maxAliasCount: -1 });
      } catch (err) {
        problems.push(top((err as Error).message));
      }
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
