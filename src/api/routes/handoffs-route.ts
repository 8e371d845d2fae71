import type { Client } from '@temporalio/client';
import type pg from 'pg';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { actOnHandoff } from '../../temporal/act-on-handoff.ts';
import { journeyCaseId } from '../../cases/case-id.ts';
import { duration } from '../../rules/duration-schema.ts';
import { durationMs } from '../../rules/duration.ts';
import { frictionId, unknownFrictionProblem, type Friction } from '../../rules/escalation-policy-schema.ts';
import { bearerAuth, presentedKeyIn, presentedStoredKey, type AcceptedKeys } from '../auth.ts';
import { gatherCaseSummaries, gatherWholeCase } from '../../cases/gather-case-context.ts';
import type { ReadFunnelInForce } from '../../funnel/funnel-in-force.ts';
import {
  CASE_STATUSES,
  HANDOFF_ORDERS,
  RISK_ORDERED_STATUSES,
  decodeCursor,
  handoffCase,
  handoffWithLog,
  listHandoffs,
  presentedCase,
  readDeveloperHandoffs,
  readHandoff,
  type ReadRisks,
  summarizedCase,
  wholeCase,
} from '../read-handoffs.ts';
import { errorResponse } from './error-response.ts';

export interface HandoffsRouteOptions {
  prisma: PrismaClient;
  pool: pg.Pool;
  temporal: Client;
  funnel: ReadFunnelInForce;
  /** Developers' stagnation risk now: each case's `summary.risk`, and `order=risk`. */
  risks: ReadRisks;
  /** The escalation policy in force: its `privacy.showEmail` unmasks the contact, as in Slack. */
  showEmail: () => Promise<boolean>;
  /** The policy in force lets any agent act on a case someone else claimed (`agents.anyMayAct`). */
  anyAgentMayAct: () => Promise<boolean>;
  /** The policy in force's frictions: what a resolve may record. */
  frictions: () => Promise<Friction[]>;
  /** Base of the journey link; unset: the address the request came to. */
  publicUrl?: string;
  /** Agent keys (shared, personal) and admin keys: list cases and act on them. */
  agentKeys: AcceptedKeys;
  /** Among those, the admin keys: they act on anyone's case, logged as `admin (<actor>)`. */
  adminKeys: readonly string[];
  /** The live personal agent key of a digest, if it is one: its `label` (the person's name) is who acts. */
  findAgentKey: (digestHex: string) => Promise<{ label: string } | undefined>;
  /** Keys that may read one developer's cases (the journey's readers, and agents). */
  readKeys: readonly string[] | AcceptedKeys;
}

const actor = z
  .string()
  .max(200)
  .regex(/\S/, 'must not be blank')
  .trim()
  .optional()
  .describe(
    "who acts (a name, an email, a Slack user id): required with the shared agent key or the admin key; with a personal agent key it is the key's name (leave it out, or give that name)",
  );
const MAX_SNOOZE = '7d';

/** One body per action; the field that is wrong is named. */
export const actionBody = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('claim'),
    actor,
    takeOver: z.boolean().optional().describe('true: take over a case someone else claimed (without it, such a claim is a 409 naming the owner)'),
  }),
  z.object({ action: z.literal('note'), actor, note: z.string().max(2000).regex(/\S/, 'must not be blank').trim() }),
  z.object({
    action: z.literal('snooze'),
    actor,
    // Not a duration at all: `duration` says so (the refinement runs anyway: ms would throw on "").
    for: duration
      .refine((v) => !((durationMs(v) ?? 0) > durationMs(MAX_SNOOZE)), { message: `at most ${MAX_SNOOZE}`, when: (payload) => payload.issues.length === 0 })
      .describe('how long, e.g. "1h" or "1d"'),
  }),
  z.object({ action: z.literal('return'), actor, note: z.string().max(2000).regex(/\S/, 'must not be blank').trim().optional() }),
  z.object({
    action: z.literal('resolve'),
    actor,
    outcome: z.string().min(1).max(100).describe("one of the case's `outcomes`"),
    friction: frictionId.optional().describe("what got in the developer's way: one of the escalation policy's `frictions` (GET /v1/handoffs/{id} lists them)"),
    note: z.string().max(2000).regex(/\S/, 'must not be blank').trim().optional(),
  }),
]);

/** A case id in a path: the path-safe form (`dev_42.h1`) or, percent-encoded, the journey's (`dev_42%2Fh1`, links posted to Slack before). */
const caseIdParam = z.object({
  id: z.string().min(1).max(2400).describe('the case id as the API shows it (`dev_42.h1`); the older `dev_42/h1`, percent-encoded, is accepted too'),
});

const noCase = (id: string) => ({ errors: [{ path: 'id', message: `no case ${id}` }] });

const STATUS_OF_PROBLEM = { not_found: 404, closed: 409, owned: 409, invalid: 400, unavailable: 503 } as const;

/** The field a refusal is about. */
function refusedField(code: keyof typeof STATUS_OF_PROBLEM, action: z.infer<typeof actionBody>['action']): string {
  switch (code) {
    case 'invalid':
      return action === 'resolve' ? 'outcome' : action === 'snooze' ? 'for' : 'note';
    case 'not_found':
      return 'id';
    case 'owned':
      return action === 'claim' ? 'takeOver' : 'actor';
    default:
      return '';
  }
}

/** Who a request acts as: a personal agent key names its person; the shared agent key and the admin key let the body name them. */
type Credential = { credential: 'agent'; actor: string } | { credential: 'shared' | 'admin'; actor: null };

/** The body's `actor` against the credential: the actor to log, or the problem with `actor`. */
function actingActor(who: Credential, given: string | undefined): { actor: string } | { problem: string } {
  if (who.credential === 'agent') {
    if (given !== undefined && given !== who.actor) return { problem: `must be ${JSON.stringify(who.actor)} (the name of your agent key) or left out` };
    return { actor: who.actor };
  }
  if (given === undefined) return { problem: `required with the ${who.credential} key (a personal agent key names who acts: onramp agents create)` };
  // The log says who acted with the admin key, and that it was the admin key.
  return { actor: who.credential === 'admin' ? `admin (${given})` : given };
}

/** Handoff cases without Slack: list (each summarized), read whole (context and log), and act (claim, note, snooze, return, resolve). */
export const handoffsRoute: FastifyPluginAsyncZod<HandoffsRouteOptions> = async (
  app,
  { prisma, pool, temporal, funnel, risks, showEmail, anyAgentMayAct, frictions, publicUrl, agentKeys, adminKeys, findAgentKey, readKeys },
) => {
  const security = [{ bearer: [] }];
  const agentsOnly = bearerAuth(agentKeys);
  const isAdmin = presentedKeyIn(adminKeys);
  const personalKey = presentedStoredKey(findAgentKey);
  /** Run after agentsOnly accepted the key: neither admin nor personal is the shared key. */
  const credentialOf = async (request: FastifyRequest): Promise<Credential> => {
    if (await isAdmin(request)) return { credential: 'admin', actor: null };
    const personal = await personalKey(request);
    return personal ? { credential: 'agent', actor: personal.label } : { credential: 'shared', actor: null };
  };

  app.get(
    '/v1/agents/me',
    {
      onRequest: agentsOnly,
      schema: {
        summary: 'Who the presented key acts as: a personal agent key names its person',
        description: '`actor` is null for the shared agent key and the admin key: their requests name who acts in `actor`.',
        security,
        response: {
          200: z.object({
            actor: z.string().nullable().describe("the personal agent key's name"),
            credential: z.enum(['agent', 'shared', 'admin']).describe('agent: a personal agent key; shared: ONRAMP_AGENT_KEY; admin: ONRAMP_ADMIN_KEY'),
          }),
          401: errorResponse,
        },
      },
    },
    async (request) => credentialOf(request),
  );

  app.get(
    '/v1/handoffs',
    {
      onRequest: agentsOnly,
      schema: {
        summary: 'Handoff cases, newest first or (the queue) by next deadline or by stagnation risk',
        description: "Each with a compact `summary` of its context: stage, stuck for, the first diagnosis line, SLA state, the developer's stagnation risk.",
        security,
        querystring: z.object({
          status: z
            .enum([...CASE_STATUSES, 'active'])
            .optional()
            .describe('one status, or `active`: every case still open (open, claimed, snoozed)'),
          developer: z.string().min(1).max(256).optional(),
          owner: z.string().min(1).max(200).optional().describe('cases this agent owns'),
          level: z.coerce.number().int().min(1).max(100).optional(),
          criterion: z.string().min(1).max(200).optional().describe('e.g. `support_ticket`, `stall:first_api_call`'),
          breached: z
            .enum(['true', 'false'])
            .transform((v) => v === 'true')
            .optional()
            .describe('true: only cases with a breached SLA; false: only cases without'),
          order: z
            .enum(HANDOFF_ORDERS)
            .default('newest')
            .describe(
              "`newest` (opened, newest first), `due` (the queue: next deadline first, `summary.sla.dueAt`; closed cases last) or `risk` (the developer's stagnation risk now, highest first, unavailable last; with `status` `active`, `open`, `claimed` or `snoozed`)",
            ),
          limit: z.coerce.number().int().min(1).max(200).default(50),
          cursor: z
            .string()
            .max(512)
            .refine((c) => decodeCursor(c) !== undefined, 'not a cursor from a previous page')
            .optional(),
        }),
        response: { 200: z.object({ handoffs: z.array(summarizedCase), nextCursor: z.string().nullable() }), 400: errorResponse, 401: errorResponse },
      },
    },
    async (request, reply) => {
      const { developer, ...filter } = request.query;
      if (filter.order === 'risk' && !(RISK_ORDERED_STATUSES as readonly string[]).includes(filter.status ?? ''))
        return reply.code(400).send({ errors: [{ path: 'order', message: `order=risk sorts the queue: give status ${RISK_ORDERED_STATUSES.join(', ')}` }] });
      const page = await listHandoffs(prisma, { ...filter, developerId: developer }, risks);
      const now = Date.now();
      const [summaries, riskOf] = await Promise.all([
        gatherCaseSummaries(pool, page.handoffs, { now, funnelInForce: funnel }),
        risks([...new Set(page.handoffs.map((c) => c.developerId))], new Date(now)),
      ]);
      return { ...page, handoffs: page.handoffs.map((c, i) => ({ ...c, summary: { ...summaries[i]!, risk: riskOf.get(c.developerId) ?? null } })) };
    },
  );

  app.get(
    '/v1/handoffs/:id',
    {
      onRequest: agentsOnly,
      schema: {
        summary: 'One case with its whole context and its log',
        description:
          'The `context` is what the Slack post shows, from the same builder; the email is masked unless the policy in force shows it. `frictions`: what a resolve may record (the policy in force).',
        security,
        params: caseIdParam,
        response: { 200: wholeCase, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      const caseId = journeyCaseId(request.params.id);
      const found = caseId === undefined ? undefined : await readHandoff(prisma, caseId);
      if (!found) return reply.code(404).send(noCase(request.params.id));
      const context = await gatherWholeCase(pool, found, {
        showEmail: await showEmail(),
        publicUrl: publicUrl ?? `${request.protocol}://${request.host}`,
        now: Date.now(),
        funnelInForce: funnel,
      });
      return { ...found, context, frictions: await frictions() };
    },
  );

  app.post(
    '/v1/handoffs/:id/actions',
    {
      onRequest: agentsOnly,
      schema: {
        summary: 'Act on a case: claim, note, snooze, return to automation, resolve',
        description:
          'An `Idempotency-Key` header makes a retried request apply once. A claim by the current owner changes nothing (`changed: false`). ' +
          'A case someone else claimed is refused (409 naming the owner): a claim needs `takeOver: true`, the other actions the owner, ' +
          'unless the policy lets any agent act (`agents.anyMayAct`). The admin key acts on any case, logged as `admin (<actor>)`. ' +
          "With a personal agent key the key's name is who acts (`actor` may be left out; another name is a 400).",
        security,
        params: caseIdParam,
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }),
        body: actionBody,
        response: {
          200: z.object({ changed: z.boolean(), case: handoffCase }),
          400: errorResponse,
          401: errorResponse,
          404: errorResponse,
          409: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const who = await credentialOf(request);
      const acting = actingActor(who, body.actor);
      if ('problem' in acting) return reply.code(400).send({ errors: [{ path: 'actor', message: acting.problem }] });
      const caseId = journeyCaseId(request.params.id);
      if (caseId === undefined) return reply.code(404).send(noCase(request.params.id));
      if (body.action === 'resolve' && body.friction !== undefined) {
        const unknown = unknownFrictionProblem(await frictions(), body.friction);
        if (unknown) return reply.code(400).send({ errors: [{ path: 'friction', message: unknown }] });
      }
      const bypassOwner = who.credential === 'admin' ? 'admin' : (await anyAgentMayAct()) ? 'policy' : undefined;
      const outcome = await actOnHandoff(
        temporal,
        prisma,
        {
          caseId,
          action: body.action,
          actor: acting.actor,
          ...(bypassOwner ? { bypassOwner } : {}),
          ...(body.action === 'claim' && body.takeOver ? { takeOver: true } : {}),
          ...('note' in body && body.note ? { note: body.note } : {}),
          ...(body.action === 'snooze' ? { snoozeMs: durationMs(body.for) } : {}),
          ...(body.action === 'resolve' ? { outcome: body.outcome, ...(body.friction ? { friction: body.friction } : {}) } : {}),
        },
        request.headers['idempotency-key'],
      );
      if (outcome.ok) return { ...outcome.result, case: presentedCase(outcome.result.case) };
      const path = refusedField(outcome.code, body.action);
      if (outcome.code === 'unavailable') reply.header('retry-after', '5');
      return reply.code(STATUS_OF_PROBLEM[outcome.code]).send({ errors: [{ path, message: outcome.message }] });
    },
  );

  app.get(
    '/v1/developers/:id/handoffs',
    {
      onRequest: bearerAuth(readKeys),
      schema: {
        summary: "A developer's handoff cases, oldest first, each with its log",
        description: 'Readable with an ingest key: no `context`, so no contact details (read a case whole with an agent key).',
        params: z.object({ id: z.string().min(1).max(256) }),
        response: { 200: z.object({ developerId: z.string(), handoffs: z.array(handoffWithLog) }), 401: errorResponse },
      },
    },
    async (request) => ({ developerId: request.params.id, handoffs: await readDeveloperHandoffs(prisma, request.params.id) }),
  );
};
