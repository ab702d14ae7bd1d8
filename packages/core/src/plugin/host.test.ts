import { describe, expect, it } from "vitest";
import type { DomainFactory } from "../domain/types.ts";
import { PluginError } from "../errors/errors.ts";
// the public entry: it installs the options validator (ajv) that PluginHost.validateOptions uses
import { definePlugin, formatPath, type Plugin, PluginHost, registryPlugin } from "./index.ts";

const echoDomain: DomainFactory = {
  name: "echo",
  optionsSchema: {
    type: "object",
    additionalProperties: false,
    properties: {
      length: { type: "integer", minimum: 1, default: 4 },
      alphabet: { enum: ["digits", "letters"] },
    },
    required: ["alphabet"],
  },
  create: () => ({
    name: "echo",
    tasks: async () => [],
    verify: async () => ({ reward: 0, status: "incorrect" }),
  }),
};

/** Registered entries whose behaviour these registry tests never reach. */
const notUsed = (): never => {
  throw new Error("not used by registry tests");
};

describe("PluginHost", () => {
  it("exposes one frozen hooks object and frozen registries", () => {
    const host = new PluginHost();
    expect(Object.isFrozen(host.hooks)).toBe(true);
    expect(Object.isFrozen(host.registry)).toBe(true);
    expect(Object.keys(host.hooks)).toEqual(["pluginApplied", "validateConfig", "config", "trainer"]);
    expect(Object.keys(host.registry)).toEqual([
      "domains",
      "mixingSchedulers",
      "mergeMethods",
      "analyses",
      "configSections",
    ]);
  });

  it("applies object and class plugins in order and fires pluginApplied", () => {
    const seen: string[] = [];
    class ClassPlugin implements Plugin {
      readonly name = "class-plugin";
      apply(host: PluginHost) {
        host.registry.mixingSchedulers.register(this.name, { name: "uniform", create: notUsed });
      }
    }
    const host = new PluginHost();
    host.hooks.pluginApplied.tap("observer", (p) => seen.push(p.name));
    const obj = definePlugin({
      name: "object-plugin",
      apply: (h) => h.registry.domains.register("object-plugin", echoDomain),
    });
    host.use(obj, new ClassPlugin());
    host.use(obj); // the same object again: no-op
    expect(seen).toEqual(["object-plugin", "class-plugin"]);
    expect(host.plugins).toEqual(["object-plugin", "class-plugin"]);
    expect(host.registry.domains.owner("echo")).toBe("object-plugin");
    expect(host.registry.mixingSchedulers.owner("uniform")).toBe("class-plugin");
  });

  it("registryPlugin registers contributions under its own name", () => {
    const host = new PluginHost([
      registryPlugin("pack", {
        domains: [echoDomain],
        mergeMethods: [{ name: "linear" }],
        analyses: [{ name: "cosine", run: notUsed }],
      }),
    ]);
    expect(host.registry.mergeMethods.owner("linear")).toBe("pack");
    expect(host.registry.analyses.get("cosine").name).toBe("cosine");
    expect(() => host.use(registryPlugin("other-pack", { mergeMethods: [{ name: "linear" }] }))).toThrow(
      "merge method 'linear' is registered twice: first by plugin 'pack', again by plugin 'other-pack'",
    );
  });

  it("rejects things that are not plugins, and two plugins with one name", () => {
    const host = new PluginHost();
    expect(() => host.use({} as Plugin)).toThrow(/not a plugin/);
    expect(() => host.use({ name: "x" } as Plugin)).toThrow(/\[x\]: plugin has no 'apply\(host\)' method/);
    host.use({ name: "dup", apply() {} });
    expect(() => host.use({ name: "dup", apply() {} })).toThrow(PluginError);
  });

  it("wraps a throwing apply in a PluginError naming the plugin", () => {
    const host = new PluginHost();
    const bad: Plugin = {
      name: "bad-plugin",
      apply() {
        throw new Error("boom");
      },
    };
    expect(() => host.use(bad)).toThrow("[bad-plugin]: apply failed: boom");
  });

  it("validateOptions returns every problem with its JSON path and the plugin name, and fills defaults", () => {
    const host = new PluginHost();
    const options: Record<string, unknown> = { alphabet: "digts", extra: 1, lenght: 3 };
    const problems = host.validateOptions("echo-plugin", echoDomain.optionsSchema, options, [
      "domains",
      "e",
      "options",
    ]);
    const shown = problems.map((p) => `${formatPath(p.path)} | ${p.plugin} | ${p.message}`);
    expect(shown).toEqual([
      "domains.e.options.extra | echo-plugin | unknown key 'extra'; known keys: length, alphabet",
      "domains.e.options.lenght | echo-plugin | unknown key 'lenght' (did you mean 'length'?)",
      `domains.e.options.alphabet | echo-plugin | must be one of "digits", "letters" (got string "digts") (did you mean 'digits'?)`,
    ]);
    const good: Record<string, unknown> = { alphabet: "letters" };
    expect(host.validateOptions("echo-plugin", echoDomain.optionsSchema, good)).toEqual([]);
    expect(good).toEqual({ alphabet: "letters", length: 4 });
  });

  it("reports missing keys, wrong types and ranges; no schema means no check", () => {
    const host = new PluginHost();
    const problems = host.validateOptions("p", echoDomain.optionsSchema, { length: 0 }, []);
    expect(problems.map((p) => `${formatPath(p.path)}: ${p.message}`)).toEqual([
      "(root): missing required key 'alphabet'",
      "length: must be >= 1",
    ]);
    expect(
      host.validateOptions("p", echoDomain.optionsSchema, { alphabet: "digits", length: "4" })[0].message,
    ).toBe('must be integer (got string "4")');
    expect(host.validateOptions("p", undefined, { anything: true })).toEqual([]);
  });

  it("two schema objects with the same $id both compile (a plugin module loaded twice)", () => {
    const host = new PluginHost();
    const make = () => ({
      $id: "https://example.test/opts.json",
      type: "object",
      properties: { a: { type: "integer" } },
    });
    expect(host.validateOptions("p", make(), { a: 1 })).toEqual([]);
    expect(host.validateOptions("p", make(), { a: "x" }).map((p) => p.message)).toEqual([
      'must be integer (got string "x")',
    ]);
  });

  it("an invalid schema is a PluginError naming the plugin", () => {
    const host = new PluginHost();
    expect(() => host.validateOptions("broken", { type: "no-such-type" }, {})).toThrow(
      /\[broken\]: invalid options schema/,
    );
  });
});
