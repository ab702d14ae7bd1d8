/**
 * safetensors dtypes and float conversions. Float16 / bfloat16 encoders round to nearest, ties to even (IEEE 754
 * default), keep NaN a NaN (quiet bit set) and overflow to ±Inf. Decoders are exact.
 */

/** Every dtype the safetensors format defines. */
export type DType =
  | "BOOL"
  | "U8"
  | "I8"
  | "F8_E4M3"
  | "F8_E5M2"
  | "I16"
  | "U16"
  | "F16"
  | "BF16"
  | "I32"
  | "U32"
  | "F32"
  | "I64"
  | "U64"
  | "F64";

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = Object.freeze({
  BOOL: 1,
  U8: 1,
  I8: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I16: 2,
  U16: 2,
  F16: 2,
  BF16: 2,
  I32: 4,
  U32: 4,
  F32: 4,
  I64: 8,
  U64: 8,
  F64: 8,
});

/** Float dtypes that read and write as Float32Array. */
export type FloatDType = "F32" | "F16" | "BF16" | "F64";

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && Object.hasOwn(DTYPE_SIZE, x);
}

/** True for the dtypes `decodeFloat32` / `encodeFloat32` convert. */
export function isFloatDType(d: DType): d is FloatDType {
  return d === "F32" || d === "F16" || d === "BF16" || d === "F64";
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Bits of a float32. */
export function f32Bits(x: number): number {
  f32Scratch[0] = x;
  return u32Scratch[0];
}

/** float32 from its bits. */
export function f32FromBits(bits: number): number {
  u32Scratch[0] = bits >>> 0;
  return f32Scratch[0];
}

/** float32 bits -> float16 bits, round to nearest even. */
export function f32BitsToF16Bits(u: number): number {
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 -> 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    const m = mant | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++; // a carry into the exponent gives Inf correctly
  return sign | h;
}

/** float16 bits -> float32 value (exact). */
export function f16BitsToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** float32 bits -> bfloat16 bits, round to nearest even; NaN stays NaN. */
export function f32BitsToBf16Bits(u: number): number {
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | undefined;
function f16LookupTable(): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) f16Table[i] = f16BitsToF32(i);
  }
  return f16Table;
}

/** Element count of a shape (1 for a scalar). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A typed-array view over `bytes` when aligned, else over an aligned copy. */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  return bytes.byteOffset % align === 0 ? bytes : bytes.slice();
}

/**
 * Decodes little-endian float data of `dtype` into float32. `out` (length = element count) is filled and returned
 * when given. Without `out`, F32 data that is 4-byte aligned comes back as a view over `bytes` (no copy: treat it as
 * read-only unless you own `bytes`); everything else as a new array.
 */
/**
 * Faster BF16 conversions (SIMD, native) that a host may register; they must be bitwise equal to the loops here
 * (decode: bits << 16; encode: round to nearest even, NaN kept quiet). Core stays dependency-free: Node packages
 * register one (@m2rl/kernels-native's merge addon), Deno and browsers use the loops. Real checkpoints are mostly
 * BF16, and the plain loop costs ~2-3 ns per element in V8, which dominated streaming merges and analyses.
 */
export interface FloatCodec {
  decodeBf16(src: Uint16Array, dst: Float32Array): void;
  encodeBf16(src: Float32Array, dst: Uint16Array): void;
}

let codec: FloatCodec | undefined;

/** Registers (or with undefined, removes) the BF16 codec decodeFloat32 / encodeFloat32 use on large arrays. */
export function registerFloatCodec(c: FloatCodec | undefined): void {
  codec = c;
}

/** Arrays shorter than this convert in the loop (a native call costs more than it saves). */
const CODEC_MIN = 1024;

export function decodeFloat32(dtype: FloatDType, bytes: Uint8Array, out?: Float32Array): Float32Array {
  const size = DTYPE_SIZE[dtype];
  if (bytes.byteLength % size !== 0)
    throw new RangeError(`${dtype}: ${bytes.byteLength} bytes is not a whole count`);
  const n = bytes.byteLength / size;
  if (!out && dtype === "F32" && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
    return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  }
  const res = out ?? new Float32Array(n);
  if (res.length !== n) throw new RangeError(`decodeFloat32: out has ${res.length} elements, data has ${n}`);
  if (!LITTLE_ENDIAN) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) {
      if (dtype === "F32") res[i] = dv.getFloat32(i * 4, true);
      else if (dtype === "F64") res[i] = dv.getFloat64(i * 8, true);
      else if (dtype === "F16") res[i] = f16BitsToF32(dv.getUint16(i * 2, true));
      else res[i] = f32FromBits(dv.getUint16(i * 2, true) << 16);
    }
    return res;
  }
  const b = aligned(bytes, size);
  switch (dtype) {
    case "F32":
      res.set(new Float32Array(b.buffer, b.byteOffset, n));
      break;
    case "F64":
      res.set(new Float64Array(b.buffer, b.byteOffset, n));
      break;
    case "F16": {
      const t = f16LookupTable();
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      for (let i = 0; i < n; i++) res[i] = t[src[i]];
      break;
    }
    case "BF16": {
      const src = new Uint16Array(b.buffer, b.byteOffset, n);
      if (codec && n >= CODEC_MIN) {
        codec.decodeBf16(src, res);
        break;
      }
      const dst = new Uint32Array(res.buffer, res.byteOffset, n);
      for (let i = 0; i < n; i++) dst[i] = src[i] << 16;
      break;
    }
  }
  return res;
}

/** Encodes float32 values as little-endian `dtype` bytes. For F32 on a little-endian host this is a view, no copy. */
export function encodeFloat32(dtype: FloatDType, data: Float32Array): Uint8Array {
  const n = data.length;
  if (!LITTLE_ENDIAN) {
    const out = new Uint8Array(n * DTYPE_SIZE[dtype]);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < n; i++) {
      if (dtype === "F32") dv.setFloat32(i * 4, data[i], true);
      else if (dtype === "F64") dv.setFloat64(i * 8, data[i], true);
      else if (dtype === "F16") dv.setUint16(i * 2, f32BitsToF16Bits(f32Bits(data[i])), true);
      else dv.setUint16(i * 2, f32BitsToBf16Bits(f32Bits(data[i])), true);
    }
    return out;
  }
  switch (dtype) {
    case "F32":
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    case "F64": {
      const out = new Float64Array(n);
      out.set(data);
      return new Uint8Array(out.buffer);
    }
    case "F16": {
      const bits = new Uint32Array(data.buffer, data.byteOffset, n);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = f32BitsToF16Bits(bits[i]);
      return new Uint8Array(out.buffer);
    }
    case "BF16": {
      const out = new Uint16Array(n);
      if (codec && n >= CODEC_MIN) {
        codec.encodeBf16(data, out);
        return new Uint8Array(out.buffer);
      }
      const bits = new Uint32Array(data.buffer, data.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const u = bits[i];
        out[i] = (u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 0x40 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16;
      }
      return new Uint8Array(out.buffer);
    }
  }
}
