/**
 * Options declared once. A block of options is one tree of leaves (JSON Schema fragment + description + default)
 * and groups; its TypeScript type (`OptionsOf`), its defaults (`defaultsOf`), its JSON Schema (`schemaOf`) and its
 * optional keys (`optionalKeysOf`) are all derived from that one declaration, so they cannot disagree.
 * Hand-written (no library) because the schema must carry no `default` keywords (a per-arm override is deep-merged
 * over the experiment's block, and ajv would fill defaults into the override) while the defaults live next to it.
 */
import type { JSONSchema } from "./schema.ts";

export interface OptionLeaf<T, Optional extends boolean = false> {
  readonly kind: "leaf";
  /** The JSON Schema of the value, with its description (no `default` keyword). */
  readonly schema: JSONSchema;
  /** The default (absent for an optional leaf). */
  readonly default: Optional extends true ? undefined : T;
  readonly optional: Optional;
  /** Type carrier only. */
  readonly _value?: T;
}

// biome-ignore lint/suspicious/noExplicitAny: leaves of any value type
export type OptionNode = OptionLeaf<any, boolean> | OptionGroup<OptionProps>;
export type OptionProps = { readonly [key: string]: OptionNode };

export interface OptionGroup<P extends OptionProps> {
  readonly kind: "group";
  readonly description: string;
  readonly props: P;
}

type OptionalKeys<P extends OptionProps> = {
  [K in keyof P]: P[K] extends OptionLeaf<unknown, true> ? K : never;
}[keyof P];

/** The value type a declaration describes. */
export type OptionsOf<N> =
  N extends OptionLeaf<infer T, boolean>
    ? T
    : N extends OptionGroup<infer P>
      ? { -readonly [K in Exclude<keyof P, OptionalKeys<P>>]: OptionsOf<P[K]> } & {
          -readonly [K in OptionalKeys<P>]?: OptionsOf<P[K]>;
        }
      : never;

/** A leaf of any JSON Schema: `value<string[]>({ type: "array", items: { type: "string" } }, "…", [])`. */
export function value<T>(schema: JSONSchema, description: string, defaultValue: T): OptionLeaf<T> {
  return { kind: "leaf", schema: { ...schema, description }, default: defaultValue, optional: false };
}

/** The same leaf without a default: the key may be absent from the resolved options. */
export function optional<T>(leaf: OptionLeaf<T>): OptionLeaf<T, true> {
  return { kind: "leaf", schema: leaf.schema, default: undefined, optional: true };
}

export const num = (description: string, defaultValue: number, bounds: JSONSchema = {}): OptionLeaf<number> =>
  value<number>({ type: "number", ...bounds }, description, defaultValue);

export const int = (description: string, defaultValue: number, minimum = 0): OptionLeaf<number> =>
  value<number>({ type: "integer", minimum }, description, defaultValue);

export const bool = (description: string, defaultValue: boolean): OptionLeaf<boolean> =>
  value<boolean>({ type: "boolean" }, description, defaultValue);

export function choice<const T extends string>(
  values: readonly T[],
  description: string,
  defaultValue: NoInfer<T>,
): OptionLeaf<T> {
  return value<T>({ enum: [...values] }, description, defaultValue);
}

export function group<P extends OptionProps>(description: string, props: P): OptionGroup<P> {
  return { kind: "group", description, props };
}

/** The defaults of a declaration (optional keys absent). */
export function defaultsOf<P extends OptionProps>(g: OptionGroup<P>): OptionsOf<OptionGroup<P>> {
  const out: Record<string, unknown> = {};
  for (const [k, n] of Object.entries(g.props)) {
    if (n.kind === "group") out[k] = defaultsOf(n);
    else if (!n.optional) out[k] = structuredClone(n.default);
  }
  return out as OptionsOf<OptionGroup<P>>;
}

/** The JSON Schema of a declaration: every key optional, unknown keys refused, no defaults. */
export function schemaOf(g: OptionGroup<OptionProps>, extra: JSONSchema = {}): JSONSchema {
  const properties: Record<string, JSONSchema> = {};
  for (const [k, n] of Object.entries(g.props)) properties[k] = n.kind === "group" ? schemaOf(n) : n.schema;
  return { ...extra, type: "object", additionalProperties: false, description: g.description, properties };
}

/** Dotted paths of the optional leaves (keys that may be absent after defaults are applied). */
export function optionalKeysOf(g: OptionGroup<OptionProps>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, n] of Object.entries(g.props)) {
    if (n.kind === "group") out.push(...optionalKeysOf(n, `${prefix}${k}.`));
    else if (n.optional) out.push(`${prefix}${k}`);
  }
  return out;
}
