import { describe, expect, it } from "vitest";
import { extractLetter, groundTruthLetter } from "./extract.ts";
import { DEFAULT_SCIENCE_OPTIONS, numericValue, verifyScience } from "./verify.ts";

const LETTERS: [string, string | undefined, string | undefined][] = [
  // [response, letter, source]
  ["\\boxed{B}", "B", "boxed"],
  ["\\boxed{(C)}", "C", "boxed"],
  ["\\boxed{\\text{D}}", "D", "boxed"],
  ["\\boxed{A) 3.2 m/s}", "A", "boxed"],
  ["Answer: B", "B", "answer_phrase"],
  ["answer: (C)", "C", "answer_phrase"],
  ["The answer is D.", "D", "answer_phrase"],
  ["The correct answer is (A)", "A", "answer_phrase"],
  ["the correct option is B because", "B", "answer_phrase"],
  ["Final answer: **C**", "C", "answer_phrase"],
  ["I think A is wrong. Answer: C. Not B.", "C", "answer_phrase"],
  ["Answer: A\nWait, actually the answer is B", "B", "answer_phrase"],
  ["The answer is choice C", "C", "answer_phrase"],
  ["After analysis:\nB", "B", "last_line"],
  ["After analysis:\n(B).", "B", "last_line"],
  ["After analysis:\n**D**", "D", "last_line"],
  ["Options (A) and (C) fail; it must be (B) in the end of it all", "B", "parenthesised"],
  ["so it is C.", "C", "trailing"],
  ["A cat sat on the mat", undefined, undefined],
  ["no letter here", undefined, undefined],
  ["The answer is a cat", undefined, undefined],
  ["Answer: K", undefined, undefined],
  ["\\boxed{42}", undefined, undefined],
  ["answer is J", "J", "answer_phrase"],
];

describe("extractLetter", () => {
  it.each(LETTERS)("%j → %s", (text, letter, by) => {
    const r = extractLetter(text);
    expect(r?.letter).toBe(letter);
    expect(r?.by).toBe(by);
  });
  it("respects maxChoices", () => {
    expect(extractLetter("Answer: E", { maxChoices: 4, heuristics: true })).toBeUndefined();
    expect(extractLetter("Answer: E", { maxChoices: 5, heuristics: true })?.letter).toBe("E");
  });
  it("heuristics can be switched off", () => {
    expect(extractLetter("so it is C.", { maxChoices: 4, heuristics: false })).toBeUndefined();
    expect(extractLetter("Answer: C", { maxChoices: 4, heuristics: false })?.letter).toBe("C");
  });
});

describe("groundTruthLetter", () => {
  it.each([
    ["B", "B"],
    ["(B)", "B"],
    ["b", "B"],
    ["C.", "C"],
    [" D ", "D"],
    ["12", undefined],
    ["AB", undefined],
  ])("%j → %s", (gt, l) => {
    expect(groundTruthLetter(gt)).toBe(l);
  });
});

describe("numericValue", () => {
  it.each([
    ["3", 3],
    ["3.0 m/s", 3],
    ["6.02e23", 6.02e23],
    ["6.02 \\times 10^{23}", 6.02e23],
    ["\\frac{1}{2}", 0.5],
    ["-4.5", -4.5],
    ["1,000", 1000],
    ["\\sqrt{4}", 2],
    ["abc", undefined],
  ])("%j → %s", (s, v) => {
    const got = numericValue(s);
    if (v === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(v as number, 6 - Math.log10(Math.abs(v as number) + 1));
  });
});

describe("verifyScience", () => {
  const cases: [string, unknown, string, number][] = [
    ["Answer: B", "B", "correct", 1],
    ["Answer: B", "(B)", "correct", 1],
    ["Answer: B", "b", "correct", 1],
    ["Answer: C", "B", "incorrect", 0],
    ["I am unsure", "B", "unparsable", 0],
    ["<think>Answer: B</think>Answer: C", "C", "correct", 1],
    ["<think>Answer: B", "B", "unparsable", 0],
    ["\\boxed{9.81}", "9.8", "correct", 1],
    ["\\boxed{9.5}", "9.8", "incorrect", 0],
    ["The answer is 300 m/s", "299", "correct", 1],
    ["The answer is 6.0e23", "6.02 \\times 10^{23}", "correct", 1],
    ["The answer is 5e23", "6.02e23", "incorrect", 0],
    ["\\boxed{0}", "0", "correct", 1],
    ["\\boxed{0.001}", "0", "incorrect", 0],
    ["\\boxed{abc}", "12", "incorrect", 0],
    ["nothing numeric", "12", "unparsable", 0],
    ["\\boxed{iron}", "Iron", "correct", 1],
    ["\\boxed{tin}", "iron", "incorrect", 0],
    ["Answer: B", "", "error", 0],
    ["Answer: B", null, "error", 0],
    ["\\boxed{6}", 6, "correct", 1],
  ];
  it.each(cases)("%j vs %j → %s", (response, gt, status, reward) => {
    const v = verifyScience(response, gt);
    expect(v.status).toBe(status);
    expect(v.reward).toBe(reward);
  });
  it("tolerance is configurable", () => {
    const tight = { ...DEFAULT_SCIENCE_OPTIONS, relTolerance: 1e-4 };
    expect(verifyScience("\\boxed{9.81}", "9.8", tight).status).toBe("incorrect");
    expect(
      verifyScience("Answer: B", "B", { ...DEFAULT_SCIENCE_OPTIONS, thinkGate: "required" }).status,
    ).toBe("unparsable");
  });
});

describe("hostile responses finish in bounded time", () => {
  it("long whitespace after an answer phrase does not backtrack", () => {
    const N = 100_000;
    for (const r of [
      `answer${" ".repeat(N)}x`,
      `answer is${" ".repeat(N)}`,
      "(".repeat(N),
      "A ".repeat(N / 2),
    ]) {
      const t0 = performance.now();
      verifyScience(r, "B");
      verifyScience(r, "3.5");
      expect(performance.now() - t0).toBeLessThan(1000);
    }
  });
});
