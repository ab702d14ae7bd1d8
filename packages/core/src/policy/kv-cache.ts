/**
 * Preallocated key/value cache for batched decoding. Keys (after RoPE) and values of every layer live in one
 * Float32Array per layer, laid out [B, KV, capacity, hd]; each new token is written into its slot in place (no
 * re-concatenation), and the one-query attention of a decode step reads the filled slots directly.
 * Rows are left-padded: row b's valid slots are [start[b], length).
 */
export class KVCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** First valid slot of each row (its left padding). */
  start: Int32Array;
  /** Rows currently in the cache (shrinks with `compact`). */
  batch: number;
  /** Number of filled slots (same for every row). */
  length = 0;
  private readonly scores: Float32Array;

  constructor(
    readonly layers: number,
    batch: number,
    readonly kvHeads: number,
    readonly headDim: number,
    readonly capacity: number,
  ) {
    this.batch = batch;
    const n = batch * kvHeads * capacity * headDim;
    this.keys = Array.from({ length: layers }, () => new Float32Array(n));
    this.values = Array.from({ length: layers }, () => new Float32Array(n));
    this.start = new Int32Array(batch);
    this.scores = new Float32Array(capacity);
  }

  /** Writes `n` new slots from [B, KV, n, hd] arrays at slots [length, length + n) of `layer`. */
  write(layer: number, k: Float32Array, v: Float32Array, n: number): void {
    const { batch, kvHeads, headDim, capacity } = this;
    if (this.length + n > capacity)
      throw new RangeError(`KVCache: ${this.length}+${n} slots exceed ${capacity}`);
    const K = this.keys[layer];
    const V = this.values[layer];
    for (let bh = 0; bh < batch * kvHeads; bh++) {
      const src = bh * n * headDim;
      const dst = (bh * capacity + this.length) * headDim;
      K.set(k.subarray(src, src + n * headDim), dst);
      V.set(v.subarray(src, src + n * headDim), dst);
    }
  }

  /**
   * Keeps only the rows `keep` (ascending indices into the current batch), moved to the front in that order;
   * later writes and attention use the smaller batch. In place: row blocks only move towards the front.
   */
  compact(keep: readonly number[]): void {
    const block = this.kvHeads * this.capacity * this.headDim;
    keep.forEach((r, i) => {
      if (r < i || (i > 0 && r <= keep[i - 1]))
        throw new RangeError(`KVCache.compact: rows must ascend, got [${keep}]`);
      if (r >= this.batch) throw new RangeError(`KVCache.compact: row ${r} outside batch ${this.batch}`);
      if (r === i) return;
      for (let l = 0; l < this.layers; l++) {
        this.keys[l].copyWithin(i * block, r * block, (r + 1) * block);
        this.values[l].copyWithin(i * block, r * block, (r + 1) * block);
      }
    });
    this.start = Int32Array.from(keep, (r) => this.start[r]);
    this.batch = keep.length;
  }

  /** Marks `n` more slots as filled (after every layer has written them). */
  advance(n: number): void {
    this.length += n;
  }

  /**
   * Attention of one query per row over the filled slots of `layer` (including the slot just written):
   * out[b, h] = Σ_s softmax_s(q[b,h]·K[b,g,s]) V[b,g,s], g = ⌊h / (H/KV)⌋, s ∈ [start[b], filled).
   * q: [B, H, hd], already scaled by 1/√hd. `filled` counts slots including the current one. Returns [B, H·hd].
   */
  attend(layer: number, q: Float32Array, heads: number, filled: number, out?: Float32Array): Float32Array {
    const { batch, kvHeads, headDim: hd, capacity } = this;
    const group = heads / kvHeads;
    const K = this.keys[layer];
    const V = this.values[layer];
    const res = out ?? new Float32Array(batch * heads * hd);
    res.fill(0);
    const sc = this.scores;
    for (let b = 0; b < batch; b++) {
      const s0 = this.start[b];
      for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / group);
        const qo = (b * heads + h) * hd;
        const base = (b * kvHeads + g) * capacity;
        let max = -Infinity;
        for (let s = s0; s < filled; s++) {
          const ko = (base + s) * hd;
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[qo + i] * K[ko + i];
          sc[s] = dot;
          if (dot > max) max = dot;
        }
        let sum = 0;
        for (let s = s0; s < filled; s++) {
          const e = Math.exp(sc[s] - max);
          sc[s] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let s = s0; s < filled; s++) {
          const w = sc[s] * inv;
          const vo = (base + s) * hd;
          for (let i = 0; i < hd; i++) res[qo + i] += w * V[vo + i];
        }
      }
    }
    return res;
  }
}
