/**
 * Streaming histogram of |x| for float32 values, used to find the magnitude above which the top p% of a task
 * vector's entries lie without holding the vector. Bins follow the float32 bit pattern: exponent plus the top
 * `mantissaBits` of the mantissa, so the bins are log-spaced with relative width 2^-mantissaBits (0.8% for 7 bits)
 * and ordering bins is ordering magnitudes. Zeros are counted apart (an unchanged weight is never "updated").
 */
const SHIFT_FOR = (mantissaBits: number) => 23 - mantissaBits;

export class MagnitudeHistogram {
  readonly counts: Float64Array;
  zeros = 0;
  total = 0;
  private readonly shift: number;
  private readonly u32 = new Uint32Array(1);
  private readonly f32 = new Float32Array(this.u32.buffer);

  constructor(readonly mantissaBits = 7) {
    this.shift = SHIFT_FOR(mantissaBits);
    this.counts = new Float64Array(1 << (8 + mantissaBits));
  }

  add(values: Float32Array): void {
    const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
    const c = this.counts;
    const shift = this.shift;
    for (let i = 0; i < bits.length; i++) {
      const b = bits[i] & 0x7fffffff;
      if (b === 0) this.zeros++;
      else if (b < 0x7f800000) c[b >>> shift]++; // finite only
    }
    this.total += values.length;
  }

  /** Lower edge (as a magnitude) of bin `i`. */
  binLow(i: number): number {
    this.u32[0] = i << this.shift;
    return this.f32[0];
  }

  /**
   * Smallest threshold t (a bin's lower edge) such that the entries with |x| ≥ t number at least `fraction` of
   * all entries (or every non-zero entry, when fewer). The kept set overshoots by at most one bin.
   */
  thresholdForTopFraction(fraction: number): number {
    const want = Math.ceil(Math.min(1, Math.max(0, fraction)) * this.total);
    if (want === 0) return Number.POSITIVE_INFINITY;
    let acc = 0;
    let last = -1;
    for (let i = this.counts.length - 1; i >= 0; i--) {
      if (this.counts[i] === 0) continue;
      acc += this.counts[i];
      last = i;
      if (acc >= want) return this.binLow(i);
    }
    return last >= 0 ? this.binLow(last) : Number.POSITIVE_INFINITY;
  }
}
