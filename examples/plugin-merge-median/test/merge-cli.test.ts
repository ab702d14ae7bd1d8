/**
 * The plugin through the m2rl CLI, as a user runs it: `m2rl merge --plugin <path>` on small safetensors
 * checkpoints, in worker threads and in-process (same bytes, hand-computed values), and `m2rl validate` on an
 * experiment that lists the plugin under `plugins:` and has a `merge:median` arm.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "@m2rl/cli";
import { CheckpointWriter } from "@m2rl/core/checkpoint";
import { NodeFileStore, openCheckpoint } from "@m2rl/io-node";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";

const pluginFile = fileURLToPath(new URL("../src/index.ts", import.meta.url));
const here = fileURLToPath(new URL(".", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "m2rl-merge-median-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const out: string[] = [];
const err: string[] = [];
beforeEach(() => {
  out.length = 0;
  err.length = 0;
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const W = "model.layers.0.mlp.up_proj.weight";
const B = "model.layers.0.mlp.up_proj.bias";

async function model(name: string, w: number[], b: number[]): Promise<void> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const writer = await CheckpointWriter.create(new NodeFileStore(d), [
    { name: W, shape: [2, 3], dtype: "F32" },
    { name: B, shape: [2], dtype: "F32" },
  ]);
  await writer.write(W, Float32Array.from(w));
  await writer.write(B, Float32Array.from(b));
  await writer.finish();
  writeFileSync(join(d, "config.json"), JSON.stringify({ model_type: "llama", torch_dtype: "float32" }));
}

async function read(folder: string): Promise<Record<string, number[]>> {
  const ck = await openCheckpoint(join(dir, folder));
  const r = { [W]: [...(await ck.readFloat32(W))], [B]: [...(await ck.readFloat32(B))] };
  await ck.close();
  return r;
}

beforeAll(async () => {
  await model("base", [0, 1, 2, 3, 4, 5], [1, -1]);
  // task vectors (model - base): w [1, 0, -1, 2, 4, 0.5] / [3, -2, 0, 2, -4, 0.25] / [2, 2, 5, -1, 0, 1]
  //                              b [0.5, 1] / [-0.5, 3] / [0, -2]
  await model("ft0", [1, 1, 1, 5, 8, 5.5], [1.5, 0]);
  await model("ft1", [3, -1, 2, 5, 0, 5.25], [0.5, 2]);
  await model("ft2", [2, 3, 7, 2, 4, 6], [1, -3]);
  writeFileSync(
    join(dir, "median.yml"),
    [
      "merge_method: median",
      "base_model: base",
      "models:",
      "  - model: ft0",
      "  - model: ft1",
      "  - model: ft2",
      "parameters: { lambda: 0.5 }",
      "",
    ].join("\n"),
  );
});

const merge = (...args: string[]) => main(["node", "m2rl", "merge", join(dir, "median.yml"), ...args]);

describe("m2rl merge --plugin with the median method", () => {
  // medians: w [2, 0, 0, 2, 0, 0.5], b [0, 1]; base + 0.5 * median
  const expected = { [W]: [1, 1, 2, 4, 4, 5.25], [B]: [1, -0.5] };

  it("runs the plugin's method in worker threads and in-process, with the same bytes", async () => {
    const flags = ["--plugin", pluginFile, "--no-progress", "--no-fsync"];
    expect(await merge("--out", join(dir, "out-workers"), "--workers", "2", ...flags), err.join("")).toBe(0);
    expect(out.join("")).toMatch(
      /^median \(plugin m2rl-plugin-merge-median\): 3 model\(s\) \+ base, 2 tensors/,
    );
    expect(out.join("")).toMatch(/, 2 workers, /);
    expect(await read("out-workers")).toEqual(expected);

    expect(await merge("--out", join(dir, "out-inline"), "--workers", "0", ...flags), err.join("")).toBe(0);
    expect(out.join("")).toMatch(/, 0 workers, /);
    expect(await read("out-inline")).toEqual(expected);
    const bytes = (f: string) => readFileSync(join(dir, f, "model.safetensors"));
    expect(bytes("out-inline").equals(bytes("out-workers"))).toBe(true);
  });

  it("without --plugin the method is unknown (a config error: exit 2), and the error lists the registered ones", async () => {
    expect(await merge("--out", join(dir, "out-none"), "--no-progress")).toBe(2);
    expect(err.join("")).toMatch(
      /merge_method: unknown merge_method 'median' \(known: linear, .*karcher(, [a-z_]+)*\)/,
    );
    expect(err.join("")).not.toMatch(/\(known: [^)]*\bmedian\b/);
  });
});

describe("the median method from an experiment's plugins: list", () => {
  it("validates a merge:median arm; a parameter outside the method's schema is an error", async () => {
    expect(await main(["node", "m2rl", "validate", join(here, "experiment.yaml")]), err.join("")).toBe(0);
    expect(await main(["node", "m2rl", "validate", join(here, "bad-parameters.yaml")])).toBe(2);
    expect(out.join("")).toMatch(/experiment\.yaml: OK — experiment 'median-demo': 2 domains, 5 arms/);
    expect(err.join("")).toMatch(
      /bad-parameters\.yaml:14:19 +arms\.merge:median\.parameters\.lamda +\[m2rl-plugin-merge-median\] unknown key 'lamda' \(did you mean 'lambda'\?\)/,
    );
  });
});
