/** Normalises program output: CRLF to LF, trailing whitespace of each line removed, trailing empty lines dropped. */
export function normaliseOutput(s: string): string {
  const lines = s
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines.join("\n");
}

export function outputsMatch(actual: string, expected: string): boolean {
  return normaliseOutput(actual) === normaliseOutput(expected);
}

/** Relative tolerance for numbers in function-call results: |a − b| ≤ 1e-9 · max(1, |a|, |b|). */
export const NUMBER_TOLERANCE = 1e-9;

/** Deep equality of JSON values; numbers within NUMBER_TOLERANCE; object key order ignored. */
export function valuesMatch(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return Math.abs(a - b) <= NUMBER_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));
  }
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!valuesMatch(a[i], b[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) if (!Object.hasOwn(bo, k) || !valuesMatch(ao[k], bo[k])) return false;
  return true;
}

/** Short, single-line rendering of a value for `detail` messages. */
export function preview(x: unknown, max = 80): string {
  const s = typeof x === "string" ? JSON.stringify(x) : (JSON.stringify(x) ?? String(x));
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
