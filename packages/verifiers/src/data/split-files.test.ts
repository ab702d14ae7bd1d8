/** Split files an experiment names (`domains.<id>.<split>.file`) handed to a domain's `data` option. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MATH_DOMAIN_INFO } from "../math/schema.ts";
import { type DataFiles, loadSplit, takesDataFiles, withSplitFiles } from "./load.ts";
import { stringGroundTruth } from "./verl.ts";

describe("takesDataFiles", () => {
  it("a factory whose options schema has `data` takes files; one without does not", () => {
    expect(takesDataFiles(MATH_DOMAIN_INFO.optionsSchema)).toBe(true);
    expect(takesDataFiles({ type: "object", properties: { count: { type: "integer" } } })).toBe(false);
    expect(takesDataFiles(undefined)).toBe(false);
  });
});

describe("withSplitFiles", () => {
  it("puts each split's file and format into data, keeps the other options, does not change them", () => {
    const options = { maxDigits: 3, data: { train: "t.parquet", format: "parquet" as const } };
    const out = withSplitFiles(options, { eval: { file: "e.txt", format: "jsonl" }, train: {} });
    expect(out).toEqual({
      maxDigits: 3,
      data: { train: "t.parquet", eval: "e.txt", format: "parquet", formats: { eval: "jsonl" } },
    });
    expect(options.data).toEqual({ train: "t.parquet", format: "parquet" });
    expect(withSplitFiles(options, { train: { count: 3 } as never })).toBe(options);
  });

  it("a split file without a format is read by its extension, not by data.format", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m2rl-split-files-"));
    writeFileSync(
      join(dir, "e.jsonl"),
      JSON.stringify({ prompt: "1+1=", reward_model: { ground_truth: "2" } }),
    );
    const options: { data?: DataFiles } = { data: { format: "parquet" } };
    const data = withSplitFiles(options, { eval: { file: "e.jsonl" } }).data as DataFiles;
    expect(data.formats).toEqual({ eval: "jsonl" });
    const tasks = await loadSplit(
      data,
      { split: "eval", seed: 0 },
      {
        domain: "math",
        context: { baseDir: dir },
        mapGroundTruth: stringGroundTruth,
      },
    );
    expect(tasks?.map((t) => t.groundTruth)).toEqual(["2"]);
  });
});
