import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/main.ts";

const dir = mkdtempSync(join(tmpdir(), "m2rl-verify-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let err: string[];
beforeEach(() => {
  err = [];
  vi.spyOn(process.stderr, "write").mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

const code = (tests: [string, string][]) => ({
  language: "python",
  tests: tests.map(([input, output]) => ({ input, output })),
});

describe("m2rl verify", () => {
  it("scores every line of a code file, bad lines included, and summarises by status", async () => {
    const gt = code([
      ["2\n", "4\n"],
      ["5\n", "10\n"],
    ]);
    const lines = [
      JSON.stringify({ id: "a", response: "```python\nprint(int(input())*2)\n```", ground_truth: gt }),
      JSON.stringify({ id: "b", response: "print(int(input())+2)", ground_truth: gt }),
      "{not json",
      JSON.stringify({ id: "c", ground_truth: gt }),
      "",
      JSON.stringify({ id: "d", response: "while True: pass", ground_truth: gt }),
      JSON.stringify({ id: "e", response: "   ", ground_truth: gt }),
      JSON.stringify({ id: "f", response: "print(1)", ground_truth: { tests: "nope" } }),
    ];
    const input = join(dir, "in.jsonl");
    const output = join(dir, "out.jsonl");
    writeFileSync(input, `${lines.join("\n")}\n`);
    const rc = await main([
      "node",
      "m2rl",
      "verify",
      "--domain",
      "code",
      "--in",
      input,
      "--out",
      output,
      "--options",
      '{"limits":{"wallMs":2000,"cpuSeconds":1}}',
      "--no-progress",
    ]);
    const rows = readFileSync(output, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(7); // the blank line is skipped
    expect(rows.map((r) => [r.id ?? r.line, r.reward, r.status])).toEqual([
      ["a", 1, "correct"],
      ["b", 0, "incorrect"],
      [3, 0, "error"],
      ["c", 0, "error"],
      ["d", 0, "timeout"],
      ["e", 0, "unparsable"],
      ["f", 0, "error"],
    ]);
    expect(rows[0].extracted).toBe("print(int(input())*2)\n");
    expect(rows[1].detail).toBe('1/2 tests passed; test 2 failed: expected "10\\n", got "7\\n"');
    expect(rows[2].error).toMatch(/not JSON/);
    expect(rows[3].error).toBe("missing field: response (string)");
    const summary = JSON.parse(err.join("").trim().split("\n").pop() as string);
    expect(summary).toMatchObject({
      domain: "code",
      lines: 7,
      badLines: 2,
      statuses: { correct: 1, incorrect: 1, unparsable: 1, timeout: 1, error: 3 },
    });
    expect(summary.meanReward).toBeCloseTo(1 / 7, 12);
    expect(rc).toBe(1); // bad lines → exit 1, but every line was scored
  });

  it("rejects an unknown domain and bad options with exit 2 and a message", async () => {
    const input = join(dir, "one.jsonl");
    writeFileSync(input, `${JSON.stringify({ response: "x", ground_truth: "1" })}\n`);
    expect(await main(["node", "m2rl", "verify", "--domain", "cod", "--in", input, "--no-progress"])).toBe(2);
    expect(err.join("")).toMatch(/unknown domain 'cod'.*did you mean 'code'/);
    expect(
      await main([
        "node",
        "m2rl",
        "verify",
        "--domain",
        "code",
        "--in",
        input,
        "--options",
        '{"reward":"most"}',
        "--no-progress",
      ]),
    ).toBe(2);
    expect(
      await main(["node", "m2rl", "verify", "--domain", "code", "--in", join(dir, "missing.jsonl")]),
    ).toBe(2);
  });
});
