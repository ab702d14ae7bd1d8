/**
 * The merge kernels: hand-computed cases for the TypeScript definitions (and for the kernels in use, native when
 * built), and the native addon against the TypeScript loops, bitwise, on random tensors with the awkward values
 * (zeros of both signs, unchanged entries, ties at the threshold, 1 to 6 models, every flag combination).
 */
import { decodeFloat32, encodeFloat32, registerFloatCodec } from "@m2rl/core/checkpoint";
import { loadMergeAddon } from "@m2rl/kernels-native/merge";
import { describe, expect, it } from "vitest";
import { kernelInfo, kernels } from "../src/methods/kernels.ts";
import { jsKernels } from "../src/methods/kernels-js.ts";

const f = (xs: number[]) => Float32Array.from(xs);
const w64 = (xs: number[]) => Float64Array.from(xs);

const loaded = loadMergeAddon();
const native = "addon" in loaded ? loaded.addon : undefined;

it("uses the native kernels when the addon is built, the TypeScript ones with M2RL_NATIVE=0", () => {
  if (process.env["M2RL_NATIVE"] === "0") {
    expect(kernelInfo).toEqual({ name: "js", reason: "disabled by M2RL_NATIVE=0" });
  } else if (native) {
    expect(kernelInfo.name).toBe("native");
  } else {
    expect(kernelInfo.reason).toMatch(/not (loaded|installed)/);
  }
});

for (const [label, k] of [
  ["typescript", jsKernels],
  ["in use", kernels],
] as const) {
  describe(`hand-computed (${label})`, () => {
    it("weightedSum and taskArithmetic", () => {
      const out = new Float32Array(2);
      k.weightedSum(out, [f([1, 2]), f([3, 6])], w64([1, 3]), 1 / 4);
      expect([...out]).toEqual([2.5, 5]);
      // base [1, 1]; tau = [1, -1], [2, 4]; 1 + 0.5 * (2 * tau1 + 1 * tau2)
      k.taskArithmetic(out, f([1, 1]), [f([2, 0]), f([3, 5])], w64([2, 1]), 0.5);
      expect([...out]).toEqual([1 + 0.5 * (2 + 2), 1 + 0.5 * (-2 + 4)]);
      k.subtract(out, f([3, 1]), f([1, 4]));
      expect([...out]).toEqual([2, -3]);
      k.combine(out, f([1, 1]), [f([1, -1]), f([2, 4])], w64([2, 1]), 0.5);
      expect([...out]).toEqual([3, 2]);
    });

    it("consensus: sum and count election, trim, normalize, a tie keeps the base", () => {
      const base = f([0, 0, 0, 1]);
      const ds = [f([1, -2, 0.5, 3]), f([-3, -1, 0.5, 0]), f([1, 4, -2, 0])];
      const out = new Float32Array(4);
      const ones = w64([1, 1, 1]);
      // sum: elected sums -1, 1, -1, 3 -> only the deltas of that sign, averaged over their weights
      k.consensus(out, base, ds, ones, w64([0, 0, 0]), false, true, 1);
      expect([...out]).toEqual([-3, 4, -2, 4]);
      // count: sign sums 1, -1, 1, 1 -> (1 + 1) / 2, (-2 - 1) / 2, (0.5 + 0.5) / 2, 3
      k.consensus(out, base, ds, ones, w64([0, 0, 0]), true, true, 1);
      expect([...out]).toEqual([1, -1.5, 0.5, 4]);
      // not normalized, lambda 0.5, weights 2,1,1: x = (2, -3, 1), (-4, -1, 4), (1, 0.5, -2), (6, 0, 0);
      // elected sums 0 (no sign: base), -1, -0.5, 6
      k.consensus(out, base, ds, w64([2, 1, 1]), w64([0, 0, 0]), false, false, 0.5);
      expect([...out]).toEqual([0, 0.5 * -5, 0.5 * -2, 1 + 0.5 * 6]);
      // model 0 trimmed below 1.5: x0 = (0, -2, 0, 3)
      k.consensus(out, base, ds, ones, w64([1.5, 0, 0]), false, true, 1);
      expect([...out]).toEqual([-3, 4, -2, 4]);
      k.consensus(out, base, ds, ones, w64([Number.POSITIVE_INFINITY, 0, 0]), false, true, 1);
      expect([...out]).toEqual([-3, 4, -2, 1]);
      const tie = new Float32Array(1);
      k.consensus(tie, f([7]), [f([1]), f([-1])], w64([1, 1]), w64([0, 0]), false, true, 1);
      expect(tie[0]).toBe(7);
    });

    it("erase (SCE): sign of the plain sum, weighted mean of the agreeing deltas, a zero sum keeps the base", () => {
      const out = new Float32Array(3);
      // entry 0: sum 1 - 3 + 1 = -1 -> only -3 agrees: 0 + (0.5 * -3) / 0.5; entry 1: sum 0 -> base;
      // entry 2: sum 2 + 2 - 1 = 3 -> (0.5*2 + 0.25*2) / 0.75
      k.erase(out, f([0, 7, 1]), [f([1, 1, 2]), f([-3, -1, 2]), f([1, 0, -1])], w64([0.25, 0.5, 0.25]));
      expect(out[0]).toBe(-3);
      expect(out[1]).toBe(7);
      expect(out[2]).toBe(Math.fround(1 + (0.25 * 2 + 0.5 * 2) / 0.75));
    });

    it("absHistogram, trim and updateStats", () => {
      const x = f([1, -1, 2, 0.5, -3]);
      const hi = new Float64Array(32768);
      k.absHistogram(x, hi, -1);
      expect(hi[0x3f80]).toBe(2); // |±1| = 0x3f800000
      expect(hi.reduce((a, b) => a + b)).toBe(5);
      const lo = new Float64Array(65536);
      k.absHistogram(f([1.5, -1.5, 1]), lo, 0x3fc0); // 1.5 = 0x3fc00000
      expect(lo[0]).toBe(2);
      expect(lo.reduce((a, b) => a + b)).toBe(2);
      k.trim(x, 1);
      expect([...x]).toEqual([1, -1, 2, 0, -3]);
      const stats = new Float64Array(5);
      // entry 0: up, up, same (agree); 1: up, down, up (disagree); 2: one change; 3: none
      k.updateStats(f([0, 0, 0, 0]), [f([1, 1, 1, 0]), f([1, -1, 0, 0]), f([0, 1, 0, 0])], stats);
      expect([...stats]).toEqual([3, 2, 1, 2, 1]);
    });
  });
}

/** Random tensors with many exact zeros, unchanged entries and repeated magnitudes. */
function awkward(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const x = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    const r = rnd();
    x[j] =
      r < 0.1
        ? 0
        : r < 0.15
          ? -0
          : r < 0.25
            ? 0.25 * Math.sign(rnd() - 0.5)
            : (rnd() - 0.5) * 2 ** (rnd() * 8 - 4);
  }
  return x;
}

const same = (a: Float32Array, b: Float32Array) => {
  expect(
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ),
  ).toBe(true);
};

describe.skipIf(!native)("native kernels = TypeScript kernels, bitwise", () => {
  const n = 4099; // not a multiple of any vector width
  for (const m of [1, 2, 3, 4, 5, 6]) {
    it(`${m} model(s)`, () => {
      const nk = native!;
      const base = awkward(n, 1);
      const xs = Array.from({ length: m }, (_, i) => {
        const x = awkward(n, 10 + i);
        for (let j = 0; j < n; j += 3 + i) x[j] = base[j]; // unchanged entries
        return x;
      });
      const w = w64(Array.from({ length: m }, (_, i) => [1, 0.3, -0.7, 2.5, 1 / 3, 0.1][i]));
      const a = new Float32Array(n);
      const b = new Float32Array(n);
      for (const scale of [1, 1 / 3]) {
        jsKernels.weightedSum(a, xs, w, scale);
        nk.weightedSum(b, xs, w, scale);
        same(a, b);
        jsKernels.taskArithmetic(a, base, xs, w, scale);
        nk.taskArithmetic(b, base, xs, w, scale);
        same(a, b);
        jsKernels.combine(a, base, xs, w, scale);
        nk.combine(b, base, xs, w, scale);
        same(a, b);
      }
      jsKernels.subtract(a, xs[0], base);
      nk.subtract(b, xs[0], base);
      same(a, b);
      jsKernels.erase(a, base, xs, w);
      nk.erase(b, base, xs, w);
      same(a, b);
      const th = w64(
        Array.from({ length: m }, (_, i) => [0, 0.25, 0.1, Number.POSITIVE_INFINITY, 0.01, 1][i]),
      );
      for (const count of [false, true]) {
        for (const normalize of [false, true]) {
          for (const lambda of [1, 0.7]) {
            jsKernels.consensus(a, base, xs, w, th, count, normalize, lambda);
            nk.consensus(b, base, xs, w, th, count, normalize, lambda);
            same(a, b);
          }
        }
      }
      const s1 = new Float64Array(m + 2);
      const s2 = new Float64Array(m + 2);
      jsKernels.updateStats(base, xs, s1);
      nk.updateStats(base, xs, s2);
      expect([...s2]).toEqual([...s1]);
      for (const hi of [-1, 0x3e80, 0x3f00]) {
        const h1 = new Float64Array(65536);
        const h2 = new Float64Array(65536);
        jsKernels.absHistogram(xs[0], h1, hi);
        nk.absHistogram(xs[0], h2, hi);
        expect(Buffer.from(h2.buffer).equals(Buffer.from(h1.buffer))).toBe(true);
      }
      const t1 = xs[0].slice();
      const t2 = xs[0].slice();
      jsKernels.trim(t1, 0.25);
      nk.trim(t2, 0.25);
      same(t1, t2);
    });
  }

  it("rejects wrong calls instead of writing out of bounds", () => {
    const nk = native!;
    const x = new Float32Array(4);
    expect(() => nk.weightedSum(new Float32Array(3), [x], w64([1]), 1)).toThrow(/out must be/);
    expect(() => nk.weightedSum(x, [x, new Float32Array(5)], w64([1, 1]), 1)).toThrow(/one length/);
    expect(() => nk.consensus(x, x, [x], w64([1, 1]), w64([0]), false, true, 1)).toThrow(
      /one value per delta/,
    );
    expect(() => nk.absHistogram(x, new Float64Array(100), -1)).toThrow(/hist too short/);
    expect(() => nk.updateStats(x, [x], new Float64Array(2))).toThrow(/models \+ 2/);
  });

  it("BF16 codec: decode and encode (round to nearest even, NaN, infinities, ties, subnormals)", () => {
    const nk = native!;
    const bits = new Uint32Array(1 << 16);
    let s = 12345;
    for (let i = 0; i < bits.length; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      bits[i] = s;
    }
    // exact ties, infinities, NaNs (quiet and signalling), zeros, subnormals, the largest finite
    bits.set([
      0x3f808000, 0x3f818000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xff800001, 0, 0x80000000, 1,
      0x7f7fffff,
    ]);
    const x = new Float32Array(bits.buffer);
    registerFloatCodec(undefined);
    const plain = encodeFloat32("BF16", x);
    const plainBack = decodeFloat32("BF16", plain);
    const enc = new Uint16Array(x.length);
    nk.encodeBf16(x, enc);
    expect(
      Buffer.from(enc.buffer).equals(Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength)),
    ).toBe(true);
    const dec = new Float32Array(x.length);
    nk.decodeBf16(enc, dec);
    expect(Buffer.from(dec.buffer).equals(Buffer.from(plainBack.buffer))).toBe(true);
    registerFloatCodec(nk);
  });
});
