/** One path segment into a JSON / YAML document: an object key or an array index. */
export type PathSegment = string | number;

/**
 * One thing wrong with a configuration or a plugin's options. Collected, never thrown one at a time: the user
 * sees every problem at once (the host validates the whole configuration before anything runs).
 */
export interface Problem {
  /** Where in the document, as segments (`["domains", "math", "options", "maxDigits"]`). */
  path: readonly PathSegment[];
  message: string;
  /** The plugin whose schema or check produced the problem. */
  plugin?: string;
  /** Errors stop the run; warnings are printed. Default: error. */
  severity?: "error" | "warning";
  /** Point at the key itself (unknown key) rather than at its value. */
  at?: "key" | "value";
}

const SIMPLE_KEY = /^[A-Za-z_$][\w$:-]*$/;

/** `domains.math.options.levels[0]`; keys that are not simple identifiers are quoted: `arms["a b"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return "(root)";
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (SIMPLE_KEY.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Splits an ajv `instancePath` (a JSON pointer) into segments; array indices come back as numbers. */
export function pointerToPath(pointer: string, data?: unknown): PathSegment[] {
  if (pointer === "") return [];
  const out: PathSegment[] = [];
  let node: unknown = data;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    const seg: PathSegment = Array.isArray(node) && /^\d+$/.test(key) ? Number(key) : key;
    out.push(seg);
    node = node !== null && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}
