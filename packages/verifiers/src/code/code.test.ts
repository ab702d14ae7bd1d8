import { describe, expect, it } from "vitest";
import { normaliseOutput, outputsMatch, valuesMatch } from "./compare.ts";
import { dedent, extractProgram } from "./extract.ts";
import { parseCodeGroundTruth } from "./groundTruth.ts";

describe("extractProgram", () => {
  const cases: [string, string | undefined][] = [
    ["print(1)", "print(1)"],
    ["Here:\n```python\nprint(1)\n```\n", "print(1)\n"],
    ["```py\na=1\n```\nthen\n```python\nprint(2)\n```", "print(2)\n"],
    ["```\nprint(3)\n```", "print(3)\n"],
    ["text ```python\nprint(4)\n``` after", "print(4)\n"],
    ["```python\n   \n```", undefined],
    ["   \n ", undefined],
    ["```python\nprint(5)\n", "```python\nprint(5)\n"], // unterminated fence: whole response
    ["```js\nconsole.log(1)\n```", "console.log(1)\n"],
  ];
  for (const [response, program] of cases)
    it(JSON.stringify(response).slice(0, 50), () => {
      expect(extractProgram(response)?.program).toBe(program);
    });
  it("remembers the fence language", () => {
    expect(extractProgram("```javascript\nx\n```")).toEqual({
      program: "x\n",
      fenceLanguage: "javascript",
      fenced: true,
    });
  });
});

describe("output comparison", () => {
  const same: [string, string][] = [
    ["1\n2\n", "1\n2"],
    ["1  \n2\t\n", "1\n2\n"],
    ["1\r\n2\r\n", "1\n2\n"],
    ["a\n\n\n", "a"],
    ["", "\n"],
  ];
  const different: [string, string][] = [
    ["1 2", "1  2"],
    [" 1", "1"],
    ["1\n\n2", "1\n2"],
    ["12", "1\n2"],
    ["True", "true"],
  ];
  for (const [a, b] of same)
    it(`${JSON.stringify(a)} == ${JSON.stringify(b)}`, () => expect(outputsMatch(a, b)).toBe(true));
  for (const [a, b] of different)
    it(`${JSON.stringify(a)} != ${JSON.stringify(b)}`, () => expect(outputsMatch(a, b)).toBe(false));
  it("normalises to a canonical form", () => expect(normaliseOutput("x \r\ny\n\n")).toBe("x\ny"));
});

describe("valuesMatch", () => {
  const same: [unknown, unknown][] = [
    [1, 1],
    [0.1 + 0.2, 0.3],
    [1e20, 1e20 + 1],
    [
      [1, [2, 3]],
      [1, [2, 3]],
    ],
    [
      { a: 1, b: [true, null] },
      { b: [true, null], a: 1 },
    ],
    ["x", "x"],
    [null, null],
  ];
  const different: [unknown, unknown][] = [
    [1, 1.001],
    [1, "1"],
    [
      [1, 2],
      [2, 1],
    ],
    [[1], [1, 1]],
    [{ a: 1 }, { a: 1, b: 2 }],
    [true, 1],
    [null, 0],
    [[], {}],
    [0.3, Number.NaN],
  ];
  for (const [a, b] of same)
    it(`${JSON.stringify(a)} ~ ${JSON.stringify(b)}`, () => expect(valuesMatch(a, b)).toBe(true));
  for (const [a, b] of different)
    it(`${JSON.stringify(a)} !~ ${JSON.stringify(b)}`, () => expect(valuesMatch(a, b)).toBe(false));
});

describe("parseCodeGroundTruth", () => {
  it("accepts the stdin/stdout style, as object or JSON text, defaulting the language", () => {
    const gt = { tests: [{ input: "1\n", output: "2\n" }] };
    expect(parseCodeGroundTruth(gt)).toEqual({ language: "python", tests: gt.tests });
    expect(parseCodeGroundTruth(JSON.stringify({ ...gt, language: "javascript" }))).toEqual({
      language: "javascript",
      tests: gt.tests,
    });
  });
  it("accepts the function-call style", () => {
    const gt = { language: "python", fn_name: "add", tests: [{ args: [1, 2], expected: 3 }] };
    expect(parseCodeGroundTruth(gt)).toEqual(gt);
  });
  it("converts APPS/TACO inputs/outputs lists", () => {
    expect(parseCodeGroundTruth({ inputs: ["1\n"], outputs: ["1\n"] })).toEqual({
      language: "python",
      tests: [{ input: "1\n", output: "1\n" }],
    });
    expect(parseCodeGroundTruth({ fn_name: "f", inputs: [[1]], outputs: [2] })).toEqual({
      language: "python",
      fn_name: "f",
      tests: [{ args: [1], expected: 2 }],
    });
  });
  const bad: [string, unknown, RegExp][] = [
    ["not JSON", "{nope", /not JSON/],
    ["no tests", { language: "python" }, /bad code ground truth/],
    ["empty tests", { tests: [] }, /bad code ground truth/],
    ["bad language", { language: "ruby", tests: [{ input: "", output: "" }] }, /bad code ground truth/],
    ["bad fn_name", { fn_name: "a b", tests: [{ args: [], expected: 1 }] }, /bad code ground truth/],
    ["non-string output", { tests: [{ input: "", output: 3 }] }, /bad code ground truth/],
    ["args not array", { fn_name: "f", tests: [{ args: 1, expected: 1 }] }, /bad code ground truth/],
    ["length mismatch", { inputs: ["a"], outputs: [] }, /differ in length/],
  ];
  for (const [name, gt, re] of bad)
    it(`rejects ${name}`, () => expect(() => parseCodeGroundTruth(gt)).toThrow(re));
});

describe("dedent", () => {
  const cases: [string, string][] = [
    [" print(4)", "print(4)"],
    ["\n\n  a=1\n  if a:\n    print(a)\n", "a=1\nif a:\n  print(a)\n"],
    ["a=1\n  b=2", "a=1\n  b=2"],
    ["\tx\n\ty", "x\ny"],
    ["  x\n\n  y", "x\n\ny"],
  ];
  for (const [input, out] of cases) it(JSON.stringify(input), () => expect(dedent(input)).toBe(out));
});
