import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../src/main.ts";
import { captureOutput } from "./capture-output.ts";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const { out, err } = captureOutput();

/** Runs `m2rl validate <fixture>` in-process; returns the exit code and the problem lines (file name stripped). */
async function validate(name: string): Promise<{ code: number; problems: string[]; all: string }> {
  const file = fixture(name);
  const code = await main(["node", "m2rl", "validate", file]);
  const all = [...out, ...err].join("");
  const problems = all
    .split("\n")
    .filter((l) => l.startsWith(`${file}:`) && !l.startsWith(`${file}: `))
    .map((l) => l.slice(file.length + 1));
  return { code, problems, all };
}

describe("m2rl validate", () => {
  it("accepts a good experiment with file plugins (default export and factory) and exits 0", async () => {
    const r = await validate("good.yaml");
    expect(r.problems).toEqual([]);
    expect(r.code).toBe(0);
    expect(out.join("")).toMatch(/good\.yaml: OK — experiment 'toy-ok': 1 domain, 1 arm, \d+ plugins/);
  });

  it("wrong type", async () => {
    const r = await validate("wrong-type.yaml");
    expect(r.problems).toEqual([
      `2:7  seed  must be integer (got string "twelve")`,
      "8:21  domains.toy.train.count  must be >= 0",
    ]);
    expect(r.code).toBe(2);
    expect(r.all).toContain("wrong-type.yaml: 2 problems");
  });

  it("unknown key, with a did-you-mean suggestion", async () => {
    const r = await validate("unknown-key.yaml");
    expect(r.problems).toEqual([
      "1:1  (root)  missing required key 'arms'",
      "7:1  armz  unknown key 'armz' (did you mean 'arms'?)",
      "10:3  evaluation.temprature  unknown key 'temprature' (did you mean 'temperature'?)",
    ]);
    expect(r.code).toBe(2);
  });

  it("missing required key", async () => {
    const r = await validate("missing-key.yaml");
    expect(r.problems).toEqual(["1:1  (root)  missing required key 'policy'"]);
    expect(r.code).toBe(2);
  });

  it("unknown plugin module, missing plugin file, module that is not a plugin, unknown domain", async () => {
    const r = await validate("unknown-plugin.yaml");
    expect(r.problems).toHaveLength(4);
    expect(r.problems[0]).toMatch(
      /^3:5 {2}plugins\[0\] {2}\[@acme\/m2rl-domain-nope\]: cannot find plugin module '@acme\/m2rl-domain-nope' from /,
    );
    expect(r.problems[1]).toMatch(
      /^4:5 {2}plugins\[1\] {2}\[\.\/no-such-plugin\.js\]: plugin file not found: .*no-such-plugin\.js$/,
    );
    expect(r.problems[2]).toBe(
      "5:5  plugins[2]  [./not-a-plugin.js]: module exports no plugin: expected a default export or a named export 'plugin' (an object with name and apply(host), a class, or a factory) or 'builtinPlugins' (an array); found exports: answer",
    );
    expect(r.problems[3]).toMatch(
      /^10:15 {2}domains\.sql\.verifier {2}unknown domain 'sql'(; registered: |; no domain is registered)/,
    );
    expect(r.code).toBe(2);
  });

  it("plugin option failing the plugin's schema names the plugin", async () => {
    const r = await validate("plugin-option.yaml");
    expect(r.problems).toEqual([
      "8:13  domains.toy.options.size  [toy-plugin] must be <= 10",
      "9:7  domains.toy.options.colour  [toy-plugin] unknown key 'colour'; known keys: size",
    ]);
    expect(r.code).toBe(2);
  });

  it("a missing file is one problem and exit 2", async () => {
    const r = await validate("does-not-exist.yaml");
    expect(r.problems).toEqual(["1:1  (file)  file not found"]);
    expect(r.code).toBe(2);
  });

  it("--json prints problems and the resolved experiment", async () => {
    const code = await main(["node", "m2rl", "validate", "--json", fixture("good.yaml")]);
    expect(code).toBe(0);
    const json = JSON.parse(out.join(""));
    expect(json.ok).toBe(true);
    expect(json.config.domains.toy).toMatchObject({
      verifier: "toy",
      plugin: "toy-plugin",
      options: { size: 5 },
    });
  });
});

const presetDir = fileURLToPath(new URL("../experiments/", import.meta.url));
const presets = existsSync(presetDir) ? readdirSync(presetDir).filter((f) => f.endsWith(".yaml")) : [];

describe.skipIf(presets.length === 0)("built-in experiment presets", () => {
  it.each(presets)("%s validates against the schema and the built-in plugins", async (name) => {
    const code = await main(["node", "m2rl", "validate", `${presetDir}${name}`]);
    expect(err.join("")).toBe("");
    expect(out.join("")).toContain(": OK — experiment");
    expect(code).toBe(0);
  });
});

const exampleDir = fileURLToPath(new URL("../../../examples/experiments/", import.meta.url));
const examples = existsSync(exampleDir) ? readdirSync(exampleDir).filter((f) => f.endsWith(".yaml")) : [];

describe("example experiments (examples/experiments)", () => {
  it("there are examples: the built-in spelled out, JSONL data, a fifth domain from a plugin", () => {
    expect(examples).toEqual(
      expect.arrayContaining(["builtin.yaml", "jsonl-data.yaml", "countdown-fifth-domain.yaml"]),
    );
  });
  it.each(examples)("%s validates (plugins, data files, options)", async (name) => {
    const code = await main(["node", "m2rl", "validate", `${exampleDir}${name}`]);
    expect(err.join("")).toBe("");
    expect(out.join("")).toContain(": OK — experiment");
    expect(code).toBe(0);
  });
});

describe("m2rl --help", () => {
  it("prints the commands and exits 0", async () => {
    const code = await main(["node", "m2rl", "--help"]);
    expect(code).toBe(0);
    const text = out.join("");
    expect(text).toContain("Usage: m2rl");
    expect(text).toContain("validate [options] <file>");
  });

  it("an unknown command exits 2", async () => {
    expect(await main(["node", "m2rl", "no-such-command"])).toBe(2);
  });
});
