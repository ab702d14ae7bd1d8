/** Number formatting shared by tables. */
export function fmt(x: number | null | undefined, digits = 3): string | null {
  if (x === null || x === undefined || Number.isNaN(x)) return null;
  if (!Number.isFinite(x)) return x > 0 ? "∞" : "−∞";
  const a = Math.abs(x);
  if (a !== 0 && (a < 10 ** -digits || a >= 1e6)) return x.toExponential(2);
  return x.toFixed(digits);
}

export function pct(x: number | null | undefined, digits = 1): string | null {
  if (x === null || x === undefined || Number.isNaN(x)) return null;
  return `${(x * 100).toFixed(digits)}%`;
}

export function signed(x: number | null | undefined, digits = 2): string | null {
  if (x === null || x === undefined || Number.isNaN(x)) return null;
  return `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;
}

/** NaN / ±Infinity become null so that results stay valid JSON. */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
