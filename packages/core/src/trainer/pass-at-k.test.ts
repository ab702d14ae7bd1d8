import { describe, expect, it } from "vitest";
import { passAtK } from "./pass-at-k.ts";

describe("passAtK", () => {
  it("matches 1 - C(n-c,k)/C(n,k) on hand cases", () => {
    expect(passAtK(10, 3, 1)).toBeCloseTo(0.3, 12); // c/n for k = 1
    expect(passAtK(5, 2, 2)).toBeCloseTo(1 - 3 / 10, 12); // C(3,2)/C(5,2) = 3/10
    expect(passAtK(10, 3, 5)).toBeCloseTo(1 - 21 / 252, 12); // C(7,5)=21, C(10,5)=252
    expect(passAtK(4, 0, 2)).toBe(0);
    expect(passAtK(4, 3, 2)).toBe(1); // n - c = 1 < k
    expect(passAtK(4, 4, 4)).toBe(1);
  });
  it("is stable for large n", () => {
    // 1 - C(190,10)/C(200,10) = 0.40854786608141713 (Python math.comb, exact integers)
    expect(passAtK(200, 10, 10)).toBeCloseTo(0.40854786608141713, 12);
    expect(passAtK(1000, 1, 1)).toBeCloseTo(0.001, 12);
  });
  it("rejects bad arguments", () => {
    expect(() => passAtK(3, 4, 1)).toThrow(RangeError);
    expect(() => passAtK(3, 1, 4)).toThrow(/larger/);
  });
});
