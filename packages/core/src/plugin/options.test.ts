import { describe, expect, it } from "vitest";
import {
  bool,
  choice,
  defaultsOf,
  group,
  int,
  num,
  type OptionsOf,
  optional,
  optionalKeysOf,
  schemaOf,
  value,
} from "./options.ts";
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
