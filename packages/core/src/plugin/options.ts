/**
 * Options declared once. A block of options is one tree of leaves (JSON Schema fragment + description + default)
 * and groups; its TypeScript type (`OptionsOf`), its defaults (`defaultsOf`), its JSON Schema (`schemaOf`) and its
 * optional keys (`optionalKeysOf`) are all derived from that one declaration, so they cannot disagree. What a caller
 * gives (`OptionsInput`: every key optional) becomes the full options with `withDefaults` (defaults ⊕ given).
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
export type OptionNode = OptionLeaf<any, boolean> | OptionGroup<OptionProps, boolean>;
export type OptionProps = { readonly [key: string]: OptionNode };

export interface OptionGroup<P extends OptionProps, Off extends boolean = false> {
  readonly kind: "group";
  readonly description: string;
  readonly props: P;
  /** Further keywords of the group's object schema (e.g. `not: { required: [a, b] }` for keys given alone). */
  readonly extra?: JSONSchema;
  /** True when the block may also be `false` (switched off): see `orFalse`. */
  readonly off: Off;
}

type OptionalKeys<P extends OptionProps> = {
  [K in keyof P]: P[K] extends OptionLeaf<unknown, true> ? K : never;
}[keyof P];

type GroupOf<P extends OptionProps> = {
  -readonly [K in Exclude<keyof P, OptionalKeys<P>>]: OptionsOf<P[K]>;
} & {
  -readonly [K in OptionalKeys<P>]?: OptionsOf<P[K]>;
};

/** The value type a declaration describes (its defaults applied: only optional leaves may be absent). */
export type OptionsOf<N> =
  N extends OptionLeaf<infer T, boolean>
    ? T
    : N extends OptionGroup<infer P, infer Off>
      ? [Off] extends [true]
        ? false | GroupOf<P>
        : GroupOf<P>
      : never;

/**
 * What a caller may give for a declaration (an experiment's block, a direct call's options): every key optional,
 * groups partial all the way down, leaves whole. `withDefaults` turns it into `OptionsOf`.
 */
export type OptionsInput<N> =
  N extends OptionLeaf<infer T, boolean>
    ? T
    : N extends OptionGroup<infer P, infer Off>
      ? [Off] extends [true]
        ? false | { -readonly [K in keyof P]?: OptionsInput<P[K]> }
        : { -readonly [K in keyof P]?: OptionsInput<P[K]> }
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

export const int = (
  description: string,
  defaultValue: number,
  minimum = 0,
  maximum?: number,
): OptionLeaf<number> =>
  value<number>(
    maximum === undefined ? { type: "integer", minimum } : { type: "integer", minimum, maximum },
    description,
    defaultValue,
  );

/** A string leaf; `minLength` 1 refuses the empty string. */
export const str = (description: string, defaultValue: string, minLength?: number): OptionLeaf<string> =>
  value<string>(
    minLength === undefined ? { type: "string" } : { type: "string", minLength },
    description,
    defaultValue,
  );

export const bool = (description: string, defaultValue: boolean): OptionLeaf<boolean> =>
  value<boolean>({ type: "boolean" }, description, defaultValue);

export function choice<const T extends string>(
  values: readonly T[],
  description: string,
  defaultValue: NoInfer<T>,
): OptionLeaf<T> {
  return value<T>({ enum: [...values] }, description, defaultValue);
}

/** A non-empty list of distinct values out of `values` (an order that matters, or a set). */
export function subset<const T extends string>(
  values: readonly T[],
  description: string,
  defaultValue: NoInfer<T>[],
): OptionLeaf<T[]> {
  return value<T[]>(
    { type: "array", minItems: 1, uniqueItems: true, items: { type: "string", enum: [...values] } },
    description,
    defaultValue,
  );
}

/** A block of options; `extra` adds keywords to its object schema (constraints between its keys). */
export function group<P extends OptionProps>(
  description: string,
  props: P,
  extra?: JSONSchema,
): OptionGroup<P> {
  return extra
    ? { kind: "group", description, props, extra, off: false }
    : { kind: "group", description, props, off: false };
}

/**
 * The same block, or `false` to switch it off (schema: `oneOf [false, the block]`). Its defaults are the block's
 * (on); `withDefaults` takes a given `false` as it is and merges a given object over the block's defaults.
 */
export function orFalse<P extends OptionProps>(g: OptionGroup<P>): OptionGroup<P, true> {
  return { ...g, off: true };
}

/** The defaults of a declaration (optional keys absent; a block that may be `false` defaults to on). */
export function defaultsOf<P extends OptionProps>(g: OptionGroup<P>): OptionsOf<OptionGroup<P>> {
  const out: Record<string, unknown> = {};
  for (const [k, n] of Object.entries(g.props)) {
    if (n.kind === "group") out[k] = defaultsOf(n as OptionGroup<OptionProps>);
    else if (!n.optional) out[k] = structuredClone(n.default);
  }
  return out as OptionsOf<OptionGroup<P>>;
}

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === "object" && x !== null && !Array.isArray(x);

/**
 * The declaration's defaults with `input` over them: a group merges key by key (recursively), a leaf is taken
 * whole (a list replaces the default list), an `undefined` value keeps the default, a block that may be `false`
 * takes `false` as given. Keys the declaration does not know are kept as given (the schema refuses them in an
 * experiment file; a direct caller may pass more, e.g. a logger). The result shares no object with the
 * declaration.
 */
export function withDefaults<P extends OptionProps>(
  g: OptionGroup<P>,
  input: OptionsInput<OptionGroup<P>> | undefined = undefined,
): OptionsOf<OptionGroup<P>> {
  const out = defaultsOf(g) as Record<string, unknown>;
  for (const [k, v] of Object.entries((input ?? {}) as Record<string, unknown>)) {
    if (v === undefined) continue;
    const n: OptionNode | undefined = Object.hasOwn(g.props, k) ? g.props[k] : undefined;
    out[k] = n?.kind === "group" && isPlainObject(v) ? withDefaults(n as OptionGroup<OptionProps>, v) : v;
  }
  return out as OptionsOf<OptionGroup<P>>;
}

/** The JSON Schema of a declaration: every key optional, unknown keys refused, no defaults. */
export function schemaOf(g: OptionGroup<OptionProps, boolean>, extra: JSONSchema = {}): JSONSchema {
  const properties: Record<string, JSONSchema> = {};
  for (const [k, n] of Object.entries(g.props)) {
    if (n.kind === "leaf") properties[k] = n.schema;
    else if (n.off) {
      const { description, ...block } = schemaOf({ ...n, off: false });
      properties[k] = { description, oneOf: [{ const: false }, block] };
    } else properties[k] = schemaOf(n);
  }
  return {
    ...extra,
    ...g.extra,
    type: "object",
    additionalProperties: false,
    description: g.description,
    properties,
  };
}

/** Dotted paths of the optional leaves (keys that may be absent after defaults are applied). */
export function optionalKeysOf(g: OptionGroup<OptionProps, boolean>, prefix = ""): string[] {
  const out: string[] = [];
  for (const [k, n] of Object.entries(g.props)) {
    if (n.kind === "group") out.push(...optionalKeysOf(n, `${prefix}${k}.`));
    else if (n.optional) out.push(`${prefix}${k}`);
  }
  return out;
}
