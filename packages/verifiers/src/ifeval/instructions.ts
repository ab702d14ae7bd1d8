/**
 * The 25 verifiable instructions of IFEval (google-research `instruction_following_eval/instructions.py`),
 * re-implemented from their documented semantics. Each declares its kwargs; a missing required kwarg, an unknown
 * kwarg, a wrong type or an unknown relation is an error (the original silently draws a random value instead).
 */
import { type DetectOptions, detectLanguage } from "./language.ts";
import { countSentences, countWords, escapeRegExp, isLower, isUpper, pyStrip, wordTokenize } from "./text.ts";

export type KwargType = "string" | "int" | "stringList" | "relation";

export interface KwargSpec {
  type: KwargType;
  /** Optional kwargs may be absent; required ones must be present. */
  optional?: boolean;
}

export interface CheckContext {
  detect: DetectOptions;
}

export interface InstructionDef {
  id: string;
  kwargs: Record<string, KwargSpec>;
  check(response: string, kwargs: Record<string, unknown>, ctx: CheckContext): boolean;
}

export const RELATIONS = ["less than", "at least"] as const;
export type Relation = (typeof RELATIONS)[number];

function compare(n: number, relation: unknown, target: number): boolean {
  return relation === "less than" ? n < target : n >= target;
}

const str = (k: Record<string, unknown>, name: string) => k[name] as string;
const int = (k: Record<string, unknown>, name: string) => k[name] as number;
const list = (k: Record<string, unknown>, name: string) => k[name] as string[];

const WORD_CHAR = "[\\p{L}\\p{N}_]";

const DEFS: InstructionDef[] = [
  // keywords
  {
    id: "keywords:existence",
    kwargs: { keywords: { type: "stringList" } },
    check: (r, k) => list(k, "keywords").every((w) => new RegExp(escapeRegExp(w), "iu").test(r)),
  },
  {
    id: "keywords:frequency",
    kwargs: { keyword: { type: "string" }, frequency: { type: "int" }, relation: { type: "relation" } },
    check: (r, k) => {
      const n = r.match(new RegExp(escapeRegExp(str(k, "keyword")), "giu"))?.length ?? 0;
      return compare(n, k.relation, int(k, "frequency"));
    },
  },
  {
    id: "keywords:forbidden_words",
    kwargs: { forbidden_words: { type: "stringList" } },
    check: (r, k) =>
      !list(k, "forbidden_words").some((w) =>
        new RegExp(`(?<!${WORD_CHAR})${escapeRegExp(w)}(?!${WORD_CHAR})`, "iu").test(r),
      ),
  },
  {
    id: "keywords:letter_frequency",
    kwargs: {
      letter: { type: "string" },
      let_frequency: { type: "int" },
      let_relation: { type: "relation" },
    },
    check: (r, k) => {
      const letter = str(k, "letter").trim().toLowerCase();
      let n = 0;
      for (const ch of r.toLowerCase()) if (ch === letter) n++;
      return compare(n, k.let_relation, int(k, "let_frequency"));
    },
  },
  // language
  {
    id: "language:response_language",
    kwargs: { language: { type: "string" } },
    check: (r, k, ctx) => {
      const lang = detectLanguage(r, ctx.detect);
      return lang === undefined || lang === str(k, "language");
    },
  },
  // length constraints
  {
    id: "length_constraints:number_sentences",
    kwargs: { num_sentences: { type: "int" }, relation: { type: "relation" } },
    check: (r, k) => compare(countSentences(r), k.relation, int(k, "num_sentences")),
  },
  {
    id: "length_constraints:number_paragraphs",
    kwargs: { num_paragraphs: { type: "int" } },
    check: (r, k) => {
      const paragraphs = r.split(/\s?\*\*\*\s?/);
      let n = paragraphs.length;
      for (let i = 0; i < paragraphs.length; i++) {
        if (!paragraphs[i].trim()) {
          if (i === 0 || i === paragraphs.length - 1) n--;
          else return false;
        }
      }
      return n === int(k, "num_paragraphs");
    },
  },
  {
    id: "length_constraints:number_words",
    kwargs: { num_words: { type: "int" }, relation: { type: "relation" } },
    check: (r, k) => compare(countWords(r), k.relation, int(k, "num_words")),
  },
  {
    id: "length_constraints:nth_paragraph_first_word",
    kwargs: {
      num_paragraphs: { type: "int" },
      nth_paragraph: { type: "int" },
      first_word: { type: "string" },
    },
    check: (r, k) => {
      const paragraphs = r.split(/\n\n/);
      let n = paragraphs.length;
      for (const p of paragraphs) if (!p.trim()) n--;
      const nth = int(k, "nth_paragraph");
      if (!(nth <= n)) return false;
      const paragraph = (paragraphs[nth - 1] ?? "").trim();
      if (!paragraph) return false;
      let word = (paragraph.split(/\s+/)[0] ?? "").trim();
      word = pyStrip(word.replace(/^'+/, "").replace(/^"+/, ""), "");
      let first = "";
      for (const ch of word) {
        if (".,?!'\"".includes(ch)) break;
        first += ch.toLowerCase();
      }
      return n === int(k, "num_paragraphs") && first === str(k, "first_word").toLowerCase();
    },
  },
  // detectable content
  {
    id: "detectable_content:postscript",
    kwargs: { postscript_marker: { type: "string" } },
    check: (r, k) => {
      const marker = str(k, "postscript_marker");
      const value = r.toLowerCase();
      let re: RegExp;
      // The original's leading `\s*` can match empty, so it never changes the outcome; dropped (it is quadratic).
      if (marker === "P.P.S") re = /p\.\s?p\.\s?s.*$/m;
      else if (marker === "P.S.") re = /p\.\s?s\..*$/m;
      else re = new RegExp(`${escapeRegExp(marker.toLowerCase())}.*$`, "m");
      return re.test(value);
    },
  },
  {
    id: "detectable_content:number_placeholders",
    kwargs: { num_placeholders: { type: "int" } },
    check: (r, k) => countPlaceholders(r) >= int(k, "num_placeholders"),
  },
  // detectable format
  {
    id: "detectable_format:number_bullet_lists",
    kwargs: { num_bullets: { type: "int" } },
    check: (r, k) => {
      // `^\s*` of the original spans blank lines; `^[ \t]*` counts the same bullets in linear time.
      const a = r.match(/^[ \t]*\*[^*].*$/gm)?.length ?? 0;
      const b = r.match(/^[ \t]*-.*$/gm)?.length ?? 0;
      return a + b === int(k, "num_bullets");
    },
  },
  {
    id: "detectable_format:constrained_response",
    kwargs: {},
    check: (r) => {
      const v = r.trim();
      return ["My answer is yes.", "My answer is no.", "My answer is maybe."].some((o) => v.includes(o));
    },
  },
  {
    id: "detectable_format:number_highlighted_sections",
    kwargs: { num_highlights: { type: "int" } },
    check: (r, k) => {
      let n = 0;
      for (const h of r.match(/\*[^\n*]*\*/g) ?? []) if (pyStrip(h, "*").trim()) n++;
      for (const h of r.match(/\*\*[^\n*]*\*\*/g) ?? []) if (h.slice(2, -2).trim()) n++;
      return n >= int(k, "num_highlights");
    },
  },
  {
    id: "detectable_format:multiple_sections",
    kwargs: { section_spliter: { type: "string" }, num_sections: { type: "int" } },
    check: (r, k) => {
      const re = new RegExp(`\\s?${escapeRegExp(str(k, "section_spliter"))}\\s?\\d+\\s?`);
      return r.split(re).length - 1 >= int(k, "num_sections");
    },
  },
  {
    id: "detectable_format:json_format",
    kwargs: {},
    check: (r) => {
      let v = r.trim();
      for (const p of ["```json", "```Json", "```JSON", "```"]) {
        if (v.startsWith(p)) {
          v = v.slice(p.length);
          break;
        }
      }
      if (v.endsWith("```")) v = v.slice(0, -3);
      try {
        JSON.parse(v.trim());
        return true;
      } catch {
        return false;
      }
    },
  },
  {
    id: "detectable_format:title",
    kwargs: {},
    check: (r) => hasTitle(r),
  },
  // combination
  {
    id: "combination:two_responses",
    kwargs: {},
    check: (r) => {
      const parts = r.split("******");
      const valid: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (!parts[i].trim()) {
          if (i !== 0 && i !== parts.length - 1) return false;
        } else valid.push(parts[i]);
      }
      return valid.length === 2 && valid[0].trim() !== valid[1].trim();
    },
  },
  {
    id: "combination:repeat_prompt",
    kwargs: { prompt_to_repeat: { type: "string" } },
    check: (r, k) => r.trim().toLowerCase().startsWith(str(k, "prompt_to_repeat").trim().toLowerCase()),
  },
  // start / end
  {
    id: "startend:end_checker",
    kwargs: { end_phrase: { type: "string" } },
    check: (r, k) => pyStrip(r.trim(), '"').toLowerCase().endsWith(str(k, "end_phrase").trim().toLowerCase()),
  },
  {
    id: "startend:quotation",
    kwargs: {},
    check: (r) => {
      const v = r.trim();
      return v.length > 1 && v[0] === '"' && v[v.length - 1] === '"';
    },
  },
  // change case
  {
    id: "change_case:capital_word_frequency",
    kwargs: { capital_frequency: { type: "int" }, capital_relation: { type: "relation" } },
    check: (r, k) => {
      const n = wordTokenize(r).filter(isUpper).length;
      return compare(n, k.capital_relation, int(k, "capital_frequency"));
    },
  },
  {
    id: "change_case:english_capital",
    kwargs: {},
    check: (r, _k, ctx) => {
      if (!isUpper(r)) return false;
      const lang = detectLanguage(r, ctx.detect);
      return lang === undefined || lang === "en";
    },
  },
  {
    id: "change_case:english_lowercase",
    kwargs: {},
    check: (r, _k, ctx) => {
      if (!isLower(r)) return false;
      const lang = detectLanguage(r, ctx.detect);
      return lang === undefined || lang === "en";
    },
  },
  // punctuation
  {
    id: "punctuation:no_comma",
    kwargs: {},
    check: (r) => !r.includes(","),
  },
];

/** Count of non-overlapping `\[.*?\]` matches (the original's regex), in linear time. */
export function countPlaceholders(r: string): number {
  let n = 0;
  let open = false;
  for (let i = 0; i < r.length; i++) {
    const ch = r[i];
    if (ch === "\n") open = false;
    else if (!open && ch === "[") open = true;
    else if (open && ch === "]") {
      n++;
      open = false;
    }
  }
  return n;
}

/** `re.findall(r"<<[^\n]+>>")` with a non-blank title, line by line in linear time (the match is greedy). */
export function hasTitle(r: string): boolean {
  for (const line of r.split("\n")) {
    const a = line.indexOf("<<");
    const b = line.lastIndexOf(">>");
    if (a >= 0 && b >= a + 3) {
      const title = line
        .slice(a, b + 2)
        .replace(/^<+/, "")
        .replace(/>+$/, "");
      if (title.trim() !== "") return true;
    }
  }
  return false;
}

export const INSTRUCTIONS: ReadonlyMap<string, InstructionDef> = new Map(DEFS.map((d) => [d.id, d]));
export const INSTRUCTION_IDS: readonly string[] = DEFS.map((d) => d.id);

/** Validates kwargs against the instruction's declaration; returns a message or undefined when valid. */
export function validateKwargs(def: InstructionDef, kwargs: Record<string, unknown>): string | undefined {
  for (const name of Object.keys(kwargs)) {
    if (!(name in def.kwargs)) {
      const known = Object.keys(def.kwargs);
      return `unknown kwarg "${name}" for ${def.id} (known: ${known.length ? known.join(", ") : "none"})`;
    }
  }
  for (const [name, spec] of Object.entries(def.kwargs)) {
    const v = kwargs[name];
    if (v === undefined) {
      if (spec.optional) continue;
      return `missing kwarg "${name}" for ${def.id}`;
    }
    if (spec.type === "int" && !(typeof v === "number" && Number.isInteger(v))) {
      return `kwarg "${name}" of ${def.id} must be an integer, got ${JSON.stringify(v)}`;
    }
    if (spec.type === "string" && (typeof v !== "string" || v === "")) {
      return `kwarg "${name}" of ${def.id} must be a non-empty string, got ${JSON.stringify(v)}`;
    }
    if (
      spec.type === "stringList" &&
      !(Array.isArray(v) && v.every((x) => typeof x === "string" && x !== ""))
    ) {
      return `kwarg "${name}" of ${def.id} must be a list of non-empty strings, got ${JSON.stringify(v)}`;
    }
    if (spec.type === "relation" && !RELATIONS.includes(v as Relation)) {
      return `kwarg "${name}" of ${def.id} must be one of ${RELATIONS.map((x) => JSON.stringify(x)).join(", ")}, got ${JSON.stringify(v)}`;
    }
  }
  if (def.id === "keywords:letter_frequency") {
    const l = String(kwargs.letter).trim().toLowerCase();
    if (!/^[a-z]$/.test(l))
      return `kwarg "letter" of ${def.id} must be one ASCII letter, got ${JSON.stringify(kwargs.letter)}`;
  }
  return undefined;
}
