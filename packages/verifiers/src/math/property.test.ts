/** Seeded property tests: closed-form identities must be equal, perturbed ones must not, nothing throws. */
import { Rng } from "@m2rl/core";
import { describe, expect, it } from "vitest";
import { mathEqual } from "./verify.ts";

describe("math equivalence properties (seeded)", () => {
  const rng = new Rng(7);
  const int = (lo: number, hi: number) => lo + rng.int(hi - lo + 1);

  it("(x+p)(x+q) = x^2+(p+q)x+pq, and ≠ when pq is off by one", () => {
    for (let k = 0; k < 150; k++) {
      const p = int(-9, 9);
      const q = int(-9, 9);
      const factored = `(x${p < 0 ? "" : "+"}${p})(x${q < 0 ? "" : "+"}${q})`;
      const expanded = `x^2 + ${p + q}x + ${p * q}`.replace(/\+ -/g, "- ");
      const wrong = `x^2 + ${p + q}x + ${p * q + 1}`.replace(/\+ -/g, "- ");
      expect({ factored, expanded, eq: mathEqual(factored, expanded) }).toMatchObject({ eq: true });
      expect({ factored, wrong, eq: mathEqual(factored, wrong) }).toMatchObject({ eq: false });
    }
  });

  it("\\frac{a}{b} = a/b = its decimal when terminating; ≠ (a+1)/b", () => {
    for (let k = 0; k < 200; k++) {
      const a = int(-500, 500);
      const b = [1, 2, 4, 5, 8, 10, 16, 20, 25, 40, 50, 80, 100][int(0, 12)];
      const dec = (a / b).toString();
      expect({ a, b, eq: mathEqual(`\\frac{${a}}{${b}}`, dec) }).toMatchObject({ eq: true });
      expect({ a, b, eq: mathEqual(`${a}/${b}`, `\\dfrac{${a}}{${b}}`) }).toMatchObject({ eq: true });
      expect({ a, b, eq: mathEqual(`\\frac{${a}}{${b}}`, `\\frac{${a + 1}}{${b}}`) }).toMatchObject({
        eq: false,
      });
    }
  });

  it("integers: equal to themselves in every notation, never to a neighbour (no tolerance)", () => {
    for (let k = 0; k < 200; k++) {
      const digits = int(1, 40);
      let s = String(int(1, 9));
      for (let d = 1; d < digits; d++) s += String(int(0, 9));
      const n = BigInt(s);
      expect(mathEqual(s, `\\boxed{${s}}`.slice(7, -1))).toBe(true);
      expect(mathEqual(s, `${n + 1n}`)).toBe(false);
      expect(mathEqual(s, `${s}.0`)).toBe(true);
      if (digits <= 15) expect(mathEqual(s, Number(s).toLocaleString("en-US"))).toBe(true);
    }
  });

  it("sets are order-free, tuples are not", () => {
    for (let k = 0; k < 100; k++) {
      const items = Array.from({ length: int(2, 5) }, () => int(-20, 20));
      const shuffled = rng.shuffle([...items]);
      const same = items.join(",") === shuffled.join(",");
      expect(mathEqual(`\\{${items.join(", ")}\\}`, `\\{${shuffled.join(",")}\\}`)).toBe(true);
      expect(mathEqual(`(${items.join(", ")})`, `(${shuffled.join(",")})`)).toBe(same);
    }
  });
});
