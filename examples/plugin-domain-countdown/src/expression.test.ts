import { describe, expect, it } from "vitest";
import {
  ExpressionSyntaxError,
  evaluate,
  format,
  literals,
  MAX_DEPTH,
  parseExpression,
} from "./expression.ts";
import { show } from "./rational.ts";

const value = (s: string) => show(evaluate(parseExpression(s)));

describe("parseExpression / evaluate", () => {
  it("follows precedence and left associativity (hand-computed)", () => {
    expect(value("2 + 3 * 4")).toBe("14");
    expect(value("(2 + 3) * 4")).toBe("20");
    expect(value("10 - 4 - 3")).toBe("3"); // (10-4)-3, not 10-(4-3)=9
    expect(value("100 / 10 / 5")).toBe("2"); // (100/10)/5
    expect(value("8 / (3 - 8 / 3)")).toBe("24"); // the classic 24-game case needs exact fractions
    expect(value("1 / 3 + 1 / 6")).toBe("1/2");
    expect(value("3 × 4 ÷ 6 − 1")).toBe("1");
    expect(value(" ((7)) ")).toBe("7");
  });

  it("keeps literals in order and formats with minimal parentheses", () => {
    const e = parseExpression("(25 - (7 - 3)) * 2");
    expect(literals(e)).toEqual([25, 7, 3, 2]);
    expect(format(e)).toBe("(25 - (7 - 3)) * 2");
    expect(format(parseExpression("((1 + 2) + 3)"))).toBe("1 + 2 + 3");
  });

  it("rejects malformed input with the position", () => {
    const bad: [string, RegExp][] = [
      ["", /empty expression/],
      ["1 +", /unexpected end of expression at position 4/],
      ["(1 + 2", /missing '\)'/],
      ["1 2", /unexpected '2' at position 3/],
      ["-3 + 5", /unexpected '-' at position 1/],
      ["2.5 * 4", /decimal numbers are not allowed/],
      ["Math.max(1)", /unexpected character 'M' at position 1/],
      ["1 ** 2", /unexpected '\*' at position 4/],
      ["9999999 + 1", /too large/],
      [`${"(".repeat(MAX_DEPTH + 1)}1${")".repeat(MAX_DEPTH + 1)}`, /nested deeper/],
      ["1+".repeat(200) + "1", /longer than/],
    ];
    for (const [src, msg] of bad) {
      expect(() => parseExpression(src), src).toThrow(ExpressionSyntaxError);
      expect(() => parseExpression(src), src).toThrow(msg);
    }
  });

  it("division by zero is a RangeError at evaluation", () => {
    expect(() => evaluate(parseExpression("5 / (3 - 3)"))).toThrow("division by zero");
  });
});
