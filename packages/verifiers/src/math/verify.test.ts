import { describe, expect, it } from "vitest";
import { extractAnswer, findBoxed, findLastNumber } from "./extract.ts";
import { DEFAULT_MATH_OPTIONS, verifyMath } from "./verify.ts";

describe("findBoxed", () => {
  const cases: [string, string[]][] = [
    ["\\boxed{5}", ["5"]],
    ["a \\boxed{5} b \\boxed{6}", ["5", "6"]],
    ["\\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"]],
    ["\\boxed{\\{1,2\\}}", ["\\{1,2\\}"]],
    ["\\boxed{{{x}}}", ["{{x}}"]],
    ["\\fbox{7}", ["7"]],
    ["\\boxed 5 and more", ["5"]],
    ["\\boxed{}", [""]],
    ["\\boxed{5", []],
    ["\\boxedx{5}", []],
    ["no box", []],
    ["\\boxed {12}", ["12"]],
    ["$\\boxed{\\text{(B)}}$", ["\\text{(B)}"]],
  ];
  it.each(cases)("%s", (text, expected) => {
    expect(findBoxed(text)).toEqual(expected);
  });
});

describe("extractAnswer", () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ["So \\boxed{4}.", "4", "boxed"],
    ["The answer is 12.", "12", "answer_phrase"],
    ["The final answer is $\\frac{3}{4}$.", "\\frac{3}{4}", "answer_phrase"],
    ["Answer: 7", "7", "answer_phrase"],
    ["final answer: \\boxed{9} done", "9", "boxed"],
    ["we get 3 then 4 and finally 5", "5", "last_number"],
    ["total 1,234 apples", "1,234", "last_number"],
    ["ratio 3/4", "3/4", "last_number"],
    ["nothing here", undefined, undefined],
    ["\\boxed{} but also 5", "", "boxed"],
    ["first \\boxed{1} then \\boxed{2}", "2", "boxed"],
    ["\\boxed{1}, \\boxed{2}", "1, 2", "boxed"],
    ["\\boxed{3} \\text{ and } \\boxed{4}", "3, 4", "boxed"],
    ["Final answer: **73**", "73", "answer_phrase"],
    ["so the number is **73**.", "73", "last_number"],
    ["\\frac{10}{9}", "\\frac{10}{9}", "last_number"],
    ["The final answer is 7.78", "7.78", "answer_phrase"],
    ["Final Answer: The largest $n$ is 34.", "34", "answer_phrase"],
    ["the answer is the ordered pair (1, 2).", "(1, 2)", "answer_phrase"],
    ["so we get $x = 5$ in the end", "x = 5", "last_number"],
    ["\\boxed{255} so far. The final answer is $10,455$.", "10,455", "answer_phrase"],
    ["-12.5 is it", "-12.5", "last_number"],
    ["The answer is 5. But let me check: 5+1=6", "5", "answer_phrase"],
    ["The answer is $\\frac{1}{2}$, which is half.", "\\frac{1}{2}", "answer_phrase"],
    ["The answer is 3.5 meters.", "3.5", "answer_phrase"],
    ["The answer is \\(x^2\\) indeed", "x^2", "answer_phrase"],
    ["Final answer: $$42$$", "42", "answer_phrase"],
    ["The answer is: x = 3; y = 4", "x = 3", "answer_phrase"],
  ];
  it.each(cases)("%s", (text, answer, by) => {
    const r = extractAnswer(text);
    expect(r?.answer).toBe(answer);
    expect(r?.by).toBe(by);
  });

  it("reads a list of solutions whose first tuple is named: (x, y) = (5, 8) and (8, 5)", () => {
    const pred = "$$\\boxed{(x, y) = (5, 8) \\quad \\text{and} \\quad (8, 5)}$$";
    expect(verifyMath(pred, "(5, 8), (8, 5)").status).toBe("correct");
    expect(verifyMath(pred, "(5, 8), (8, 6)").status).toBe("incorrect");
    expect(verifyMath("\\boxed{(x, x) = (5, 8) \\text{ and } (8, 5)}", "(5, 8), (8, 5)").status).toBe(
      "incorrect",
    );
  });

  it("reads a list split by words: $21,16$ or $11$", () => {
    expect(verifyMath("$21,16,11$", "$21,16$ or $11$").status).toBe("correct");
    expect(verifyMath("$21,16,12$", "$21,16$ or $11$").status).toBe("incorrect");
    expect(verifyMath("$21,16$", "$21,16$ or $11$").status).toBe("incorrect");
  });

  it("joins a reference's boxes separated by a label and a connector, never by words alone", () => {
    expect(verifyMath("$\\boxed{1,2}$", "\\boxed{1} papers and \\boxed{2} bins").status).toBe("correct");
    expect(verifyMath("$\\boxed{1,2}$", "\\boxed{1} no no no no no \\boxed{2}").status).toBe("incorrect");
    // A response's words between boxes still mark a correction.
    expect(verifyMath("\\boxed{1} papers and \\boxed{2} bins", "2").status).toBe("correct");
  });

  it("reads no number inside a word: AZYUK2A", () => {
    expect(verifyMath("AZYUK2A", "2").status).not.toBe("correct");
    expect(verifyMath("x = 2", "2").status).toBe("correct");
  });

  it("respects a configured order", () => {
    expect(extractAnswer("The answer is 3. \\boxed{4}", ["answer_phrase", "boxed"])?.answer).toBe("3");
    expect(extractAnswer("The answer is 3. \\boxed{4}", ["boxed", "answer_phrase"])?.answer).toBe("4");
    expect(extractAnswer("The answer is \\boxed{4}.", ["answer_phrase"])?.answer).toBe("4");
    expect(extractAnswer("value 12", ["boxed"])).toBeUndefined();
    expect(extractAnswer("The answer is 12", ["last_number"])?.answer).toBe("12");
  });

  it("finds the last number with signs and decimals", () => {
    expect(findLastNumber("a -3 b 4.25")).toBe("4.25");
    expect(findLastNumber("x")).toBeUndefined();
  });
});

describe("verifyMath", () => {
  const cases: [string, unknown, string, number][] = [
    ["\\boxed{19}", "19", "correct", 1],
    ["\\boxed{18}", "19", "incorrect", 0],
    ["19", "19", "correct", 1],
    ["12+7=19", "19", "correct", 1],
    ["I don't know", "19", "unparsable", 0],
    ["", "19", "unparsable", 0],
    ["\\boxed{}", "19", "unparsable", 0],
    ["\\boxed{}", "0", "unparsable", 0],
    ["<think>hmm \\boxed{3}</think> The answer is \\boxed{4}", "4", "correct", 1],
    ["<think>hmm \\boxed{4}</think> The answer is \\boxed{3}", "4", "incorrect", 0],
    // Injection: a boxed answer inside unfinished reasoning never counts.
    ["<think>the answer is \\boxed{4}", "4", "unparsable", 0],
    ["<think>a</think><think>b \\boxed{1}</think>\\boxed{2}", "2", "correct", 1],
    // Adjacent boxes are one list answer (Math-Verify: `\\boxed{1}\\boxed{2}` is {1, 2}).
    ["\\boxed{1} \\boxed{2}", "2", "incorrect", 0],
    ["\\boxed{1} \\boxed{2}", "1, 2", "correct", 1],
    ["\\boxed{2} and \\boxed{1}", "1, 2", "correct", 1],
    // Exact comparison where floating point underflows: no false positive.
    ["\\boxed{\\frac{1}{2006!}}", "\\frac{1}{2004!}", "incorrect", 0],
    ["\\boxed{\\frac{1}{2^{98}}}", "\\frac{1}{2^{99}}", "incorrect", 0],
    ["\\boxed{\\frac{1}{2^{99}}}", "\\frac{1}{2^{99}}", "correct", 1],
    ["\\boxed{\\frac{1}{1000001}}", "\\frac{1}{1000002}", "incorrect", 0],
    ["\\boxed{\\frac{2^{2005}+1}{3 \\cdot 2^{2006}}}", "\\frac{1}{3 \\cdot 2^{2006}}", "incorrect", 0],
    ["\\boxed{14{,}916}", "14916", "correct", 1],
    ["is $\\boxed{11,\\! 111,\\! 111,\\! 100}$", "11111111100", "correct", 1],
    ["$\\boxed{\\left( \\frac{1}{5}, \\frac{1}{6} \\right)}$", "(\\frac15, \\frac16)", "correct", 1],
    ["$[0,1)$", "$[0,1)$", "correct", 1],
    ["$[0,1]$", "$[0,1)$", "incorrect", 0],
    ["\\frac{10}{9}", "10/9", "correct", 1],
    ["$E$", "$\\text{E}$", "correct", 1],
    ["\\boxed{2} \\boxed{1}", "2", "incorrect", 0],
    ["\\boxed{\\frac{1}{2}}", "0.5", "correct", 1],
    ["\\boxed{x=3}", "3", "correct", 1],
    ["\\boxed{5}", ["4", "5"], "correct", 1],
    ["\\boxed{5}", "The solution ... \\boxed{5}", "correct", 1],
    ["\\boxed{5}", 5, "correct", 1],
    ["\\boxed{5}", "", "error", 0],
    ["\\boxed{5}", null, "error", 0],
    ["\\boxed{5}", { a: 1 }, "error", 0],
    [`\\boxed{${"9".repeat(5000)}}`, "9", "incorrect", 0],
    [`\\boxed{${"{".repeat(3000)}1${"}".repeat(3000)}}`, "1", "correct", 1],
    [`\\boxed{${"(".repeat(50)}1${")".repeat(50)}}`, "1", "correct", 1],
    // Too deep for the CAS parser: graded as text (incorrect), never a crash.
    [`\\boxed{${"(".repeat(2000)}1${")".repeat(2000)}}`, "1", "incorrect", 0],
    [`${"\\boxed{".repeat(200)}`, "1", "unparsable", 0],
    ["\\boxed{1e999999}", "1", "incorrect", 0],
    ["\\boxed{10^{100000}}", "1", "incorrect", 0],
    ["\\boxed{\\frac{1}{0}}", "1", "incorrect", 0],
    ["\\boxed{0/0}", "0", "incorrect", 0],
    ["\\boxed{x^{x^{x^{x}}}}", "1", "incorrect", 0],
  ];
  it.each(cases)("case %#", (response, gt, status, reward) => {
    const v = verifyMath(response, gt);
    expect(v.status).toBe(status);
    expect(v.reward).toBe(reward);
  });

  it("think gate required: no </think> → unparsable", () => {
    const o = { ...DEFAULT_MATH_OPTIONS, thinkGate: "required" as const };
    expect(verifyMath("\\boxed{4}", "4", o)).toMatchObject({ status: "unparsable", reward: 0 });
    expect(verifyMath("<think>x</think>\\boxed{4}", "4", o)).toMatchObject({ status: "correct", reward: 1 });
  });

  it("think gate off: grades the whole text", () => {
    const o = { ...DEFAULT_MATH_OPTIONS, thinkGate: "off" as const };
    expect(verifyMath("<think>\\boxed{4}", "4", o).status).toBe("correct");
  });

  it("reports the extracted answer and a detail", () => {
    const v = verifyMath("The answer is \\boxed{\\frac{3}{4}}", "0.75");
    expect(v.extracted).toBe("\\frac{3}{4}");
    expect(v.detail).toContain("boxed");
    const w = verifyMath("\\boxed{1}", "2");
    expect(w.detail).toContain('"2"');
  });

  it("pathological answers finish quickly and never throw", () => {
    const hostile = [
      "\\boxed{\\binom{1000000000}{500000000}}",
      "\\boxed{1000000!}",
      "\\boxed{10^{10^{10^{10}}}}",
      `\\boxed{${"x^{".repeat(300)}2${"}".repeat(300)}}`,
      `\\boxed{${"\\frac{1}{".repeat(400)}2${"}".repeat(400)}}`,
      `\\boxed{${"\\sqrt{".repeat(400)}2${"}".repeat(400)}}`,
      `\\boxed{${Array.from({ length: 300 }, (_, i) => `x_{${i}}`).join("+")}}`,
      `\\boxed{${"(x+1)".repeat(200)}}`,
      "x".repeat(200_000),
      `${"\\boxed{1}".repeat(20_000)}`,
      `The answer is ${"9".repeat(100_000)}`,
    ];
    for (const response of hostile) {
      const t0 = performance.now();
      const v = verifyMath(response, "2");
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(["correct", "incorrect", "unparsable"]).toContain(v.status);
    }
  });
});

describe("status semantics", () => {
  // `unparsable` only where no answer could be extracted; an extracted answer that does not parse as math is
  // compared as text and is `incorrect` when that fails too.
  const cases: [string, unknown, string][] = [
    ["no number here at all", "1", "unparsable"],
    ["\\boxed{}", "1", "unparsable"],
    ["\\boxed{\\quad}", "1", "unparsable"],
    ["\\boxed{\\text{ }}", "1", "unparsable"],
    ["The answer is \\(\\).", "1", "unparsable"],
    ["\\boxed{\\frac{1}{}}", "1/2", "incorrect"],
    ["\\boxed{\\sqrt{}}", "1", "incorrect"],
    ["\\boxed{x +* 2}", "x+2", "incorrect"],
    ["\\boxed{((}", "1", "incorrect"],
    ["\\boxed{no solution}", "1", "incorrect"],
    // ... and `correct` when the text comparison succeeds.
    ["\\boxed{\\frac{1}{}}", "\\frac{1}{}", "correct"],
    ["\\boxed{x +* 2}", "x +* 2", "correct"],
    ["\\boxed{No solution}", "\\text{no solution}", "correct"],
    ["\\boxed{1}", "\\quad", "error"],
  ];
  it.each(cases)("%s vs %s → %s", (response, gt, status) => {
    expect(verifyMath(response, gt).status).toBe(status);
  });

  it("every status is one of correct / incorrect / unparsable / timeout / error", () => {
    const responses = [
      "",
      "\\boxed{",
      "}{",
      "\\boxed{\\left(}",
      "$$$",
      "\\boxed{\\begin{pmatrix}1&\\end{pmatrix}}",
    ];
    for (const r of responses)
      for (const g of ["1", "x", "\\frac{1}{}", ["1", "2"]])
        expect(["correct", "incorrect", "unparsable", "timeout", "error"]).toContain(verifyMath(r, g).status);
  });
});
