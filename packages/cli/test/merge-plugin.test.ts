/**
 * `m2rl merge --plugin`: the plugin host the merge command looks methods up in (built-ins, then --plugin modules
 * resolved from the working folder), its errors (bad path, unknown module, unknown method or parameter), and the
 * same merge method loaded from an experiment's `plugins:` list.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CheckpointWriter } from "@m2rl/core/checkpoint";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main.ts";
import { loadMergeHost } from "../src/merge/plugins.ts";
import { loadExperimentFile } from "../src/plugins/experiment.ts";
import { captureOutput } from "./capture-output.ts";

const example = fileURLToPath(new URL("../../../examples/plugin-merge-median/", import.meta.url));
const pluginFile = join(example, "src", "index.ts");
const dir = mkdtempSync(join(tmpdir(), "m2rl-merge-plugin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

const T = "model.layers.0.mlp.up_proj.weight";

async function model(name: string, values: number[]): Promise<void> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const w = await CheckpointWriter.create(new NodeFileStore(d), [{ name: T, shape: [4], dtype: "F32" }]);
  await w.write(T, Float32Array.from(values));
  await w.finish();
}

const yml = (name: string, method: string, params: string) =>
  writeFileSync(
    join(dir, name),
    `merge_method: ${method}\nbase_model: base\nmodels:\n  - model: ft0\n  - model: ft1\nparameters: ${params}\n`,
  );

beforeAll(async () => {
  await model("base", [1, 2, 3, 4]);
  await model("ft0", [2, 2, 1, 8]);
  await model("ft1", [4, 1, 3, 4]);
  yml("median.yml", "median", "{ lambda: 2 }");
  yml("typo.yml", "medain", "{ lambda: 2 }");
  yml("param.yml", "median", "{ lamda: 2 }");
  yml("gradient.yml", "median", "{ lambda: [1, 2] }");
});

const run = (...args: string[]) => main(["node", "m2rl", "merge", ...args, "--no-progress"]);

describe("m2rl merge --plugin", () => {
  it("loads the plugin into a host with the built-ins; what workers import is the resolved file URL", async () => {
    const { host, modules } = await loadMergeHost([`./${relative(dir, pluginFile)}`, pluginFile], dir);
    expect(host.registry.mergeMethods.owner("median")).toBe("m2rl-plugin-merge-median");
    expect(host.registry.mergeMethods.has("ties")).toBe(true);
    // the same file given twice is one plugin and one module
    expect(modules).toEqual([pathToFileURL(pluginFile).href]);
  });

  it("merges with the plugin's method (two models: the mean task vector), in-process and in workers", async () => {
    // task vectors [1, 0, -2, 4] and [3, -1, 0, 0]: median = mean = [2, -0.5, -1, 2]; base + 2 * median
    for (const workers of ["0", "1"]) {
      const out = join(dir, `out${workers}`);
      expect(
        await run(join(dir, "median.yml"), "--out", out, "--workers", workers, "--plugin", pluginFile),
      ).toBe(0);
      const ck = await openCheckpoint(out);
      expect([...(await ck.readFloat32(T))]).toEqual([5, 1, 1, 8]);
      await ck.close();
      expect(io.out.join("")).toMatch(new RegExp(`, ${workers} workers, `));
    }
  });

  it("--dry-run names the plugin that registered the method", async () => {
    expect(
      await run(join(dir, "median.yml"), "--out", join(dir, "dry"), "--dry-run", "--plugin", pluginFile),
    ).toBe(0);
    expect(io.out.join("")).toMatch(/^median \(plugin m2rl-plugin-merge-median\): 2 model\(s\) \+ base/);
    expect(existsSync(join(dir, "dry"))).toBe(false);
  });

  it("an unknown method lists the registered ones, the plugin's included; parameters follow its declaration", async () => {
    expect(await run(join(dir, "typo.yml"), "--out", join(dir, "bad"), "--plugin", pluginFile)).toBe(2);
    expect(io.err.join("")).toMatch(
      /typo\.yml:1 merge_method: unknown merge_method 'medain' \(did you mean 'median'\?\) \(known: linear, .*, karcher, .*, median\)/,
    );
    expect(await run(join(dir, "param.yml"), "--out", join(dir, "bad"), "--plugin", pluginFile)).toBe(2);
    expect(io.err.join("")).toMatch(/unknown parameter 'lamda' for merge method 'median' \(known: lambda\)/);
    // lambda is a per-tensor parameter: a layer gradient is accepted
    expect(await run(join(dir, "gradient.yml"), "--out", join(dir, "grad"), "--plugin", pluginFile)).toBe(0);
    expect(existsSync(join(dir, "bad"))).toBe(false);
  });

  it("a --plugin that is not there exits 2 naming it", async () => {
    expect(await run(join(dir, "median.yml"), "--out", join(dir, "bad"), "--plugin", "./nope.js")).toBe(2);
    expect(io.err.join("")).toMatch(/\[\.\/nope\.js\]: plugin file not found: .*nope\.js/);
    expect(
      await run(join(dir, "median.yml"), "--out", join(dir, "bad"), "--plugin", "m2rl-plugin-merge-nope"),
    ).toBe(2);
    expect(io.err.join("")).toMatch(/cannot find plugin module 'm2rl-plugin-merge-nope'/);
  });
});

describe("the same method from an experiment's plugins: list", () => {
  it("registers median and validates the merge arm's parameters with its schema", async () => {
    const file = join(dir, "experiment.yaml");
    const yaml = (params: string) =>
      [
        "name: median-arm",
        "plugins:",
        `  - ${pluginFile}`,
        "policy: { builtin: tiny }",
        "domains:",
        "  math: { train: { count: 8 }, eval: { count: 4 } }",
        "  code: { train: { count: 8 }, eval: { count: 4 } }",
        "arms:",
        "  sft:",
        "  single:",
        "  merge:median:",
        `    parameters: ${params}`,
        "",
      ].join("\n");
    writeFileSync(file, yaml("{ lambda: 0.5 }"));
    const ok = await loadExperimentFile(file);
    expect(ok.problems.filter((p) => p.severity === "error")).toEqual([]);
    expect(ok.host.registry.mergeMethods.owner("median")).toBe("m2rl-plugin-merge-median");
    expect(ok.config?.arms.find((a) => a.id === "merge:median")).toMatchObject({
      kind: "merge",
      method: "median",
      parameters: { lambda: 0.5 },
    });
    writeFileSync(file, yaml("{ lambda: high }"));
    const bad = await loadExperimentFile(file);
    expect(bad.problems.map((p) => `${p.line} ${p.pathText} ${p.message}`)).toEqual([
      '12 arms.merge:median.parameters.lambda must be number (got string "high")',
    ]);
  });
});
