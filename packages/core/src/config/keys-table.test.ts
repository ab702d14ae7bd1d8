import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { embedKeysTable, experimentKeys, experimentKeysTable } from "./keys-table.ts";

describe("the experiment key table", () => {
  it("lists every key with its effect: no key of the validating schemas lacks a description", () => {
    const rows = experimentKeys();
    expect(rows.filter((r) => !r.description).map((r) => r.key)).toEqual([]);
    const keys = rows.map((r) => r.key);
    for (const k of [
      "seed",
      "domains.<id>.eval.file",
      "arms.merge:<label>.parameters",
      "evaluation.selfJudge.sftExamples",
      "trainer.kl.monitor",
      "trainer.plugins",
      "policy.sft.steps",
      "policy.model.hiddenSize",
    ])
      expect(keys).toContain(k);
  });

  it("the core README embeds the current table (run `npm run schema -w @m2rl/core` after changing a schema)", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(embedKeysTable(readme, experimentKeysTable())).toBe(readme);
  });
});
