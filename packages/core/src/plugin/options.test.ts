import { describe, expect, it } from "vitest";
import {
  bool,
  choice,
  defaultsOf,
  group,
  int,
  num,
  type OptionsInput,
  type OptionsOf,
  optional,
  optionalKeysOf,
  orFalse,
  schemaOf,
  str,
  subset,
  value,
  withDefaults,
} from "./options.ts";
import type { JSONSchema } from "./schema.ts";
import { validateWithSchema } from "./validate.ts";

const OPTS = group("Demo options.", {
  steps: int("Steps.", 10, 1),
  lr: num("Learning rate.", 0.1, { exclusiveMinimum: 0 }),
  mode: choice(["a", "b"], "Mode.", "a"),
  inner: group("Inner block.", {
    on: bool("Switch.", true),
    stop: optional(value<string[]>({ type: "array", items: { type: "string" } }, "Stops.", [])),
  }),
  cap: optional(num("Cap.", 0)),
});

describe("options declared once", () => {
  it("defaults, optional keys and schema all come from the one declaration", () => {
    const d: OptionsOf<typeof OPTS> = defaultsOf(OPTS);
    expect(d).toEqual({ steps: 10, lr: 0.1, mode: "a", inner: { on: true } });
    expect(optionalKeysOf(OPTS)).toEqual(["inner.stop", "cap"]);
    const schema = schemaOf(OPTS, { title: "Demo" });
    expect(schema).toEqual({
      title: "Demo",
      type: "object",
      additionalProperties: false,
      description: "Demo options.",
      properties: {
        steps: { type: "integer", minimum: 1, description: "Steps." },
        lr: { type: "number", exclusiveMinimum: 0, description: "Learning rate." },
        mode: { enum: ["a", "b"], description: "Mode." },
        inner: {
          type: "object",
          additionalProperties: false,
          description: "Inner block.",
          properties: {
            on: { type: "boolean", description: "Switch." },
            stop: { type: "array", items: { type: "string" }, description: "Stops." },
          },
        },
        cap: { type: "number", description: "Cap." },
      },
    });
  });

  it("the schema refuses what the type does not allow and carries no defaults (a partial block stays partial)", () => {
    const schema = schemaOf(OPTS);
    const block = { inner: { stop: ["\n"] } };
    expect(validateWithSchema("demo", schema, block)).toEqual([]);
    expect(block).toEqual({ inner: { stop: ["\n"] } });
    const bad = validateWithSchema("demo", schema, { steps: 0, mode: "c", inner: { of: true } });
    expect(bad.map((p) => p.path.join("."))).toEqual(expect.arrayContaining(["steps", "mode", "inner.of"]));
  });

  it("defaults are copies: changing one resolved config never changes the declaration", () => {
    const A = group("x", { list: value<number[]>({ type: "array" }, "List.", [1]) });
    const d = defaultsOf(A);
    d.list.push(2);
    expect(defaultsOf(A).list).toEqual([1]);
  });
});

describe("options declared once: blocks that may be off, constraints between keys, merging given options", () => {
  const PROJ = group("Projection.", {
    dims: int("Dims.", 256, 1),
    kind: choice(["auto", "dense"], "Kind.", "auto"),
  });
  const DECL = group(
    "Demo.",
    {
      name: str("Name.", "demo", 1),
      ops: subset(["+", "-", "*"], "Operators.", ["+"]),
      levels: optional(value<number[]>({ type: "array", items: { type: "integer" } }, "Levels.", [])),
      depth: int("Depth.", 2, 1, 4),
      projection: orFalse(PROJ),
      inner: group(
        "Inner.",
        { a: int("A.", 1), b: optional(int("B.", 0)) },
        { not: { required: ["a", "b"] } },
      ),
    },
    { title: "ignored by nothing" },
  );

  it("schema: a block or false (oneOf), extra keywords of a group, strings, subsets, integer bounds", () => {
    const s = schemaOf(DECL);
    expect(s.title).toBe("ignored by nothing");
    const p = s.properties as Record<string, JSONSchema>;
    expect(p.name).toEqual({ type: "string", minLength: 1, description: "Name." });
    expect(p.ops).toEqual({
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", enum: ["+", "-", "*"] },
      description: "Operators.",
    });
    expect(p.depth).toEqual({ type: "integer", minimum: 1, maximum: 4, description: "Depth." });
    expect(p.projection).toEqual({
      description: "Projection.",
      oneOf: [
        { const: false },
        { type: "object", additionalProperties: false, properties: schemaOf(PROJ).properties },
      ],
    });
    expect((p.inner as JSONSchema).not).toEqual({ required: ["a", "b"] });
    expect(validateWithSchema("demo", s, { projection: false, inner: { b: 1 } })).toEqual([]);
    expect(validateWithSchema("demo", s, { projection: { dims: 8 } })).toEqual([]);
    for (const bad of [
      { projection: true },
      { projection: { dim: 8 } },
      { inner: { a: 1, b: 1 } },
      { depth: 5 },
    ])
      expect(validateWithSchema("demo", s, bad).length, JSON.stringify(bad)).toBeGreaterThan(0);
  });

  it("defaults: a block that may be off defaults to on; withDefaults merges groups, takes leaves whole", () => {
    const d: OptionsOf<typeof DECL> = defaultsOf(DECL);
    expect(d).toEqual({
      name: "demo",
      ops: ["+"],
      depth: 2,
      projection: { dims: 256, kind: "auto" },
      inner: { a: 1 },
    });
    const given: OptionsInput<typeof DECL> = { ops: ["*"], projection: { dims: 8 }, inner: { b: 3 } };
    expect(withDefaults(DECL, given)).toEqual({
      name: "demo",
      ops: ["*"],
      depth: 2,
      projection: { dims: 8, kind: "auto" },
      inner: { a: 1, b: 3 },
    });
    expect(withDefaults(DECL, { projection: false, depth: undefined }).projection).toBe(false);
    expect(withDefaults(DECL, { depth: undefined }).depth).toBe(2);
    expect(withDefaults(DECL).levels).toBeUndefined();
    // keys the declaration does not know are kept (a direct caller's extras, e.g. a logger)
    const log = () => {};
    expect(withDefaults(DECL, { log } as OptionsInput<typeof DECL>)).toMatchObject({ log });
    // the result shares nothing with the declaration or the given options' groups
    const r = withDefaults(DECL, given);
    r.ops.push("-");
    expect(defaultsOf(DECL).ops).toEqual(["+"]);
    expect(given.inner).toEqual({ b: 3 });
  });
});
