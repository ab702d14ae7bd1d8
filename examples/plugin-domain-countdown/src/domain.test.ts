import { describe, expect, it } from "vitest";
import { countdownDomain, extractAnswer, verifyCountdown } from "./domain.ts";
import { evaluate, literals, parseExpression } from "./expression.ts";
import { DEFAULT_OPTIONS, generateTasks, splitOf, taskKey } from "./generator.ts";
import { equalsInt } from "./rational.ts";

const truth = { numbers: [25, 7, 3, 2], target: 42 };

describe("extractAnswer", () => {
  it("takes the last <answer> after the reasoning gate, else 'answer:', else the last line", () => {
    expect(extractAnswer("<think>maybe <answer>1+1</answer></think> <answer>(25 - 7) + 3</answer>")).toBe(
      "(25 - 7) + 3",
    );
    expect(extractAnswer("<think><answer>1+1</answer></think> no tags here")).toBe("no tags here");
    expect(extractAnswer("so the answer is: 25 + 7 + 3 * 2 + 4 = 42.")).toBe("25 + 7 + 3 * 2 + 4");
    expect(extractAnswer("work\n25 * 2 - 7 - 3 + 2")).toBe("25 * 2 - 7 - 3 + 2");
    expect(extractAnswer("<answer>  </answer>")).toBeUndefined();
    expect(extractAnswer("")).toBeUndefined();
  });
});

describe("verifyCountdown", () => {
  const o = DEFAULT_OPTIONS;
  it("correct: exact value with each number at most once", () => {
    expect(verifyCountdown("<answer>(25 - 7 - 3) * 2 + 12</answer>", truth, o).status).toBe("incorrect"); // 12 not given
    expect(verifyCountdown("<answer>25 + 7 * 2 + 3</answer>", truth, o)).toEqual({
      reward: 1,
      status: "correct",
      extracted: "25 + 7 * 2 + 3",
    });
  });
  it("incorrect: wrong value, number reused, number not given, missing number when useAll, division by zero", () => {
    expect(verifyCountdown("<answer>25 + 7</answer>", truth, o)).toMatchObject({
      reward: 0,
      status: "incorrect",
      detail: "evaluates to 32, target 42",
    });
    expect(verifyCountdown("<answer>25 + 7 + 7 + 3</answer>", truth, o).detail).toBe(
      "uses 7 more often than given",
    );
    expect(verifyCountdown("<answer>40 + 2</answer>", truth, o).detail).toBe("uses 40, which is not given");
    expect(verifyCountdown("<answer>7 * 3 * 2</answer>", truth, o).status).toBe("correct");
    expect(verifyCountdown("<answer>7 * 3 * 2</answer>", truth, { ...o, useAll: true })).toMatchObject({
      status: "incorrect",
      detail: "does not use 25",
    });
    expect(
      verifyCountdown("<answer>25 / (3 - 3)</answer>", { numbers: [25, 3, 3], target: 1 }, o).detail,
    ).toBe("division by zero");
    expect(verifyCountdown("<answer>7 / 2</answer>", { numbers: [7, 2], target: 3 }, o).detail).toBe(
      "evaluates to 7/2, target 3",
    );
    expect(verifyCountdown("<answer>25 + 7</answer>", truth, { ...o, formatReward: 0.1 }).reward).toBe(0.1);
  });
  it("unparsable: no answer, or an answer that is not an expression", () => {
    expect(verifyCountdown("", truth, o)).toEqual({
      reward: 0,
      status: "unparsable",
      detail: "no answer found",
    });
    expect(verifyCountdown("<answer>twenty five plus seven</answer>", truth, o)).toMatchObject({
      reward: 0,
      status: "unparsable",
      detail: "unexpected character 't' at position 1",
    });
    expect(verifyCountdown("<answer>eval('42')</answer>", truth, { ...o, formatReward: 0.1 }).reward).toBe(0);
  });
});

describe("generateTasks", () => {
  it("is deterministic, keeps the splits disjoint, and every reference solution verifies", async () => {
    const domain = await countdownDomain.create({ count: 4, maxNumber: 20 }, {});
    const a = await domain.tasks({ split: "train", seed: 3, count: 200 });
    const b = await domain.tasks({ split: "train", seed: 3, count: 200 });
    const ev = await domain.tasks({ split: "eval", seed: 3, count: 100 });
    expect(a).toEqual(b);
    expect((await domain.tasks({ split: "train", seed: 4, count: 200 })).map((t) => t.prompt)).not.toEqual(
      a.map((t) => t.prompt),
    );
    const trainKeys = new Set(a.map((t) => taskKey(t.groundTruth)));
    expect(ev.some((t) => trainKeys.has(taskKey(t.groundTruth)))).toBe(false);
    expect(trainKeys.size).toBe(200);
    for (const t of [...a, ...ev]) {
      expect(t.groundTruth.numbers).toHaveLength(4);
      expect(t.groundTruth.numbers.every((n) => n >= 1 && n <= 20)).toBe(true);
      expect(t.groundTruth.target).toBeGreaterThanOrEqual(1);
      expect(t.groundTruth.target).toBeLessThanOrEqual(200);
      const v = await domain.verify({ response: t.reference!, groundTruth: t.groundTruth });
      expect(v.status, `${t.prompt} ${t.reference}`).toBe("correct");
    }
  });

  it("difficulty knobs: numbers per task, operators, range; the reference uses every number", () => {
    const o = { ...DEFAULT_OPTIONS, count: 3, operators: ["+" as const], maxNumber: 9, maxTarget: 27 };
    for (const t of generateTasks(1, "train", 50, o)) {
      const e = parseExpression(t.solution);
      expect([...literals(e)].sort()).toEqual([...t.numbers].sort());
      expect(t.solution).not.toMatch(/[-*/]/);
      expect(equalsInt(evaluate(e), t.target)).toBe(true);
      expect(t.target).toBe(t.numbers.reduce((x, y) => x + y, 0));
      expect(splitOf(t, o.evalFraction)).toBe("train");
    }
  });

  it("explains an impossible request instead of looping", () => {
    const o = {
      ...DEFAULT_OPTIONS,
      count: 2,
      operators: ["+" as const],
      minNumber: 1,
      maxNumber: 2,
      maxTarget: 4,
    };
    expect(() => generateTasks(1, "train", 50, o)).toThrow(/could not draw task/);
  });
});
