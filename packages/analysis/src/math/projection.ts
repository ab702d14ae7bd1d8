/**
 * Seeded random projection of a long vector (a task vector: every parameter of a model) to k dimensions, computed
 * streaming: the vector arrives tensor by tensor, chunk by chunk, and the projection matrix is never stored. The
 * rows that belong to a tensor are generated on the fly from `Rng.derive(seed, tensorName)`, in element order, so
 * the result does not depend on the chunk size or on the order tensors are visited in.
 *
 * - `gaussian`: entries N(0, 1/k): E[⟨Rx, Ry⟩] = ⟨x, y⟩ and the Johnson–Lindenstrauss bound holds. Costs k normal
 *   draws per parameter, so it suits models up to a few million parameters.
 * - `sparse`: a sparse Johnson–Lindenstrauss transform (Kane & Nelson; CountSketch when s = 1): each parameter goes
 *   to s buckets with random signs and weight 1/√s. Unbiased for inner products, variance close to the Gaussian
 *   one for the dense vectors of task vectors, and O(s) work per parameter, so it suits billions of parameters.
 */
import { Rng } from "@m2rl/core/rng";

export type ProjectionKind = "gaussian" | "sparse";

export interface ProjectionOptions {
  dims: number;
  seed: number;
  kind: ProjectionKind;
  /** Non-zeros per column of the sparse transform (default 4). */
  sparsity?: number;
}

/** Projects A vectors (one per arm) that arrive as aligned chunks. */
export class StreamingProjector {
  readonly dims: number;
  readonly kind: ProjectionKind;
  private readonly sparsity: number;
  private readonly acc: Float64Array[];
  private rng: Rng | undefined;
  private tensor = "";
  private expectedOffset = 0;
  /** Scratch for a block of Gaussian rows. */
  private block = new Float64Array(0);

  constructor(
    readonly arms: number,
    private readonly options: ProjectionOptions,
  ) {
    if (!Number.isInteger(options.dims) || options.dims < 1) {
      throw new RangeError(`projection dims must be a positive integer, got ${options.dims}`);
    }
    this.dims = options.dims;
    this.kind = options.kind;
    this.sparsity = options.sparsity ?? 4;
    this.acc = Array.from({ length: arms }, () => new Float64Array(this.dims));
  }

  /** Starts a tensor: its rows come from Rng.derive(seed, name). */
  beginTensor(name: string): void {
    this.tensor = name;
    this.rng = Rng.derive(this.options.seed, `projection:${name}`);
    this.expectedOffset = 0;
  }

  /**
   * Adds the next consecutive elements of the current tensor, one chunk per arm (all the same length), starting at
   * element `offset` of the tensor (must follow the previous chunk: the stream is sequential).
   */
  add(offset: number, chunks: readonly ArrayLike<number>[]): void {
    const rng = this.rng;
    if (!rng) throw new Error("StreamingProjector.add before beginTensor");
    if (offset !== this.expectedOffset) {
      throw new RangeError(
        `${this.tensor}: projection chunks must be sequential (got ${offset}, want ${this.expectedOffset})`,
      );
    }
    if (chunks.length !== this.arms)
      throw new RangeError(`expected ${this.arms} chunks, got ${chunks.length}`);
    const n = chunks[0].length;
    this.expectedOffset += n;
    if (this.kind === "gaussian") this.addGaussian(rng, chunks, n);
    else this.addSparse(rng, chunks, n);
  }

  private addGaussian(rng: Rng, chunks: readonly ArrayLike<number>[], n: number): void {
    const k = this.dims;
    const scale = 1 / Math.sqrt(k);
    const blockElems = Math.max(1, Math.floor(16384 / k));
    if (this.block.length < blockElems * k) this.block = new Float64Array(blockElems * k);
    const buf = this.block;
    for (let e0 = 0; e0 < n; e0 += blockElems) {
      const e1 = Math.min(n, e0 + blockElems);
      const count = (e1 - e0) * k;
      // Box–Muller, both outputs used; the stream is a pure function of (seed, tensor, element index).
      for (let i = 0; i < count; i += 2) {
        let u = rng.next();
        while (u === 0) u = rng.next();
        const v = rng.next();
        const r = Math.sqrt(-2 * Math.log(u)) * scale;
        buf[i] = r * Math.cos(2 * Math.PI * v);
        if (i + 1 < count) buf[i + 1] = r * Math.sin(2 * Math.PI * v);
      }
      for (let a = 0; a < this.arms; a++) {
        const x = chunks[a];
        const acc = this.acc[a];
        for (let e = e0; e < e1; e++) {
          const xe = x[e];
          if (xe === 0) continue;
          const base = (e - e0) * k;
          for (let j = 0; j < k; j++) acc[j] += xe * buf[base + j];
        }
      }
    }
  }

  private addSparse(rng: Rng, chunks: readonly ArrayLike<number>[], n: number): void {
    const k = this.dims;
    const s = this.sparsity;
    const w = 1 / Math.sqrt(s);
    const arms = this.arms;
    for (let e = 0; e < n; e++) {
      for (let t = 0; t < s; t++) {
        const h = rng.nextUint32();
        const bucket = (h & 0x7fffffff) % k;
        const sign = h & 0x80000000 ? -w : w;
        for (let a = 0; a < arms; a++) {
          const xe = chunks[a][e];
          if (xe !== 0) this.acc[a][bucket] += sign * xe;
        }
      }
    }
  }

  /** The projected vectors (one per arm), k entries each. */
  result(): Float64Array[] {
    return this.acc.map((a) => a.slice());
  }
}

/** Projects whole vectors (tests, small inputs): one tensor named `name`. */
export function projectVectors(
  vectors: readonly ArrayLike<number>[],
  options: ProjectionOptions,
  name = "v",
): Float64Array[] {
  const p = new StreamingProjector(vectors.length, options);
  p.beginTensor(name);
  p.add(0, vectors);
  return p.result();
}
