/**
 * `@m2rl/core/plugin/lite` (./lite/index.ts): the host, registries and helpers without options validation. Its own
 * test file, so that nothing here imports ./validate.ts (vitest gives each file its own modules).
 */
import { describe, expect, it } from "vitest";
import { PluginError } from "../errors/errors.ts";
import { didYouMean, PluginHost, registryPlugin } from "./lite/index.ts";
import { optionsValidation } from "./validation-slot.ts";

describe("@m2rl/core/plugin/lite", () => {
  it("holds plugins and registries without loading the options validator", () => {
    const host = new PluginHost([
      registryPlugin("methods", { mergeMethods: [{ name: "median", optionsSchema: { type: "object" } }] }),
    ]);
    expect(host.registry.mergeMethods.find("median")?.name).toBe("median");
    expect(didYouMean("mediam", host.registry.mergeMethods.names())).toContain("median");
    expect(optionsValidation.validate).toBeUndefined();
  });

  it("validateOptions says the validator is not loaded, naming the plugin; without a schema there is nothing to check", () => {
    const host = new PluginHost();
    expect(host.validateOptions("p", undefined, { any: 1 })).toEqual([]);
    expect(() => host.validateOptions("p", { type: "object" }, {})).toThrow(PluginError);
    expect(() => host.validateOptions("p", { type: "object" }, {})).toThrow(/\[p\]: cannot validate options/);
  });

  it("once @m2rl/core/plugin is imported, the same host validates", async () => {
    const host = new PluginHost();
    await import("./index.ts");
    expect(
      host.validateOptions("p", { type: "object", properties: { n: { type: "integer" } } }, { n: "x" }),
    ).toEqual([{ path: ["n"], message: 'must be integer (got string "x")', plugin: "p" }]);
  });
});
