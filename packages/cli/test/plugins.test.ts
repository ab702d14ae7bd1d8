import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { PluginError } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { loadBuiltinPlugins } from "../src/plugins/builtin.ts";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import {
  isPathSpecifier,
  loadPlugin,
  pluginsFromModule,
  resolvePluginSpecifier,
} from "../src/plugins/load.ts";

const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url));

describe("plugin loading", () => {
  it("tells paths from module names", () => {
    expect(isPathSpecifier("./a.js")).toBe(true);
    expect(isPathSpecifier("../a.js")).toBe(true);
    expect(isPathSpecifier("/abs/a.js")).toBe(true);
    expect(isPathSpecifier("@acme/m2rl-domain-sql")).toBe(false);
    expect(isPathSpecifier("m2rl-plugin-domain-countdown")).toBe(false);
  });

  it("resolves a module name from the experiment's folder with ESM rules (package exports)", () => {
    const url = resolvePluginSpecifier("m2rl-plugin-domain-countdown", fixtures);
    expect(url).toMatch(/examples\/plugin-domain-countdown\/dist\/index\.js$/);
    expect(() => resolvePluginSpecifier("@acme/m2rl-domain-nope", fixtures)).toThrow(PluginError);
  });

  it("unwraps default, named `plugin`, classes, factories and arrays", async () => {
    const p = (name: string) => ({ name, apply() {} });
    class K {
      name = "klass";
      apply() {}
    }
    expect((await pluginsFromModule({ default: p("a") }, "m")).map((x) => x.name)).toEqual(["a"]);
    expect((await pluginsFromModule({ plugin: () => p("b") }, "m")).map((x) => x.name)).toEqual(["b"]);
    expect((await pluginsFromModule({ default: K }, "m")).map((x) => x.name)).toEqual(["klass"]);
    expect(
      (await pluginsFromModule({ default: async () => [p("c"), p("d")] }, "m")).map((x) => x.name),
    ).toEqual(["c", "d"]);
    expect((await pluginsFromModule({ builtinPlugins: [p("e")] }, "m")).map((x) => x.name)).toEqual(["e"]);
    await expect(pluginsFromModule({ default: { name: "no-apply" } }, "m")).rejects.toThrow(
      "[m]: export 'default' is not a plugin",
    );
  });

  it("reports a module that throws while loading", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m2rl-plugin-"));
    writeFileSync(join(dir, "boom.mjs"), "throw new Error('kaboom');\n");
    await expect(loadPlugin("./boom.mjs", dir)).rejects.toThrow(
      "[./boom.mjs]: plugin module failed to load: kaboom",
    );
  });

  it("picks up `builtinPlugins` from the built-in packages when they export it; import failures are warnings", async () => {
    const fake: Record<string, unknown> = {
      "pkg-with": { builtinPlugins: [{ name: "pkg-with:domains", apply() {} }] },
      "pkg-without": { somethingElse: 1 },
    };
    const r = await loadBuiltinPlugins(["pkg-with", "pkg-without", "pkg-broken"], async (name) => {
      if (!(name in fake)) throw new Error(`Cannot find package '${name}'`);
      return fake[name];
    });
    expect(r.plugins.map((p) => p.name)).toContain("pkg-with:domains");
    expect(r.plugins.map((p) => p.name)).not.toContain("pkg-without");
    expect(r.warnings).toEqual([
      "built-in plugins of pkg-broken not loaded: Cannot find package 'pkg-broken'",
    ]);
  });
});

describe("the countdown example plugin through the CLI loader", () => {
  it("loads by relative path, registers `countdown`, validates options per domain", async () => {
    const r = await loadExperimentFile(join(fixtures, "countdown.yaml"), { builtins: [] }, "countdown.yaml");
    expect(r.problems.map((p) => `${p.line}:${p.column} ${p.pathText} [${p.plugin}] ${p.message}`)).toEqual([
      "11:23 domains.cd-hard.options.count [m2rl-plugin-domain-countdown] must be <= 6",
    ]);
    expect(r.host.registry.domains.owner("countdown")).toBe("m2rl-plugin-domain-countdown");
  });

  it("creates the domain from the validated config and verifies", async () => {
    const file = join(fixtures, "countdown.yaml");
    const dir = mkdtempSync(join(tmpdir(), "m2rl-cd-"));
    const fixed = join(dir, "ok.yaml");
    writeFileSync(
      fixed,
      readFileSync(file, "utf8")
        .replace("count: 7", "count: 5")
        .replace(
          "../../../../examples/plugin-domain-countdown/src/index.ts",
          join(fixtures, "../../../../examples/plugin-domain-countdown/src/index.ts"),
        ),
    );
    const r = await loadExperimentFile(fixed, { builtins: [] });
    expect(r.problems).toEqual([]);
    const config = r.config!;
    expect(config.arms.map((a) => a.id)).toEqual(["single:countdown", "single:cd-hard"]);
    const d = config.domains["cd-hard"];
    const domain = await r.host.registry.domains.get(d.verifier).create(d.options, {});
    const [task] = await domain.tasks({ split: "train", seed: 0, count: 1 });
    expect((task.groundTruth as { numbers: number[] }).numbers).toHaveLength(5);
    expect((await domain.verify({ response: task.reference!, groundTruth: task.groundTruth })).status).toBe(
      "correct",
    );
  });
});
