import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRecords, readEvalRows, readMetrics } from "../src/io/rows.ts";

const dir = mkdtempSync(join(tmpdir(), "m2rl-rows-"));
const good = {
  arm: "mix",
  domain: "math",
  taskId: 3,
  sampleIndex: 0,
  reward: 1,
  status: "correct",
  responseLength: 9,
  truncated: false,
};

describe("input files", () => {
  it("reads JSONL, a JSON array and {rows: [...]} alike; numeric task ids become strings", async () => {
    const jsonl = join(dir, "a.jsonl");
    writeFileSync(jsonl, `${JSON.stringify(good)}\n\n${JSON.stringify({ ...good, sampleIndex: 1 })}\n`);
    const arr = join(dir, "b.json");
    writeFileSync(arr, JSON.stringify([good]));
    const obj = join(dir, "c.json");
    writeFileSync(obj, JSON.stringify({ rows: [good, good] }, null, 2));
    expect(await readEvalRows(jsonl)).toHaveLength(2);
    expect((await readEvalRows(arr))[0].taskId).toBe("3");
    expect(await readEvalRows(obj)).toHaveLength(2);
  });
  it("names the file, line and field of a bad row", async () => {
    const f = join(dir, "bad.jsonl");
    writeFileSync(f, `${JSON.stringify(good)}\n${JSON.stringify({ ...good, reward: 2 })}\n`);
    await expect(readEvalRows(f)).rejects.toThrow(/bad\.jsonl:2 reward: field 'reward' must be in \[0, 1\]/);
    writeFileSync(f, `${JSON.stringify(good)}\n{oops\n`);
    await expect(readEvalRows(f)).rejects.toThrow(/bad\.jsonl:2: not valid JSON/);
    writeFileSync(f, `${JSON.stringify({ ...good, truncated: "no" })}\n`);
    await expect(readEvalRows(f)).rejects.toThrow(/truncated: field 'truncated' must be a boolean/);
    writeFileSync(f, `{"loss": 1}\n`);
    await expect(readMetrics(f)).rejects.toThrow(/bad\.jsonl:1 step: field 'step' must be a number/);
  });
  it("parseRecords keeps 1-based line numbers across blank lines", () => {
    expect(parseRecords('\n{"a":1}\n\n{"a":2}\n', "x").map((r) => r.line)).toEqual([2, 4]);
  });
});
