/**
 * The small dense linear algebra the subspace analysis needs. Big products (a weight update times a thin matrix)
 * are written here as plain loops over row blocks so that an update never has to be held whole; the small SVDs go
 * to ml-matrix (maintained, pure JS).
 */
import { Matrix, SingularValueDecomposition } from "ml-matrix";

/** A dense row-major matrix in float64. */
export interface Dense {
  rows: number;
  cols: number;
  data: Float64Array;
}

export function dense(rows: number, cols: number, data?: Float64Array): Dense {
  return { rows, cols, data: data ?? new Float64Array(rows * cols) };
}

/**
 * Orthonormalises the columns in place (modified Gram–Schmidt, twice for stability). A column whose norm falls
 * below `tol` times the largest original column norm is set to zero; returns how many columns remain non-zero.
 */
export function orthonormalizeColumns(m: Dense, tol = 1e-10): number {
  const { rows, cols, data } = m;
  let maxNorm = 0;
  for (let c = 0; c < cols; c++) maxNorm = Math.max(maxNorm, columnNorm(m, c));
  let rank = 0;
  for (let c = 0; c < cols; c++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        let dot = 0;
        for (let r = 0; r < rows; r++) dot += data[r * cols + p] * data[r * cols + c];
        if (dot !== 0) for (let r = 0; r < rows; r++) data[r * cols + c] -= dot * data[r * cols + p];
      }
    }
    const n = columnNorm(m, c);
    if (n <= tol * maxNorm || n === 0) {
      for (let r = 0; r < rows; r++) data[r * cols + c] = 0;
    } else {
      for (let r = 0; r < rows; r++) data[r * cols + c] /= n;
      rank++;
    }
  }
  return rank;
}

function columnNorm(m: Dense, c: number): number {
  let s = 0;
  for (let r = 0; r < m.rows; r++) s += m.data[r * m.cols + c] ** 2;
  return Math.sqrt(s);
}

/** C = Aᵀ B for A (n×p), B (n×q): the p×q matrix of column inner products. */
export function transposeTimes(a: Dense, b: Dense): Dense {
  if (a.rows !== b.rows) throw new RangeError(`transposeTimes: ${a.rows} vs ${b.rows} rows`);
  const out = dense(a.cols, b.cols);
  for (let r = 0; r < a.rows; r++) {
    for (let i = 0; i < a.cols; i++) {
      const x = a.data[r * a.cols + i];
      if (x === 0) continue;
      for (let j = 0; j < b.cols; j++) out.data[i * b.cols + j] += x * b.data[r * b.cols + j];
    }
  }
  return out;
}

/** Singular values (descending) and, optionally, left / right singular vectors of a small matrix. */
export function svd(m: Dense, vectors: { left?: boolean; right?: boolean } = {}) {
  const mat = Matrix.from1DArray(m.rows, m.cols, Array.from(m.data));
  const s = new SingularValueDecomposition(mat, {
    computeLeftSingularVectors: vectors.left ?? false,
    computeRightSingularVectors: vectors.right ?? false,
    autoTranspose: true,
  });
  const toDense = (x: Matrix): Dense => dense(x.rows, x.columns, Float64Array.from(x.to1DArray()));
  return {
    values: s.diagonal,
    left: vectors.left ? toDense(s.leftSingularVectors) : undefined,
    right: vectors.right ? toDense(s.rightSingularVectors) : undefined,
  };
}

/**
 * Principal angles (radians, ascending) between the column spaces of U1 and U2, both with orthonormal columns
 * (zero columns are ignored): θ_i = arccos σ_i(U1ᵀ U2). As many angles as the smaller subspace's dimension.
 */
export function principalAngles(u1: Dense, u2: Dense): number[] {
  const a = dropZeroColumns(u1);
  const b = dropZeroColumns(u2);
  const r = Math.min(a.cols, b.cols);
  if (r === 0) return [];
  const m = transposeTimes(a, b);
  const sv = svd(m).values.slice(0, r);
  return sv.map((s) => Math.acos(Math.min(1, Math.max(0, s)))).sort((x, y) => x - y);
}

function dropZeroColumns(m: Dense): Dense {
  const keep: number[] = [];
  for (let c = 0; c < m.cols; c++) if (columnNorm(m, c) > 0) keep.push(c);
  if (keep.length === m.cols) return m;
  const out = dense(m.rows, keep.length);
  for (let r = 0; r < m.rows; r++) {
    for (let j = 0; j < keep.length; j++) out.data[r * keep.length + j] = m.data[r * m.cols + keep[j]];
  }
  return out;
}

/** Subspace overlap ‖U1ᵀU2‖²_F / r = mean cos²θ_i (1: same subspace, 0: orthogonal). */
export function subspaceOverlap(anglesRad: readonly number[]): number {
  if (anglesRad.length === 0) return Number.NaN;
  let s = 0;
  for (const t of anglesRad) s += Math.cos(t) ** 2;
  return s / anglesRad.length;
}
