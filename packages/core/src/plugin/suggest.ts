import { distance } from "fastest-levenshtein";

/**
 * The closest candidate to `name` by edit distance, when it is close enough to be a likely typo
 * (at most a third, rounded up, of the longer word's length, at least one edit; none for 1-2 letter names). Case differences are cheap.
 */
export function suggestName(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0.5 : distance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  // One- and two-character names are all within an edit of each other: only a case difference is a likely typo.
  if (Math.max(name.length, best.length) <= 2) return bestDistance < 1 ? best : undefined;
  const allowed = Math.max(1, Math.ceil(Math.max(name.length, best.length) / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** " (did you mean 'x'?)" or "" — ready to append to a message. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const s = suggestName(name, candidates);
  return s === undefined ? "" : ` (did you mean '${s}'?)`;
}
