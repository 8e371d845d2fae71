import { z } from 'zod';
import { stageId } from '../funnel/funnel-schema.ts';
import { compileOfficeHours, type OfficeHours } from '../journey/business-time.ts';
import { duration } from './duration-schema.ts';
import { riskThreshold } from './rules-schema.ts';

/**
 * When automation hands a developer to a person, where the case is posted, and the SLAs that
 * escalate it further (config/escalation.yaml, `PUT /v1/escalation-policy`): validated by this one
 * schema, versioned and audited like the nudge rules.
 */

const id = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be an id: lower-case letters, digits and dashes');

/**
 * A stall: reached `since`, and not `until` (or any later stage) within `after`. Both are stages of
 * the funnel in force, `until` after `since` in it: checked against that funnel when the policy or
 * the funnel is applied (src/funnel/funnel-references.ts), not here.
 */
export const stallCriterion = z.strictObject({
  id: id.describe('Stable name; the case records it (criterion `stall:<id>`)'),
  since: stageId.describe('The stage the developer reached…'),
  until: stageId.describe('…without reaching this one (or a later one in the funnel)…'),
  after: duration.describe('…within this long'),
  organizationAfter: duration.optional().describe('The same for organization accounts (sooner, usually)'),
  risk: z
    .strictObject({
      above: riskThreshold.shape.above,
      notBefore: duration.optional().describe('Not sooner than this after reaching `since` (default: at once)'),
    })
    .optional()
    .describe("Sooner, while still in `since`: once the developer's stagnation risk in it is above `above` (`after` still applies as the latest)"),
});

const toggle = z.strictObject({ enabled: z.boolean().default(true) });

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Office hours whose parts have the types compileOfficeHours reads (their formats it checks itself). */
function hasOfficeHoursShape(value: unknown): value is OfficeHours {
  if (!isRecord(value) || typeof value.timeZone !== 'string' || !isRecord(value.hours)) return false;
  const { hours, holidays } = value;
  return Object.values(hours).every((range) => typeof range === 'string') && (holidays === undefined || (Array.isArray(holidays) && holidays.every((h) => typeof h === 'string')));
}

/**
 * When SLA clocks run: local hours per weekday in a time zone, and holidays. Checked whole by
 * compileOfficeHours (the one parser the journey uses), whose findings carry their field's path.
 */
export const officeHours = z
  .strictObject({
    timeZone: z.string().describe('IANA time zone the hours and holidays are in, e.g. Europe/Paris'),
    hours: z
      .record(
        z.string().regex(/^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?$/, 'must be a day (mon … sun) or a day range (mon-fri)'),
        z.string().regex(/^\d{2}:\d{2}-\d{2}:\d{2}(, ?\d{2}:\d{2}-\d{2}:\d{2})*$/, 'must be HH:MM-HH:MM (several ranges separated by commas)'),
      )
      .describe('Open hours, local wall-clock: a day or day range → "09:00-17:00" (or "09:00-12:00, 13:00-17:00"); days not given are closed'),
    holidays: z
      .array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date (YYYY-MM-DD)'))
      .optional()
      .describe('Local dates with no open hours'),
  })
  .superRefine(
    (value, ctx) => {
      const compiled = compileOfficeHours(value);
      if (!('problems' in compiled)) return;
      // A field whose shape zod already refused (a malformed range) gets that one message.
      const refused = new Set(ctx.issues.map((issue) => (issue.path ?? []).join('.')));
      for (const problem of compiled.problems) {
        if (!refused.has(problem.path.join('.'))) ctx.addIssue({ code: 'custom', path: problem.path, message: problem.message });
      }
    },
    // Alongside the shape's errors (every error at once), whenever the parts it reads have their types.
    { when: ({ value }) => hasOfficeHoursShape(value) },
  )
  .describe('SLA clocks run only within these hours (absent: around the clock)');

/**
 * A friction agents may record when they resolve a case: what got in the developer's way, as
 * people who read the metrics group it. An id, or an id with the label the Slack menu and the
 * dashboard show (the id humanised when it has none).
 */
export const frictionId = z
  .string()
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'must be an id: lower-case letters, digits, `_` and `-`')
  .describe('Stable name; resolved cases and the friction metrics record it');
export const friction = z.union([
  frictionId,
  z.strictObject({ id: frictionId, label: z.string().min(1).max(75).describe('How people see it (a Slack menu option: at most 75 characters)') }),
]);

export const DEFAULT_FRICTIONS = ['authentication_confusion', 'missing_docs', 'rate_limits', { id: 'sdk_gap', label: 'SDK gap' }, 'not_a_fit'];

/** A Slack channel (id like C0123 or a #name) and who to mention there. */
export const escalationLevel = z.strictObject({
  channel: z
    .string()
    .regex(/^(#[a-z0-9][a-z0-9_-]*|[CG][A-Z0-9]{2,})$/, 'must be a channel id (C0123ABC) or a #name')
    .describe('Where the case is posted at this level'),
  mention: z
    .array(z.string().regex(/^[SUW][A-Z0-9]{2,}$/, 'must be a Slack user-group id (S…) or user id (U…/W…)'))
    .optional()
    .describe('User groups (S…) or users (U…) mentioned in the post'),
  officeHours: officeHours.optional().describe("This level's office hours, instead of the policy's"),
});

export const escalationPolicyDocument = z
  .strictObject({
    criteria: z
      .strictObject({
        stalls: z
          .array(stallCriterion)
          .default([
            { id: 'no-first-call', since: 'credential_provisioned', until: 'first_api_call', after: '7d', organizationAfter: '3d' },
            { id: 'not-active', since: 'first_api_call', until: 'active_integration', after: '14d', organizationAfter: '7d' },
            { id: 'not-live', since: 'active_integration', until: 'production_deployment', after: '30d', organizationAfter: '14d' },
          ])
          .describe('Stalls beyond a threshold, per stage'),
        supportTicket: toggle.prefault({}).describe('A support ticket (support.ticket_created) escalates'),
        errorBurstAfterNudge: toggle.prefault({}).describe('Errors that go on after their burst was nudged escalate'),
        noEmailEngagement: toggle.prefault({}).describe('A nudge held back because email is not reaching the developer (segment "none") escalates'),
      })
      .prefault({})
      .describe('What hands a developer to a person'),
    levels: z
      .array(escalationLevel)
      .min(1)
      .default([{ channel: '#onboarding-help' }, { channel: '#onboarding-escalations', mention: ['S0ONBOARDING'] }])
      .describe('Level 1 first; a breached SLA moves the case one level up, to the last'),
    officeHours: officeHours.optional().describe('When SLA clocks run (absent: around the clock); a level may have its own'),
    claimSla: duration.default('4h').describe('Unclaimed this long after a post: escalate to the next level'),
    resolutionSla: duration.default('2d').describe('Not resolved this long after escalation: marked breached and escalated'),
    outcomes: z.array(id).min(1).default(['unblocked', 'not-a-fit', 'bug-filed', 'no-response']).describe('What "Resolve" may record'),
    stopNudgesOn: z.array(id).default(['not-a-fit']).describe('Outcomes after which no automated nudge is sent again'),
    frictions: z
      .array(friction)
      .max(100)
      .default(DEFAULT_FRICTIONS)
      .describe('What "Resolve" may record as the friction behind the case (optional for the agent); the friction metrics count them'),
    privacy: z
      .strictObject({ showEmail: z.boolean().default(false).describe('false: the email is masked in Slack (j***@example.com)') })
      .prefault({})
      .describe('What Slack posts show of the developer'),
    agents: z
      .strictObject({
        users: z
          .array(z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id (U…/W…)'))
          .default([])
          .describe('Slack users who may act on cases'),
        userGroups: z
          .array(z.string().regex(/^S[A-Z0-9]{2,}$/, 'must be a Slack user-group id (S…)'))
          .default([])
          .describe('Slack user groups whose members may act'),
        anyMayAct: z.boolean().default(false).describe('true: any agent may note, snooze, return or resolve a case someone else claimed (taking it over stays explicit)'),
      })
      .prefault({})
      .describe('Who may act: from Slack (users and groups both empty: anyone who sees the message), and on whose cases'),
  })
  .superRefine((doc, ctx) => {
    doc.stopNudgesOn.forEach((outcome, index) => {
      if (!doc.outcomes.includes(outcome)) ctx.addIssue({ code: 'custom', path: ['stopNudgesOn', index], message: `"${outcome}" is not one of the outcomes` });
    });
    const frictions = new Set<string>();
    doc.frictions.forEach((f, index) => {
      const fid = typeof f === 'string' ? f : f.id;
      if (frictions.has(fid)) ctx.addIssue({ code: 'custom', path: ['frictions', index], message: `duplicate friction "${fid}"` });
      frictions.add(fid);
    });
    const seen = new Set<string>();
    doc.criteria.stalls.forEach((stall, index) => {
      if (seen.has(stall.id)) ctx.addIssue({ code: 'custom', path: ['criteria', 'stalls', index, 'id'], message: `duplicate stall id "${stall.id}"` });
      seen.add(stall.id);
    });
  })
  .describe('Onramp escalation policy');

export type EscalationPolicyDocument = z.output<typeof escalationPolicyDocument>;

/** The stall criteria in force before any policy version: the defaults. */
export const DEFAULT_STALLS = escalationPolicyDocument.parse({}).criteria.stalls;
export type StallCriterion = z.output<typeof stallCriterion>;
export type EscalationLevel = z.output<typeof escalationLevel>;

export interface Friction {
  id: string;
  label: string;
}

/**
 * The frictions of the policy in force, each with its label (the id humanised when it has none:
 * `missing_docs` → "Missing docs"). Versions stored before policies had frictions (stored documents
 * are not parsed again), and no version at all, have the default list.
 */
export function frictionsOf(doc: Partial<Pick<EscalationPolicyDocument, 'frictions'>> | undefined): Friction[] {
  return (doc?.frictions ?? DEFAULT_FRICTIONS).map((f) => (typeof f === 'string' ? { id: f, label: humanisedFriction(f) } : f));
}

/** Why `friction` is refused: not one of the policy's frictions (undefined: it is one). */
export function unknownFrictionProblem(frictions: readonly Friction[], friction: string): string | undefined {
  return frictions.some((f) => f.id === friction) ? undefined : `"${friction}" is not one of the escalation policy's frictions: ${frictions.map((f) => f.id).join(', ')}`;
}

export function humanisedFriction(fid: string): string {
  const words = fid.replaceAll(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A policy version as the engine sees it. */
export interface ActivePolicy {
  version: number;
  document: EscalationPolicyDocument;
}
