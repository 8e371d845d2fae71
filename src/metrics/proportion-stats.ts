/**
 * Statistics of proportions (conversion rates), pure: the intervals and tests the nudge-effect and
 * experiment metrics report. Hand-computed fixtures in test/unit/proportion-stats.test.ts.
 */

/** Two-sided 95 % normal quantile. */
export const Z95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson score interval of `successes` out of `n`: unlike the Wald interval it stays inside [0, 1]
 * and keeps its coverage at small n and at rates near 0 or 1. Null when n is 0.
 */
export function wilsonInterval(successes: number, n: number, z = Z95): Interval | null {
  if (n === 0) return null;
  const p = successes / n;
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z / (1 + z2n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The Wald (normal approximation) interval of the difference of two rates: `p1 − p2 ± z·√(p1(1−p1)/n1 + p2(1−p2)/n2)`. */
export function waldDifference(p1: number, n1: number, p2: number, n2: number, z = Z95): { difference: number; ci95: Interval } {
  const difference = p1 - p2;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  return { difference, ci95: { low: difference - z * se, high: difference + z * se } };
}

/**
 * Two-proportion z-test of x1/n1 against x2/n2 with the pooled rate (the null hypothesis: one
 * rate for both): z = (p1 − p2) / √(p(1−p)(1/n1 + 1/n2)), two-sided p-value 2·(1 − Φ(|z|)).
 * Null when either group is empty or the pooled rate is 0 or 1 (no variance: nothing to test).
 */
export function twoProportionZTest(x1: number, n1: number, x2: number, n2: number): { z: number; pValue: number } | null {
  if (n1 === 0 || n2 === 0) return null;
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (se === 0) return null;
  const z = (x1 / n1 - x2 / n2) / se;
  return { z, pValue: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)) };
}

/**
 * The complementary error function, to a relative error below 1.2e-7 everywhere (Numerical
 * Recipes' `erfcc`, a Chebyshev fit): 2·(1 − Φ(|z|)) = erfc(|z|/√2).
 */
export function erfc(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const poly =
    -x * x -
    1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const value = t * Math.exp(poly);
  return x >= 0 ? value : 2 - value;
}
