import { z } from 'zod';
import { stageId } from '../funnel/funnel-schema.ts';
import { handoffWithLog } from './read-handoffs.ts';
import { nudgeMessage } from './read-messages.ts';

const stage = stageId;
const instant = z.string().describe('ISO-8601 UTC');

/** A stage of the funnel in force as someone's journey shows it. */
export const stageView = z.object({
  stage,
  label: z.string().describe("the stage's label in the funnel (its id humanised when it has none)"),
  status: z.enum(['reached', 'skipped', 'pending']),
  at: instant.optional().describe('event time of the earliest evidence'),
  causeEventId: z.string().optional(),
  late: z.boolean().optional().describe('evidence arrived after a later stage was reached'),
});

/** GET /v1/developers/:id/journey. */
export const journeyResponse = z.object({
  developerId: z.string(),
  funnelVersion: z.int().describe('the funnel version the journey follows, whose stages these are (the one in force until the journey records a stage)'),
  stage: stage.nullable().describe('the furthest stage reached; never moves backwards'),
  stageAt: instant.nullable(),
  stages: z.array(stageView),
  transitions: z.array(
    z.object({
      from: stage.nullable(),
      to: stage,
      occurredAt: instant,
      recordedAt: instant,
      causeEventId: z.string(),
      machineVersion: z.int(),
    }),
  ),
  running: z.boolean().describe('whether the journey workflow is running in Temporal'),
  warnings: z.array(z.string()).optional(),
  profile: z.object({
    accountType: z.string().nullable(),
    orgId: z.string().nullable(),
    acquisitionChannel: z.string().nullable(),
    timezone: z.string().nullable(),
    signedUpAt: instant.nullable(),
  }),
  requests: z.object({
    total: z.int(),
    ok: z.int(),
    status400: z.int(),
    status401: z.int(),
    status429: z.int(),
    status5xx: z.int(),
    sdk: z.int(),
    raw: z.int(),
    distinctEndpoints: z.int(),
    firstAt: instant.nullable(),
    lastAt: instant.nullable(),
  }),
  emailSuppression: z
    .object({
      reason: z.enum(['hard_bounce', 'complaint']),
      at: instant.describe('when the email provider reported it'),
      provider: z.string().nullable().describe('ses, sendgrid'),
      eventId: z.string().describe('the email.bounced or email.complained event'),
      summary: z.string().describe('e.g. "email does not reach them: hard bounce on 2026-12-09"'),
    })
    .nullable()
    .describe('email does not reach them: the hard bounce or spam complaint that stopped email to this developer (null: none)'),
  pendingSignals: z.int().describe('accepted events whose signals still wait for delivery to the journey'),
  messages: z.array(nudgeMessage).describe('nudge decisions and the emails sent (GET /v1/developers/:id/messages)'),
  handoffs: z.array(handoffWithLog).describe('cases handed to a person, each with its log (GET /v1/developers/:id/handoffs)'),
});

export type JourneyReadModel = z.infer<typeof journeyResponse>;
