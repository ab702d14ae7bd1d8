/**
 * A merge arm's parameters are checked by `m2rl validate` with the method's parameter schema (the one `m2rl merge`
 * checks a mergekit YAML with): a typo, a wrong type or an out-of-range value is refused at its line:col before
 * any training, and exits 2.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/main.ts";
import { captureOutput } from "./capture-output.ts";

const dir = mkdtempSync(join(tmpdir(), "m2rl-merge-params-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const io = captureOutput();

function experiment(name: string, arm: string, parameters: string): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      `name: ${name.replace(/\.yaml$/, "")}`,
      "policy: { builtin: tiny }",
      "domains:",
      "  math: { train: { count: 8 }, eval: { count: 4 } }",
      "  code: { train: { count: 8 }, eval: { count: 4 } }",
      "arms:",
      "  sft:",
      "  single:",
      `  ${arm}:`,
      `    parameters: ${parameters}`,
      "",
    ].join("\n"),
  );
  return file;
}

/** `m2rl validate <file>`: the exit code and the problem lines, the file name stripped. */
async function validate(file: string): Promise<{ code: number; problems: string[] }> {
  const code = await main(["node", "m2rl", "validate", file]);
  const problems = [...io.out, ...io.err]
    .join("")
    .split("\n")
    .filter((l) => l.startsWith(`${file}:`) && !l.startsWith(`${file}: `))
    .map((l) => l.slice(file.length + 1));
  return { code, problems };
}

describe("m2rl validate checks merge arm parameters", () => {
  it("refuses a typo in merge:ties parameters at its line:col, exit 2", async () => {
    const r = await validate(experiment("typo.yaml", "merge:ties", "{ densty: 0.2 }"));
    expect(r.problems).toEqual([
      "10:19  arms.merge:ties.parameters.densty  [@m2rl/mergers] unknown key 'densty' (did you mean 'density'?)",
    ]);
    expect(r.code).toBe(2);
  });

  it("refuses wrong types and out-of-range values, inside gradients and filter lists too", async () => {
    let r = await validate(experiment("range.yaml", "merge:dare_ties", "{ density: 1.5, normalize: yes }"));
    expect(r.problems).toEqual([
      "10:28  arms.merge:dare_ties.parameters.density  [@m2rl/mergers] must be <= 1",
      '10:44  arms.merge:dare_ties.parameters.normalize  [@m2rl/mergers] must be boolean (got string "yes")',
    ]);
    expect(r.code).toBe(2);
    r = await validate(experiment("grad.yaml", "merge:ties", "{ density: [0.1, -0.5] }"));
    expect(r.problems).toEqual([
      "10:34  arms.merge:ties.parameters.density[1]  [@m2rl/mergers] must be >= 0",
    ]);
  });

  it("accepts what a mergekit YAML accepts: scalars, layer gradients, {filter, value} lists", async () => {
    const r = await validate(
      experiment(
        "ok.yaml",
        "merge:ties",
        "{ density: [{ filter: mlp, value: 0.3 }, { value: [0.1, 0.5] }], lambda: [1, 2], trim_scope: model }",
      ),
    );
    expect(r.problems).toEqual([]);
    expect(r.code).toBe(0);
  });
});

describe("m2rl merge uses the same schema", () => {
  it("the same typo in a mergekit YAML is a config error at its line, exit 2", async () => {
    const file = join(dir, "merge.yml");
    writeFileSync(
      file,
      "merge_method: ties\nbase_model: b\nmodels:\n  - model: a\nparameters:\n  densty: 0.2\n",
    );
    expect(await main(["node", "m2rl", "merge", file, "--out", join(dir, "out"), "--no-progress"])).toBe(2);
    expect(io.err.join("")).toMatch(
      /merge\.yml:6 parameters\.densty: unknown parameter 'densty' for merge method 'ties'/,
    );
  });
});
