import { describe, expect, it } from 'vitest';
import { erfc, twoProportionZTest, waldDifference, wilsonInterval, Z95 } from '../../src/metrics/proportion-stats.ts';

/** The fixtures were computed by hand (the working is beside each); 6 decimals is what a report shows. */
describe('proportion statistics against hand-computed fixtures', () => {
  it('Wilson interval of 40 out of 100', () => {
    // p = 0.4, z = 1.959964, z² = 3.841459, z²/n = 0.03841459, 1 + z²/n = 1.03841459
    // centre = (0.4 + 0.03841459/2) / 1.03841459 = 0.41920729 / 1.03841459 = 0.40369935
    // half   = 1.959964 / 1.03841459 · √(0.4·0.6/100 + 3.841459/(4·100²))
    //        = 1.88745079 · √(0.0024 + 0.00009604) = 1.88745079 · 0.04996035 = 0.09429770
    // interval = [0.40369935 − 0.09429770, 0.40369935 + 0.09429770] = [0.309401, 0.497997]
    const ci = wilsonInterval(40, 100)!;
    expect(ci.low).toBeCloseTo(0.309401, 6);
    expect(ci.high).toBeCloseTo(0.497997, 6);
  });

  it('Wilson interval of 0 out of 10 stays inside [0, 1] (where Wald would be [0, 0])', () => {
    // p = 0, z²/n = 0.3841459, 1 + z²/n = 1.3841459
    // centre = 0.19207294 / 1.3841459 = 0.13876640
    // half   = 1.959964 / 1.3841459 · √(0 + 3.841459/400) = 1.41600891 · 0.09799811 = 0.13876640
    // interval = [0, 0.277533]
    const ci = wilsonInterval(0, 10)!;
    expect(ci.low).toBe(0);
    expect(ci.high).toBeCloseTo(0.277533, 6);
    expect(wilsonInterval(0, 0)).toBeNull();
  });

  it('two-proportion z-test: 60/200 against 40/200', () => {
    // p1 = 0.30, p2 = 0.20, pooled p = 100/400 = 0.25
    // se = √(0.25·0.75·(1/200 + 1/200)) = √(0.1875·0.01) = √0.001875 = 0.04330127
    // z = 0.10 / 0.04330127 = 2.309401
    // p-value = 2·(1 − Φ(2.309401)) = 2·(1 − 0.98953933) = 0.020921
    const test = twoProportionZTest(60, 200, 40, 200)!;
    expect(test.z).toBeCloseTo(2.309401, 6);
    expect(test.pValue).toBeCloseTo(0.020921, 6);
  });

  it('two-proportion z-test: 12/50 against 10/50 is far from significant', () => {
    // p1 = 0.24, p2 = 0.20, pooled p = 22/100 = 0.22
    // se = √(0.22·0.78·(2/50)) = √0.006864 = 0.08284926
    // z = 0.04 / 0.08284926 = 0.482805, p-value = 2·(1 − Φ(0.482805)) = 2·(1 − 0.68538274) = 0.629235
    const test = twoProportionZTest(12, 50, 10, 50)!;
    expect(test.z).toBeCloseTo(0.482805, 6);
    expect(test.pValue).toBeCloseTo(0.62923, 5); // erfc is good to ~1e-7: 5 decimals
    // Symmetric: swapping the groups flips z, keeps the p-value.
    expect(twoProportionZTest(10, 50, 12, 50)!.z).toBeCloseTo(-0.482805, 6);
  });

  it('no test without variance or without a group', () => {
    expect(twoProportionZTest(0, 20, 0, 30)).toBeNull(); // pooled rate 0
    expect(twoProportionZTest(20, 20, 30, 30)).toBeNull(); // pooled rate 1
    expect(twoProportionZTest(1, 0, 3, 10)).toBeNull();
  });

  it('erfc gives the normal tail: 2·(1 − Φ(1)) = 0.317311, 2·(1 − Φ(1.959964)) = 0.05', () => {
    expect(erfc(1 / Math.SQRT2)).toBeCloseTo(0.317311, 6);
    expect(erfc(Z95 / Math.SQRT2)).toBeCloseTo(0.05, 6);
    expect(erfc(-1 / Math.SQRT2)).toBeCloseTo(2 - 0.317311, 6);
  });

  it('Wald interval of a difference: 0.30 (n 200) against 0.20 (n 200)', () => {
    // se = √(0.3·0.7/200 + 0.2·0.8/200) = √(0.00105 + 0.0008) = √0.00185 = 0.04301163
    // 0.10 ± 1.959964·0.04301163 = 0.10 ± 0.08430125 = [0.015699, 0.184301]
    const { difference, ci95 } = waldDifference(0.3, 200, 0.2, 200);
    expect(difference).toBeCloseTo(0.1, 10);
    expect(ci95.low).toBeCloseTo(0.015699, 6);
    expect(ci95.high).toBeCloseTo(0.184301, 6);
  });
});
