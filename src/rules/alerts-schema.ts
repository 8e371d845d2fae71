import { z } from 'zod';
import { duration } from './duration-schema.ts';

/**
 * The alerts document (config/alerts.yaml, `PUT /v1/alerts`): where alerts go and when each kind
 * fires. Versioned and audited like the rules; every field has a default, so `{}` is the shipped
 * behaviour.
 */

const enabled = z.boolean().default(true).describe('false: this kind is not watched (its open alerts clear)');

export const conversionBelowBand = z
  .strictObject({
    enabled,
    minEligible: z
      .int()
      // MIN_BANDED_ELIGIBLE (src/metrics, a layer above; a test holds the two together).
      .min(100)
      .max(1_000_000)
      .default(100)
      .describe("the fewest eligible developers a cohort's transition needs (bands start at 100)"),
    weeks: z.int().min(1).max(52).default(8).describe('how many signup weeks back (the current one included) to look for the newest cohort with minEligible'),
  })
  .describe('a benchmarked transition in the warning band for the newest signup cohort with enough eligible developers');

export const ttfacTail = z
  .strictObject({
    enabled,
    percentile: z.literal([75, 90]).default(90).describe('the tail watched: p75 or p90 of time to first call'),
    riseAbove: z.number().gt(1).max(100).default(1.5).describe("fires when the last complete week's percentile exceeds this multiple of the baseline"),
    versusWeeks: z.int().min(1).max(26).default(4).describe('the baseline: the median of this many weeks before it'),
    minReached: z.int().min(1).max(1_000_000).default(20).describe('the fewest developers reaching the first call a week needs to count'),
  })
  .describe('the time-to-first-call tail rising against the weeks before');

export const endpointErrorSpike = z
  .strictObject({
    enabled,
    window: duration.default('1h').describe('the recent window measured'),
    versus: duration.default('7d').describe('the baseline period before the window'),
    minErrors: z.int().min(1).max(1_000_000).default(20).describe('the fewest first-session errors on the endpoint in the window'),
    ratioAbove: z.number().gt(1).max(1000).default(3).describe("fires when the window's error rate exceeds this multiple of the baseline's"),
  })
  .describe("first-session errors on one endpoint well above the endpoint's usual rate");

export const sourceSilent = z
  .strictObject({ enabled, after: duration.default('6h').describe('how long a source that received requests must be quiet') })
  .describe('an ingest source gone quiet (`import`, a backfill, is never watched)');

export const alertsDocument = z
  .strictObject({
    slack: z
      .strictObject({ channel: z.string().trim().min(1).max(80).describe('`#name` or a channel id') })
      .optional()
      .describe('where each firing is posted, once (needs SLACK_BOT_TOKEN); absent: no Slack message'),
    webhooks: z.boolean().default(true).describe('send `alert.fired` and `alert.resolved` to the webhook subscriptions that hear them'),
    conversionBelowBand: conversionBelowBand.prefault({}),
    ttfacTail: ttfacTail.prefault({}),
    endpointErrorSpike: endpointErrorSpike.prefault({}),
    sourceSilent: sourceSilent.prefault({}),
  })
  .describe('Onramp alerts: what is watched, when it fires, where it goes');

export type AlertsDocument = z.output<typeof alertsDocument>;

/** The kinds of alert, as the document and the `alerts` table name them. */
export const ALERT_KINDS = ['conversionBelowBand', 'ttfacTail', 'endpointErrorSpike', 'sourceSilent'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
