import { describe, expect, it } from 'vitest';
import { MIN_BANDED_ELIGIBLE, bandOf, bandStatusOf } from '../../src/metrics/conversion-bands.ts';

const SIGNUP_TO_CALL = { from: 'account_created', to: 'first_api_call', windowDays: 7 } as const;

describe('the benchmark bands', () => {
  it('place a rate by the table: top quartile from 50 %, median from 25 %, below median from 15 %, warning under it', () => {
    expect([0.5, 0.4999, 0.25, 0.2499, 0.15, 0.1499, 0].map((rate) => bandOf(SIGNUP_TO_CALL, rate))).toEqual([
      'top_quartile',
      'median',
      'median',
      'below_median',
      'below_median',
      'warning',
      'warning',
    ]);
  });

  it('apply only to the table’s own pair and window, only with a rate and only from the minimum n', () => {
    expect(MIN_BANDED_ELIGIBLE).toBe(100);
    expect(bandStatusOf(SIGNUP_TO_CALL, 0.6, 100)).toBe('banded');
    expect(bandStatusOf(SIGNUP_TO_CALL, 0.6, 99)).toBe('n_too_small');
    expect(bandStatusOf(SIGNUP_TO_CALL, null, 0)).toBe('no_rate');
    expect(bandStatusOf({ ...SIGNUP_TO_CALL, windowDays: 3 }, 0.6, 500)).toBe('no_benchmark');
    expect(bandStatusOf({ from: 'intent', to: 'account_created', windowDays: 7 }, 0.6, 500)).toBe('no_benchmark');
  });
});
