import { z } from 'zod';
import { stageId } from '../funnel/funnel-schema.ts';
import { EVENT_TYPE_MESSAGE, EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../events/event-type.ts';
import { duration } from './duration-schema.ts';

/**
 * The nudge rules a growth team owns (config/rules.yaml, `PUT /v1/rules`): the one schema that
 * validates the file, types the engine and is published as JSON Schema for editors.
 */

import { durationMs } from './duration.ts';

export { durationMs };

/** A wall-clock time of day, `HH:MM`, 24-hour. */
const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day like "21:00"');

export const ENGAGEMENT_SEGMENTS = ['new', 'none', 'medium', 'high'] as const;
export const ACQUISITION_CHANNELS = ['organic_search', 'listing_site', 'paid', 'referral', 'direct', 'other'] as const;
export const ACCOUNT_TYPES = ['individual', 'organization'] as const;
/** Error bursts the ingest side detects in a developer's first session, one signal each. */
export const ERROR_BURSTS = ['unauthorized_burst', 'bad_request_burst', 'rate_limited_burst'] as const;

export type EngagementSegment = (typeof ENGAGEMENT_SEGMENTS)[number];
export type ErrorBurst = (typeof ERROR_BURSTS)[number];

/** Which developers a rule (or a template variant) applies to; an omitted dimension matches all. */
export const segmentFilter = z
  .strictObject({
    engagement: z
      .array(z.enum(ENGAGEMENT_SEGMENTS))
      .min(1)
      .optional()
      .describe('Email engagement: new (fewer sends than the no-engagement threshold, nothing opened), none, medium, high'),
    channel: z.array(z.enum(ACQUISITION_CHANNELS)).min(1).optional().describe('Acquisition channel from the signup'),
    accountType: z.array(z.enum(ACCOUNT_TYPES)).min(1).optional(),
  })
  .describe('Matches a developer when every dimension given contains theirs');

const templateName = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a template name: lower-case letters, digits and dashes');

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be an id: lower-case letters, digits and dashes');

/** One arm of an experiment: a template and/or a delay, drawn with a share of `weight`. */
export const experimentVariant = z.strictObject({
  id: slug.describe('Unique within the experiment; decisions and metrics record it'),
  send: templateName.optional().describe("Template in templates/<name>/ (omitted: the experiment's `send`)"),
  after: duration.optional().describe("Wait this long instead of the rule's `when.after` (`when.absentAfter`; a signal rule: after the burst) before sending"),
  weight: z.number().positive('must be positive').default(1).describe('Relative share of the developers drawn (not in the holdout); default 1'),
});

/**
 * Adaptive allocation (docs/concepts/nudges.md#adaptive-allocation): once every variant has
 * `minPerVariant` measured developers, each new developer's draw uses weights from each variant's
 * probability of being the best, never below `floor`, recomputed every `every`.
 */
export const adaptiveAllocation = z.strictObject({
  floor: z.number().gt(0, 'must be above 0').max(0.5, 'must be at most 0.5').describe('The least share of new developers any variant keeps (0–0.5)'),
  every: duration
    .refine((value) => !(value !== '' && durationMs(value) < 3_600_000), 'must be at least 1h') // not a duration at all: the duration check says so
    .default('1d')
    .describe('How often the allocation is recomputed (default 1d)'),
  minPerVariant: z.int().min(1).default(50).describe("Measured developers (window closed) every variant needs before the weights move; until then the document's weights stand"),
});

/**
 * A randomised test between variants: each developer not in the holdout is assigned one, for good,
 * by a hash of their id and the experiment id (weights as shares); the metrics compare each
 * variant's conversion to `goal` within `window` with the holdout's (docs/concepts/nudges.md#experiments).
 */
export const experiment = z
  .strictObject({
    id: slug.describe('Unique across the rules; stable: renaming it restarts the assignment'),
    goal: stageId.describe('The stage whose reaching counts as converted, a stage of the funnel in force'),
    window: duration.describe('How long after assignment reaching `goal` still counts'),
    send: templateName.optional().describe('Template for the variants that name none'),
    variants: z.array(experimentVariant).min(2, 'an experiment needs at least two variants').describe('The arms, in order (the first is the baseline when there is no holdout)'),
    adaptive: adaptiveAllocation.optional().describe('Shift new developers toward the better variant as the data comes in (Thompson sampling); omitted: the weights stand'),
  })
  .superRefine((exp, ctx) => {
    if (exp.adaptive && exp.adaptive.floor * exp.variants.length > 1) {
      ctx.addIssue({ code: 'custom', path: ['adaptive', 'floor'], message: `a floor of ${exp.adaptive.floor} for each of ${exp.variants.length} variants exceeds the whole` });
    }
    const seen = new Set<string>();
    exp.variants.forEach((variant, index) => {
      if (seen.has(variant.id)) ctx.addIssue({ code: 'custom', path: ['variants', index, 'id'], message: `duplicate variant id "${variant.id}"` });
      seen.add(variant.id);
      if (variant.send === undefined && exp.send === undefined) {
        ctx.addIssue({ code: 'custom', path: ['variants', index, 'send'], message: 'needs a template: give the variant `send`, or the experiment one' });
      }
    });
  });

/** Send a template (the first variant whose segment matches wins), run an experiment, or escalate to a person. */
const action = z.union([
  z.strictObject({
    send: templateName.describe('Template in templates/<name>/'),
    variants: z
      .array(z.strictObject({ when: segmentFilter, send: templateName }))
      .optional()
      .describe('Templates for particular segments, first match wins; otherwise `send`'),
  }),
  z.strictObject({ experiment: experiment.describe('Test variants (templates and/or delays) against each other and the holdout') }),
  z.strictObject({ escalate: z.strictObject({ reason: z.string().min(1) }).describe('Hand the developer to a person (the handoff policy decides where)') }),
]);

/** An event type a rule may wait for: any but api.request (requests are the funnel's evidence, not the journey's). */
const absentEventType = z
  .string()
  .max(MAX_EVENT_TYPE_LENGTH)
  .regex(EVENT_TYPE_PATTERN, EVENT_TYPE_MESSAGE)
  .refine((type) => type !== 'api.request', 'api.request cannot be awaited: name a stage whose evidence is the requests instead');

/** A stagnation risk threshold (docs/concepts/funnel.md#stagnation-risk): the probability of not reaching the next stage within the stage's window. */
export const riskThreshold = z
  .strictObject({ above: z.number().gt(0, 'must be above 0').lt(1, 'must be below 1').describe('Acts once the risk is above this (0–1)') })
  .describe("The developer's stagnation risk in the stage, from the cohort's own history");

const trigger = z.union([
  z
    .strictObject({
      stage: stageId.describe('The developer is in this stage (their furthest one), a stage of the funnel in force…'),
      after: duration.optional().describe('…and has made no progress for this long since reaching it (with `risk`: at least this long)'),
      risk: riskThreshold.optional().describe('…and their stagnation risk in it is above a threshold'),
    })
    .refine((when) => when.after !== undefined || when.risk !== undefined, { path: ['after'], message: 'is required, unless the rule gives `risk`' }),
  z.strictObject({ signal: z.enum(ERROR_BURSTS).describe('An error burst detected in the first session') }),
  z.strictObject({
    event: absentEventType.describe('An event (built-in or custom) the developer has not sent…'),
    absentAfter: duration.describe('…this long after reaching `since`'),
    since: stageId.optional().describe('The stage from whose reaching the time counts, a stage of the funnel in force (omitted: the first stage the developer reached)'),
  }),
]);

export const nudgeRule = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be an id: lower-case letters, digits and dashes')
    .describe('Unique, stable name of the rule (lower-case letters, digits, dashes); decisions record it'),
  description: z.string().optional().describe('What the rule is for, for people'),
  enabled: z.boolean().default(true).describe('false: the rule is kept but never acts'),
  when: trigger.describe('When the rule fires: a stall in a stage, an error burst, or an event still absent some time after a stage'),
  segments: segmentFilter.optional().describe('Only for these developers (omitted: everyone): every dimension given must contain theirs'),
  action: action.describe('What to do: send a template (or a segment-specific variant), run an experiment between templates and/or delays, or escalate'),
  maxPerDeveloper: z.int().min(1).default(1).describe('How many times this rule may act for one developer'),
});

export const nudgePolicy = z.strictObject({
  frequencyCap: z
    .strictObject({ max: z.int().min(1), per: duration })
    .default({ max: 2, per: '7d' })
    .describe('At most `max` nudges per developer in any window of `per`'),
  quietHours: z
    .strictObject({ start: timeOfDay, end: timeOfDay })
    .default({ start: '21:00', end: '08:00' })
    .describe("No sends between start and end in the developer's time zone (UTC when unknown); sends move to the end"),
  holdoutPercent: z.number().min(0).max(100).default(10).describe('Share of developers, chosen at signup from their id, who get no nudges'),
  noEngagementAfterSends: z.int().min(1).default(3).describe('Sends without a single open that make a developer "none" (email stops)'),
  errorBursts: z
    .strictObject({
      unauthorized: z
        .strictObject({ minCount: z.int().min(1) })
        .default({ minCount: 5 })
        .describe('401s in the first session'),
      badRequest: z
        .strictObject({ minCount: z.int().min(1), minShareOnOneEndpoint: z.number().gt(0).max(1) })
        .default({ minCount: 5, minShareOnOneEndpoint: 0.6 })
        .describe('400s in the first session, concentrated on one endpoint'),
      rateLimited: z
        .strictObject({ minCount: z.int().min(1) })
        .default({ minCount: 3 })
        .describe('429s in the first session'),
      firstSession: duration.default('24h').describe('How long after the first request the first session lasts'),
      continuedWithin: duration
        .default('72h')
        .describe(
          'How long after a burst (its last error) errors of its kind still continue it: as many again (its minCount, 400s on any endpoint) within this time are one more signal, `continued`',
        ),
    })
    .default({ unauthorized: { minCount: 5 }, badRequest: { minCount: 5, minShareOnOneEndpoint: 0.6 }, rateLimited: { minCount: 3 }, firstSession: '24h', continuedWithin: '72h' }),
});

export const rulesDocument = z
  .strictObject({
    policy: nudgePolicy.default(nudgePolicy.parse({})).describe('Limits that apply across all rules'),
    rules: z
      .array(nudgeRule)
      .describe('The nudge rules; ids must be unique')
      .superRefine((rules, ctx) => {
        const seen = new Set<string>();
        const experiments = new Set<string>();
        rules.forEach((rule, index) => {
          if (seen.has(rule.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `duplicate rule id "${rule.id}"` });
          seen.add(rule.id);
          if (!('experiment' in rule.action)) return;
          const { id } = rule.action.experiment;
          // A risk rule acts when the risk crosses, for everyone at once: a variant's own delay has nothing to count from.
          if ('risk' in rule.when && rule.when.risk !== undefined) {
            rule.action.experiment.variants.forEach((variant, v) => {
              if (variant.after !== undefined)
                ctx.addIssue({
                  code: 'custom',
                  path: [index, 'action', 'experiment', 'variants', v, 'after'],
                  message: 'a rule triggered by risk acts when the risk crosses: its variants cannot wait otherwise',
                });
            });
          }
          // Assignment hashes the experiment id: two rules sharing one would draw the same arms.
          if (experiments.has(id)) ctx.addIssue({ code: 'custom', path: [index, 'action', 'experiment', 'id'], message: `duplicate experiment id "${id}"` });
          experiments.add(id);
        });
      }),
  })
  .describe('Onramp nudge rules');

export type NudgeRule = z.output<typeof nudgeRule>;
export type NudgePolicy = z.output<typeof nudgePolicy>;
export type RulesDocument = z.output<typeof rulesDocument>;
export type SegmentFilter = z.output<typeof segmentFilter>;
export type Experiment = z.output<typeof experiment>;
export type ExperimentVariant = z.output<typeof experimentVariant>;
export type AdaptiveAllocation = z.output<typeof adaptiveAllocation>;

/** A rules version as the engine sees it. */
export interface ActiveRules {
  version: number;
  document: RulesDocument;
}
