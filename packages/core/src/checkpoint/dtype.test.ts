import { describe, expect, it } from "vitest";
import {
  decodeFloat32,
  encodeFloat32,
  type FloatCodec,
  f16BitsToF32,
  f32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  f32FromBits,
  registerFloatCodec,
} from "./dtype.ts";

const h = (x: number) => f32BitsToF16Bits(f32Bits(x));
const b = (bits: number) => f32BitsToBf16Bits(bits);

describe("float16 encoding (round to nearest even), hand-computed bit patterns", () => {
  it("normal numbers", () => {
    expect(h(1)).toBe(0x3c00);
    expect(h(-2)).toBe(0xc000);
    expect(h(0.5)).toBe(0x3800);
    expect(h(65504)).toBe(0x7bff); // largest finite half
    expect(h(0.1)).toBe(0x2e66); // 0.1 = 0x2e66 (0.0999755859375)
    expect(h(2 ** -14)).toBe(0x0400); // smallest normal
    expect(h(-0)).toBe(0x8000);
    expect(h(0)).toBe(0x0000);
  });
  it("ties go to the even mantissa", () => {
    expect(h(1 + 2 ** -11)).toBe(0x3c00); // halfway 0x3c00/0x3c01 -> even 0x3c00
    expect(h(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway 0x3c01/0x3c02 -> even 0x3c02
    expect(h(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01); // just above halfway rounds up
  });
  it("overflow, infinities and NaN", () => {
    expect(h(65519)).toBe(0x7bff); // below the halfway point to 65536
    expect(h(65520)).toBe(0x7c00); // halfway, odd mantissa -> rounds up to Inf
    expect(h(1e6)).toBe(0x7c00);
    expect(h(Number.POSITIVE_INFINITY)).toBe(0x7c00);
    expect(h(Number.NEGATIVE_INFINITY)).toBe(0xfc00);
    expect(h(Number.NaN)).toBe(0x7e00);
    // A signalling-style NaN whose payload sits in the low bits must stay NaN, not become Inf.
    expect(f32BitsToF16Bits(0x7f800001)).toBe(0x7e00);
  });
  it("subnormals", () => {
    expect(h(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(h(2 ** -25)).toBe(0x0000); // exactly half of it: tie -> even (0)
    expect(h(1.5 * 2 ** -25)).toBe(0x0001);
    expect(h(3 * 2 ** -25)).toBe(0x0002); // 1.5 ulp: tie between 1 and 2 -> 2
    expect(h(2 ** -26)).toBe(0x0000);
    expect(h(1023 * 2 ** -24)).toBe(0x03ff); // largest subnormal
    expect(h(-(5 * 2 ** -24))).toBe(0x8005);
    expect(h(2 ** -14 - 2 ** -26)).toBe(0x0400); // rounds up into the smallest normal
  });
  it("decodes exactly and round-trips every half bit pattern", () => {
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x3555)).toBe(0.333251953125);
    expect(f16BitsToF32(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    for (let bits = 0; bits < 65536; bits++) {
      const x = f16BitsToF32(bits);
      if (Number.isNaN(x)) expect(Number.isNaN(f16BitsToF32(h(x)))).toBe(true);
      else expect(h(x)).toBe(bits);
    }
  });
});

describe("bfloat16 encoding", () => {
  it("hand-computed bit patterns", () => {
    expect(b(f32Bits(1))).toBe(0x3f80);
    expect(b(f32Bits(0.1))).toBe(0x3dcd); // 0x3dcccccd: low half 0xcccd > 0x8000 rounds up
    expect(b(0x3f808000)).toBe(0x3f80); // tie -> even
    expect(b(0x3f818000)).toBe(0x3f82); // tie -> even (up)
    expect(b(0x3f808001)).toBe(0x3f81);
    expect(b(0x7f7fffff)).toBe(0x7f80); // max float rounds to Inf
    expect(b(0xff800000)).toBe(0xff80); // -Inf
    expect(b(0x7f800001)).toBe(0x7fc0); // NaN stays NaN
    expect(b(0x00000001)).toBe(0x0000); // tiny subnormal -> 0
    expect(b(0x00018000)).toBe(0x0002); // subnormal tie -> even
  });
  it("array encode/decode agree with the scalar functions", () => {
    const xs = new Float32Array([1, -2.5, 0.1, 3.25, -0, 1e-40, 65520, Number.NaN]);
    const bf = decodeFloat32("BF16", encodeFloat32("BF16", xs));
    const hf = decodeFloat32("F16", encodeFloat32("F16", xs));
    for (let i = 0; i < xs.length; i++) {
      const bits = f32Bits(xs[i]);
      const eb = f32FromBits(b(bits) << 16);
      const eh = f16BitsToF32(f32BitsToF16Bits(bits));
      if (Number.isNaN(xs[i])) {
        expect(Number.isNaN(bf[i]) && Number.isNaN(hf[i])).toBe(true);
      } else {
        expect(bf[i]).toBe(eb);
        expect(hf[i]).toBe(eh);
      }
    }
    expect([...decodeFloat32("F32", encodeFloat32("F32", xs)).subarray(0, 7)]).toEqual([
      ...xs.subarray(0, 7),
    ]);
    expect(decodeFloat32("F64", encodeFloat32("F64", xs))[3]).toBe(xs[3]);
  });
  it("decodes from unaligned byte offsets", () => {
    const raw = new Uint8Array(9);
    raw.set(encodeFloat32("F32", new Float32Array([1.5, -3])), 1);
    expect([...decodeFloat32("F32", raw.subarray(1))]).toEqual([1.5, -3]);
  });
});

describe("registered BF16 codec", () => {
  it("is used for large arrays only, and unregistering restores the loops", () => {
    const calls: string[] = [];
    const codec: FloatCodec = {
      decodeBf16(src, dst) {
        calls.push(`decode ${src.length}`);
        for (let i = 0; i < src.length; i++) dst[i] = f32FromBits(src[i] << 16);
      },
      encodeBf16(src, dst) {
        calls.push(`encode ${src.length}`);
        for (let i = 0; i < src.length; i++) dst[i] = f32BitsToBf16Bits(f32Bits(src[i]));
      },
    };
    const big = Float32Array.from({ length: 2048 }, (_, i) => Math.sin(i) * 1e3);
    const plain = encodeFloat32("BF16", big);
    registerFloatCodec(codec);
    try {
      expect([...encodeFloat32("BF16", big)]).toEqual([...plain]);
      expect([...decodeFloat32("BF16", plain)]).toEqual([...decodeBf16Loop(plain)]);
      encodeFloat32("BF16", big.subarray(0, 10));
      expect(calls).toEqual(["encode 2048", "decode 2048"]);
    } finally {
      registerFloatCodec(undefined);
    }
    encodeFloat32("BF16", big);
    expect(calls).toHaveLength(2);
  });
});

/** BF16 bytes -> float32 by the scalar definition. */
function decodeBf16Loop(bytes: Uint8Array): Float32Array {
  const u = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return Float32Array.from(u, (h) => f32FromBits(h << 16));
}
