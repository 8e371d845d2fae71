/**
 * Thompson sampling's allocation for an adaptive experiment (docs/concepts/nudges.md#adaptive-allocation):
 * each variant's conversion rate has the posterior Beta(1 + converted, 1 + not converted) (a
 * uniform prior); the share of new developers a variant gets is its probability of being the
 * best, estimated by drawing from every posterior DRAWS times, floored so that no variant starves.
 *
 * Deterministic: a fixed-seed PRNG, so every worker computing the same period gets the same
 * weights, and the same data always gives the same answer.
 */

export const DRAWS = 10_000;
const SEED = 0x5eed_0a11;

export interface ArmCounts {
  variant: string;
  /** Assigned developers whose window has closed. */
  measured: number;
  /** Of them, reached the goal within the window. */
  converted: number;
}

export interface AllocatedArm extends ArmCounts {
  /** The probability that this variant converts best, given the data; null while the data is too thin to move the weights. */
  pBest: number | null;
}

export interface Allocation {
  /** Variant id → share of new developers (summing to 1, none below the floor). */
  weights: Record<string, number>;
  arms: AllocatedArm[];
  reason: string;
}

/** mulberry32: a small, fast, seedable PRNG with a 2^32 period (plenty for 10,000 draws of a few arms). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** A standard normal draw (Box–Muller). */
function normal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -∞
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A Gamma(shape, 1) draw for shape ≥ 1 (Marsaglia and Tsang, 2000): every Beta here has shapes ≥ 1. */
function gamma(shape: number, random: () => number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - random();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

function beta(a: number, b: number, random: () => number): number {
  const x = gamma(a, random);
  return x / (x + gamma(b, random));
}

/** Each arm's probability of drawing the highest rate from its posterior, over `draws` rounds. */
export function probabilityOfBest(arms: readonly ArmCounts[], draws = DRAWS): number[] {
  const random = mulberry32(SEED);
  const wins = arms.map(() => 0);
  for (let round = 0; round < draws; round++) {
    let best = 0;
    let bestDraw = -1;
    arms.forEach((arm, index) => {
      const draw = beta(1 + arm.converted, 1 + arm.measured - arm.converted, random);
      if (draw > bestDraw) [best, bestDraw] = [index, draw];
    });
    wins[best]! += 1;
  }
  return wins.map((w) => w / draws);
}

/**
 * Shares proportional to `scores`, none below `floor`: the arms that would fall below it get it
 * exactly and the others share the rest in proportion, repeated until none falls below (flooring
 * and then renormalising would push a floored arm back under). Needs floor × arms ≤ 1.
 */
export function flooredShares(scores: readonly number[], floor: number): number[] {
  const floored = new Set<number>();
  for (;;) {
    const free = scores.flatMap((_, i) => (floored.has(i) ? [] : [i]));
    const rest = 1 - floored.size * floor;
    const mass = free.reduce((sum, i) => sum + scores[i]!, 0);
    const shares = scores.map((score, i) => (floored.has(i) ? floor : mass === 0 ? rest / free.length : (score / mass) * rest));
    const below = free.filter((i) => shares[i]! < floor);
    if (below.length === 0) return shares;
    for (const i of below) floored.add(i);
  }
}

const percent = (arm: ArmCounts) => `${Math.round((arm.converted / arm.measured) * 100)}%`;

/**
 * The allocation the data supports, or null while some variant has fewer than `minPerVariant`
 * measured developers (the document's weights stand until then).
 */
export function thompsonAllocation(arms: readonly ArmCounts[], { floor, minPerVariant }: { floor: number; minPerVariant: number }, draws = DRAWS): Allocation | null {
  if (arms.length < 2 || arms.some((arm) => arm.measured < minPerVariant)) return null;
  const pBest = probabilityOfBest(arms, draws);
  const shares = flooredShares(pBest, floor);
  const allocated = arms.map((arm, i) => ({ ...arm, pBest: pBest[i]! }));
  const leader = allocated.reduce((best, arm) => (arm.pBest > best.pBest ? arm : best));
  const others = allocated.filter((arm) => arm !== leader).map((arm) => `${arm.variant} ${percent(arm)} of ${arm.measured}`);
  return {
    weights: Object.fromEntries(arms.map((arm, i) => [arm.variant, shares[i]!])),
    arms: allocated,
    reason: `variant ${leader.variant} converts ${percent(leader)} of ${leader.measured} vs ${others.join(', ')}; P(best) ${leader.pBest.toFixed(2)}`,
  };
}

/**
 * The document's weights (as shares), with why they stand: the variant with the fewest measured
 * developers has fewer than `minPerVariant`. Recorded when an adaptive allocation gives way to them.
 */
export function documentAllocation(variants: readonly { id: string; weight: number }[], arms: readonly ArmCounts[], minPerVariant: number): Allocation {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  const fewest = arms.reduce((least, arm) => (arm.measured < least.measured ? arm : least));
  return {
    weights: Object.fromEntries(variants.map((v) => [v.id, v.weight / total])),
    arms: arms.map((arm) => ({ ...arm, pBest: null })),
    reason: `the document's weights: variant ${fewest.variant} has ${fewest.measured} measured, fewer than ${minPerVariant}`,
  };
}

/** Two allocations differ when some variant's share differs in whole percent (less is noise of the estimate). */
export function weightsDiffer(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].some((key) => a[key] === undefined || b[key] === undefined || Math.round(a[key] * 100) !== Math.round(b[key] * 100));
}
