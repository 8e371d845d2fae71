import ms from 'ms';
import { z } from 'zod';

/**
 * A duration like `90m`, `24h`, `3d` (the `ms` package's format), positive: the zod schema every
 * config document (rules, escalation policy, funnel) writes durations with. Apart from
 * rules-schema.ts so the funnel schema, which the rules schema takes stage ids from, needs nothing of it.
 */
export const duration = z
  .string()
  .refine((value) => {
    try {
      const parsed = ms(value as ms.StringValue);
      return typeof parsed === 'number' && Number.isFinite(parsed) && parsed > 0;
    } catch {
      return false; // ms throws on an empty string: not a duration either
    }
  }, 'must be a positive duration like "90m", "24h" or "3d"')
  .describe('A duration: a number and a unit (s, m, h, d, w), e.g. "24h" or "3d"');
