import { describe, expect, it } from "vitest";
import { PluginError } from "../errors/errors.ts";
import { Registry } from "./registry.ts";
import { didYouMean, suggestName } from "./suggest.ts";

interface Entry {
  name: string;
  value: number;
}

describe("Registry", () => {
  it("registers by name and returns the entry and its owner", () => {
    const r = new Registry<Entry>("thing");
    r.register("plugin-a", { name: "alpha", value: 1 });
    r.register("plugin-b", { name: "beta", value: 2 });
    expect(r.get("beta").value).toBe(2);
    expect(r.owner("alpha")).toBe("plugin-a");
    expect(r.names()).toEqual(["alpha", "beta"]);
    expect(r.entries().map((e) => e.value)).toEqual([1, 2]);
    expect(r.has("gamma")).toBe(false);
    expect(r.find("gamma")).toBeUndefined();
  });

  it("is a tapable HookMap: tapping the hook directly registers too", () => {
    const r = new Registry<Entry>("thing");
    r.hooks.for("direct").tap("raw-plugin", () => ({ name: "direct", value: 7 }));
    expect(r.get("direct").value).toBe(7);
    expect(r.owner("direct")).toBe("raw-plugin");
  });

  it("rejects a second registration of a name, naming both plugins", () => {
    const r = new Registry<Entry>("merge method");
    r.register("first-plugin", { name: "ties", value: 1 });
    const attempt = () => r.register("second-plugin", { name: "ties", value: 2 });
    expect(attempt).toThrow(PluginError);
    expect(attempt).toThrow(
      /merge method 'ties' is registered twice: first by plugin 'first-plugin', again by plugin 'second-plugin'/,
    );
    // also through the raw hook route
    expect(() => r.hooks.for("ties").tap("third", () => ({ name: "ties", value: 3 }))).toThrow(/'third'/);
    expect(r.get("ties").value).toBe(1);
  });

  it("unknown names throw PluginError with a did-you-mean suggestion and the registered names", () => {
    const r = new Registry<Entry>("domain");
    r.register("p", { name: "math", value: 1 });
    r.register("p", { name: "code", value: 2 });
    expect(() => r.get("mth")).toThrow(PluginError);
    expect(() => r.get("mth")).toThrow("unknown domain 'mth' (did you mean 'math'?); registered: math, code");
    expect(() => r.get("zzzzzz")).toThrow("unknown domain 'zzzzzz'; registered: math, code");
    expect(new Registry<Entry>("analysis").unknownMessage("x")).toBe(
      "unknown analysis 'x'; no analysis is registered",
    );
  });

  it("rejects entries without a name", () => {
    const r = new Registry<Entry>("thing");
    expect(() => r.register("p", { value: 1 } as unknown as Entry)).toThrow(/string 'name'/);
    expect(() => r.register("p", { name: "", value: 1 })).toThrow(/non-empty/);
  });
});

describe("suggestName", () => {
  it("suggests close names only", () => {
    expect(suggestName("mth", ["math", "code"])).toBe("math");
    expect(suggestName("Math", ["math", "code"])).toBe("math");
    expect(suggestName("sede", ["seed", "name"])).toBe("seed");
    expect(suggestName("temprature", ["temperature", "samples"])).toBe("temperature");
    expect(suggestName("xyz", ["temperature", "samples"])).toBeUndefined();
    expect(suggestName("a", [])).toBeUndefined();
    expect(suggestName("^", ["+", "-"])).toBeUndefined();
    expect(suggestName("X", ["x", "y"])).toBe("x");
    expect(didYouMean("dmains", ["domains", "arms"])).toBe(" (did you mean 'domains'?)");
    expect(didYouMean("qqqq", ["domains"])).toBe("");
  });
});
