/** Nearest-rank percentile (p in 0–100) of a list of samples; NaN for none. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** A whole-number option (flag or env value): `fallback` when unset, else an integer >= `min` or a clear error. */
export function wholeNumber(raw: string | undefined, fallback: number, min: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${raw}"`);
  return value;
}
