import { describe, expect, it } from "vitest";
import { hashString, Rng } from "./rng.ts";

describe("Rng (xoshiro128**)", () => {
  it("matches the reference xoshiro128** output for a known state", () => {
    // Reference: the C implementation of xoshiro128** with s = {1, 2, 3, 4}; first outputs computed by hand from
    // result = rotl(s1 * 5, 7) * 9: s1 = 2 -> rotl(10, 7) = 1280 -> 11520.
    const r = new Rng([1, 2, 3, 4]);
    expect(r.nextUint32()).toBe(11520);
    // Second output, from the state after one step: s = {7, 0, 262146, 211106232532992 mod 2^32 ...} computed below.
    const s = [1, 2, 3, 4].map((x) => x >>> 0);
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ((s[3] << 11) | (s[3] >>> 21)) >>> 0;
    const rot = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;
    const expected = Number((BigInt(rot(Number((BigInt(s[1]) * 5n) & 0xffffffffn), 7)) * 9n) & 0xffffffffn);
    expect(r.nextUint32()).toBe(expected);
  });

  it("is deterministic for a seed and differs across seeds", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 8 }, () => a.nextUint32());
    expect(Array.from({ length: 8 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it("save / restore continues the exact stream", () => {
    const a = new Rng(7);
    for (let i = 0; i < 5; i++) a.normal();
    const state = a.getState();
    const tail = Array.from({ length: 6 }, () => a.next());
    const b = new Rng(state);
    expect(Array.from({ length: 6 }, () => b.next())).toEqual(tail);
  });

  it("uniform and normal draws have the right moments", () => {
    const r = new Rng(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n)).toBeLessThan(0.01);
    expect(Math.abs(s2 / n - 1)).toBeLessThan(0.02);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < n; i++) counts[r.int(10)]++;
    for (const c of counts) expect(Math.abs(c / n - 0.1)).toBeLessThan(0.005);
  });

  it("categorical follows weights; derive depends only on seed and key", () => {
    const r = new Rng(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 60_000; i++) counts[r.categorical([1, 2, 3])]++;
    expect(counts[0] / 60_000).toBeCloseTo(1 / 6, 1);
    expect(counts[2] / 60_000).toBeCloseTo(3 / 6, 1);
    expect(Rng.derive(5, "w").next()).toBe(Rng.derive(5, "w").next());
    expect(Rng.derive(5, "w").next()).not.toBe(Rng.derive(5, "v").next());
    expect(hashString("abc")).toBe(hashString("abc"));
    expect(() => r.categorical([0, 0])).toThrow(RangeError);
  });
});
