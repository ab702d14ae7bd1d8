/**
 * The experiment file's keys as a Markdown table (key, type, default, effect), generated from the schemas that
 * validate them: the experiment schema and the open sections core owns (`trainer`, `policy.sft`, `policy.model`).
 * The core README embeds it between markers and a test regenerates it, so the documentation cannot drift from
 * what `m2rl validate` accepts.
 */
import { defaultsOf, type OptionGroup, type OptionProps, schemaOf } from "../plugin/options.ts";
import type { JSONSchema } from "../plugin/schema.ts";
import { TINY_RECIPE_SCHEMA } from "../policy/tiny-schema.ts";
import { TRAINER_OPTIONS } from "../trainer/config.ts";
import { SFT_OPTIONS } from "../trainer/sft-options.ts";
import { experimentSchema } from "./schema.ts";

export interface KeyRow {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** `^mix:[A-Za-z]...$` → `mix:<label>` (the arm id patterns), `^single:...` → `single:<domain>`. */
function patternKey(pattern: string): string {
  const m = /^\^([a-z]+):/.exec(pattern);
  if (!m) return `<${pattern}>`;
  return `${m[1]}:<${m[1] === "single" ? "domain" : "label"}>`;
}

function typeOf(s: JSONSchema): string {
  if (Array.isArray(s.enum)) return s.enum.map((v) => JSON.stringify(v)).join(" \\| ");
  const t = s.type;
  if (Array.isArray(t)) return t.join(" \\| ");
  if (t === "array" && s.items && typeof s.items === "object" && !Array.isArray(s.items)) {
    const it = (s.items as JSONSchema).type;
    return typeof it === "string" ? `${it}[]` : "array";
  }
  return typeof t === "string" ? t : "";
}

/** `defaults`: the defaults of a declared block (options.ts), whose schema carries none; else the schema's. */
function walk(s: JSONSchema, prefix: string, out: KeyRow[], defaults?: Record<string, unknown>): void {
  const props = (s.properties ?? {}) as Record<string, JSONSchema>;
  for (const [k, v] of Object.entries(props)) {
    const key = `${prefix}${k}`;
    const given = defaults ? defaults[k] : v.default;
    // a declared group's defaults are shown on its leaves (walked with them), not as one object on the group
    const group =
      defaults !== undefined && given !== null && typeof given === "object" && !Array.isArray(given)
        ? (given as Record<string, unknown>)
        : undefined;
    out.push({
      key,
      type: typeOf(v),
      default: given === undefined || group ? "" : JSON.stringify(given),
      description: typeof v.description === "string" ? v.description : "",
    });
    walk(v, `${key}.`, out, defaults ? (group ?? {}) : undefined);
  }
  const extra = s.additionalProperties;
  if (extra && typeof extra === "object" && (extra as JSONSchema).properties)
    walk(extra as JSONSchema, `${prefix}<id>.`, out);
  for (const [pattern, v] of Object.entries((s.patternProperties ?? {}) as Record<string, JSONSchema>)) {
    const key = `${prefix}${patternKey(pattern)}`;
    out.push({
      key,
      type: typeOf(v),
      default: "",
      description: typeof v.description === "string" ? v.description : "",
    });
    walk(v, `${key}.`, out);
  }
}

/** Every key of the experiment file with the schema that validates it, in schema order. */
export function experimentKeys(): KeyRow[] {
  const out: KeyRow[] = [];
  walk(experimentSchema, "", out);
  walkDeclared(TRAINER_OPTIONS, "trainer.", out);
  walkDeclared(SFT_OPTIONS, "policy.sft.", out);
  walk(TINY_RECIPE_SCHEMA, "policy.model.", out);
  return out;
}

/** A block declared once (options.ts): its schema, with the defaults from the declaration. */
function walkDeclared(g: OptionGroup<OptionProps>, prefix: string, out: KeyRow[]): void {
  walk(schemaOf(g), prefix, out, defaultsOf(g) as Record<string, unknown>);
}

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** The Markdown table of `experimentKeys()`. */
export function experimentKeysTable(): string {
  const lines = ["| key | type | default | effect |", "|---|---|---|---|"];
  for (const r of experimentKeys())
    lines.push(
      `| \`${r.key}\` | ${r.type} | ${r.default ? `\`${cell(r.default)}\`` : ""} | ${cell(r.description)} |`,
    );
  return `${lines.join("\n")}\n`;
}

const START = "<!-- experiment-keys:start -->";
const END = "<!-- experiment-keys:end -->";

/** `markdown` with the text between the experiment-keys markers replaced by `table`. */
export function embedKeysTable(markdown: string, table: string): string {
  const i = markdown.indexOf(START);
  const j = markdown.indexOf(END);
  if (i < 0 || j < i) throw new Error(`no ${START} … ${END} markers`);
  return `${markdown.slice(0, i + START.length)}\n\n${table}\n${markdown.slice(j)}`;
}
