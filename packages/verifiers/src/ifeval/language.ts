/**
 * Deterministic offline language detection for IFEval's `language:response_language` and the English checks of
 * `change_case:*`. The original uses Python `langdetect` (randomised unless seeded); M2RL uses `franc` (trigram
 * profiles, deterministic) restricted to a fixed candidate set, because over its full 180+ languages franc reads
 * plain English as Scots. Codes are mapped from ISO 639-3 to the ISO 639-1 codes IFEval uses.
 */
import { franc } from "franc";
import { iso6393 } from "iso-639-3";
import { IFEVAL_DEFAULTS } from "./schema.ts";

/** ISO 639-3 → 639-1 for macrolanguage members that iso-639-3 lists without a 639-1 code. */
const OVERRIDES: Record<string, string> = {
  arb: "ar",
  pes: "fa",
  npi: "ne",
  swh: "sw",
  cmn: "zh",
  nob: "no",
  zsm: "ms",
  ekk: "et",
  lvs: "lv",
  uzn: "uz",
  azj: "az",
};

/** The candidate languages: the 30 of IFEval's LANGUAGE_CODES plus other widely written ones. */
export const CANDIDATES_639_3 = [
  // IFEval's list
  "eng",
  "spa",
  "por",
  "arb",
  "hin",
  "fra",
  "rus",
  "deu",
  "jpn",
  "ita",
  "ben",
  "ukr",
  "tha",
  "urd",
  "tam",
  "tel",
  "bul",
  "kor",
  "pol",
  "heb",
  "pes",
  "vie",
  "npi",
  "swh",
  "kan",
  "mar",
  "guj",
  "pan",
  "mal",
  "fin",
  // others
  "cmn",
  "nld",
  "swe",
  "tur",
  "ind",
  "ces",
  "ell",
  "ron",
  "hun",
  "dan",
  "nob",
  "zsm",
  "cat",
  "hrv",
  "slk",
  "lit",
  "slv",
];

const TO_639_1 = new Map<string, string>();
for (const l of iso6393) if (l.iso6391) TO_639_1.set(l.iso6393, l.iso6391);
for (const [k, v] of Object.entries(OVERRIDES)) TO_639_1.set(k, v);

export function iso6391Of(code3: string): string | undefined {
  return TO_639_1.get(code3);
}

export interface DetectOptions {
  /** Texts with fewer characters than this are undetermined (as langdetect's exception: the check passes). */
  minLength: number;
}

/** The ifeval domain's default (its `languageMinLength`, declared with its options in schema.ts). */
export const DEFAULT_DETECT: DetectOptions = { minLength: IFEVAL_DEFAULTS.languageMinLength };

/** ISO 639-1 code of the text's language, or undefined when undetermined. Deterministic. */
export function detectLanguage(text: string, options: DetectOptions = DEFAULT_DETECT): string | undefined {
  const key = `${options.minLength}\u0000${text}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit || undefined;
  // Trigram statistics of the first 4,000 characters decide (bounds the cost of very long responses).
  const code = franc(text.length > 4000 ? text.slice(0, 4000) : text, {
    minLength: options.minLength,
    only: CANDIDATES_639_3,
  });
  const lang = code === "und" ? undefined : (iso6391Of(code) ?? code);
  if (cache.size >= 4096) cache.clear();
  cache.set(key, lang ?? "");
  return lang;
}

/** Detection cache: loose mode and groups of G samples ask about the same texts repeatedly. */
const cache = new Map<string, string>();
