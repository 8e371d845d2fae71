import { z } from 'zod';
import { EVENT_TYPE_MESSAGE, EVENT_TYPE_PATTERN, MAX_EVENT_TYPE_LENGTH } from '../events/event-type.ts';
import { duration } from '../rules/duration-schema.ts';

/**
 * A product's onboarding funnel (config/funnel.yaml): ordered stages, each reached by the earliest
 * event that matches any of its evidence (by `occurredAt`, ties by the smaller event id). The one
 * schema that validates the file, types the evaluation and is published as JSON Schema for editors.
 */

const MIN_STAGES = 2;
const MAX_STAGES = 20;

/** The stages the metrics measure to: time to first call (`first_call`), the production rate (`production`). */
export const STAGE_ROLES = ['first_call', 'production'] as const;

/** The event type the gateway's requests arrive as: evidence about it is a `request` condition, not an `event`. */
export const API_REQUEST = 'api.request';

export const stageId = z
  .string()
  .max(64)
  .regex(/^[a-z][a-z0-9_]*$/, 'must be a stage id in snake_case: lower-case letters, digits and underscores, starting with a letter')
  .describe('Unique, stable name of the stage (snake_case); transitions and metrics record it');

const eventType = z
  .string()
  .max(MAX_EVENT_TYPE_LENGTH)
  .regex(EVENT_TYPE_PATTERN, EVENT_TYPE_MESSAGE)
  .refine((type) => type !== API_REQUEST, `"${API_REQUEST}" is evidence through a \`request:\` condition (status, endpoint, mode, …), not an \`event:\``)
  .describe('An event type, built-in or your own (`payment.succeeded`)');

const propertyValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

const eventEvidence = z.strictObject({
  event: eventType,
  where: z
    .record(z.string().min(1), z.union([propertyValue, z.array(propertyValue).min(1)]))
    .optional()
    .describe("Conditions on the event's properties, all of which must hold: a value (equal to it) or a list (one of them)"),
});

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const status = z.union([z.enum(STATUS_CLASSES), z.int().min(100).max(599)]);
const method = z
  .string()
  .regex(/^[A-Z]+$/, 'must be an HTTP method in capitals, like "POST"')
  .describe('An HTTP method');
/** An endpoint glob: `*` matches within one path segment, `**` across segments (`/v1/charges/*`, `/v1/**`). */
const endpointGlob = z.string().min(1).max(512).describe('An endpoint glob: `*` matches within a path segment, `**` across segments');

const requestEvidence = z.strictObject({
  request: z
    .strictObject({
      status: z
        .union([status, z.array(status).min(1)])
        .optional()
        .describe('A status class ("2xx") or code (201), or a list of them (one of); omitted: any status'),
      endpoint: z
        .union([endpointGlob, z.array(endpointGlob).min(1)])
        .optional()
        .describe('The endpoint, or one of several (globs); omitted: any endpoint'),
      method: z
        .union([method, z.array(method).min(1)])
        .optional()
        .describe('The method, or one of several; omitted: any method'),
      mode: z.enum(['test', 'live']).optional().describe('Test or live traffic (the key’s mode); omitted: either'),
      exclude: z.array(endpointGlob).min(1).optional().describe('Endpoints that never count, such as a health check (globs)'),
      count: z.int().min(2).optional().describe('A threshold: reached by the request that makes this many matching requests'),
      distinctEndpoints: z.int().min(2).optional().describe('A threshold: reached by the request that makes matching requests to this many endpoints (with `count`: both)'),
      within: duration.optional().describe('The threshold counts only requests at most this long before the one that reaches it (a sliding window); omitted: ever'),
    })
    .refine((r) => r.within === undefined || r.count !== undefined || r.distinctEndpoints !== undefined, {
      message: '`within` needs a threshold: `count` or `distinctEndpoints`',
      path: ['within'],
    })
    .describe('API requests from the gateway (`api.request`): every condition given must hold; without a threshold the first matching request is the evidence'),
});

const stageEvidence = z.union([eventEvidence, requestEvidence]).describe('An event of a type (with conditions on its properties), or API requests with conditions');

const funnelStage = z.strictObject({
  id: stageId,
  label: z.string().min(1).max(100).optional().describe('How people see the stage (dashboard, Slack, CLI, emails); when omitted, the id humanised (first_charge: First charge)'),
  role: z.enum(STAGE_ROLES).optional().describe('first_call: time to first call measures to this stage; production: the production rate does'),
  description: z.string().optional().describe('What reaching the stage means, for people'),
  evidence: z.array(stageEvidence).min(1).describe('What proves the stage: the earliest event matching any of these'),
});

export const funnelDocument = z
  .strictObject({
    stages: z
      .array(funnelStage)
      .min(MIN_STAGES, `a funnel has ${MIN_STAGES} to ${MAX_STAGES} stages`)
      .max(MAX_STAGES, `a funnel has ${MIN_STAGES} to ${MAX_STAGES} stages`)
      .describe('The stages in funnel order'),
  })
  .superRefine((funnel, ctx) => {
    const seen = new Set<string>();
    funnel.stages.forEach((stage, i) => {
      if (seen.has(stage.id)) ctx.addIssue({ code: 'custom', path: ['stages', i, 'id'], message: `duplicate stage id "${stage.id}"` });
      seen.add(stage.id);
    });
    for (const role of STAGE_ROLES) {
      const holders = funnel.stages.flatMap((stage, i) => (stage.role === role ? [i] : []));
      for (const i of holders.slice(1)) {
        ctx.addIssue({ code: 'custom', path: ['stages', i, 'role'], message: `role ${role} is already stage ${funnel.stages[holders[0]!]!.id}'s: one stage per role` });
      }
    }
  })
  .describe('Onramp funnel');

export type FunnelDocument = z.output<typeof funnelDocument>;
export type StageEvidence = z.output<typeof stageEvidence>;
export type RequestEvidence = Extract<StageEvidence, { request: unknown }>['request'];
export type EventEvidence = Extract<StageEvidence, { event: string }>;
