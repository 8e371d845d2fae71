import type { Client } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type pg from 'pg';
import { z } from 'zod';
import type { PrismaClient } from '../../generated/prisma/client.ts';
import { actOnHandoff } from '../../temporal/act-on-handoff.ts';
import type { SlackGateway } from '../../slack/slack-gateway.ts';
import { parseInteraction, RESOLVE_MODAL, SNOOZE_CHOICES, type ActionInteraction, type OpenNoteInteraction, type OpenResolveInteraction } from '../../slack/slack-interaction.ts';
import { verifySlackSignature } from '../../slack/slack-signature.ts';
import { frictionsOf, unknownFrictionProblem, type ActivePolicy } from '../../rules/escalation-policy-schema.ts';
import type { CaseView } from '../../cases/case-context.ts';
import { errorResponse } from './error-response.ts';

export interface SlackRouteOptions {
  prisma: PrismaClient;
  pool: pg.Pool;
  temporal: Client;
  /** SLACK_SIGNING_SECRET; unset: the endpoint answers 404. */
  signingSecret?: string;
  /** Unset without SLACK_BOT_TOKEN: actions still apply, nothing is answered in Slack. */
  gateway?: SlackGateway;
  currentPolicy: () => Promise<ActivePolicy | undefined>;
}

/** Slack interaction bodies are small; anything bigger is not from Slack. */
const MAX_BODY = 64 * 1024;
/** Seen signatures are kept a little longer than a signature stays fresh (5 minutes). */
const REPLAY_WINDOW = '10 minutes';

/** The refusal of an action on someone else's case, naming the owner (a Slack user is mentioned). */
function ownedAnswer(owner: string, action: string): string {
  const who = /^[UW][A-Z0-9]{2,}$/.test(owner) ? `<@${owner}>` : owner;
  return action === 'claim'
    ? `This case is claimed by ${who}: use *Take over* to make it yours.`
    : `This case is claimed by ${who}: only they may act on it. Use *Take over* to make it yours.`;
}

const ANSWERS = {
  closed: 'This case is closed: nothing changed.',
  not_found: 'Onramp does not know this case.',
  invalid: 'That action does not apply to this case.',
  unavailable: 'Onramp could not reach the journey right now: please try again in a minute.',
  forbidden: 'You are not one of the agents allowed to act on onboarding cases.',
} as const;

/**
 * `POST /slack/interactions`: Slack's buttons and the note and resolve modals. The signature is checked before
 * anything else (and a replayed signature is refused), Slack gets its 200 at once, and the action
 * then goes to the journey; a refusal (closed case, not an allowed agent) is an ephemeral reply.
 */
export const slackRoute: FastifyPluginAsyncZod<SlackRouteOptions> = async (app, options) => {
  const { prisma, pool, temporal, signingSecret, gateway, currentPolicy } = options;
  const inFlight = new Set<Promise<void>>();
  let lastPrune = 0;

  // The raw body is what is signed: keep it as a string here (this plugin's scope only).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: MAX_BODY }, (_request, body, done) => done(null, body));
  app.addHook('onClose', async () => {
    await Promise.allSettled([...inFlight]);
  });

  type Answerable = ActionInteraction | OpenNoteInteraction | OpenResolveInteraction;
  const answer = async (interaction: Answerable, text: string) => {
    if (gateway && interaction.channel) await gateway.ephemeral(interaction.channel, interaction.actor.slackUserId, text);
  };

  const allowed = async (userId: string): Promise<boolean> => {
    const agents = (await currentPolicy())?.document.agents;
    if (!agents || (agents.users.length === 0 && agents.userGroups.length === 0)) return true;
    if (agents.users.includes(userId)) return true;
    return agents.userGroups.length > 0 && gateway !== undefined && (await gateway.isMemberOfAny(userId, agents.userGroups));
  };

  /** Someone else's case, as last recorded: no modal to type a note into that the journey would refuse. */
  const ownedByAnother = async (caseId: string, userId: string): Promise<string | undefined> => {
    if ((await currentPolicy())?.document.agents.anyMayAct) return undefined;
    const row = await prisma.handoff.findUnique({ where: { id: caseId }, select: { owner: true, status: true } });
    return row?.owner && row.owner !== userId && (row.status === 'claimed' || row.status === 'snoozed') ? row.owner : undefined;
  };

  /** The resolve modal, with the case's outcomes (the one picked chosen) and the policy's frictions. */
  const openResolveModal = async (slack: SlackGateway, interaction: OpenResolveInteraction & { triggerId: string }) => {
    const row = await prisma.handoff.findUnique({ where: { id: interaction.caseId }, select: { view: true } });
    if (!row) return answer(interaction, ANSWERS.not_found);
    await slack.openResolveModal(interaction.triggerId, {
      caseId: interaction.caseId,
      outcomes: (row.view as unknown as CaseView).outcomes,
      chosen: interaction.outcome,
      frictions: frictionsOf((await currentPolicy())?.document),
      origin: { channel: interaction.channel, messageTs: interaction.messageTs },
    });
  };

  const carryOut = async (picked: Answerable) => {
    if (!(await allowed(picked.actor.slackUserId))) return answer(picked, ANSWERS.forbidden);
    if (picked.kind === 'open_note' || picked.kind === 'open_resolve') {
      const owner = await ownedByAnother(picked.caseId, picked.actor.slackUserId);
      if (owner) return answer(picked, ownedAnswer(owner, picked.kind === 'open_note' ? 'note' : 'resolve'));
      if (picked.kind === 'open_note') {
        if (gateway) await gateway.openNoteModal(picked.triggerId, picked.caseId, { channel: picked.channel, messageTs: picked.messageTs });
        return;
      }
      if (gateway && picked.triggerId) return openResolveModal(gateway, { ...picked, triggerId: picked.triggerId });
    }
    // A pick without a modal to open (no bot token to open one with) resolves with the outcome alone.
    const interaction: ActionInteraction = picked.kind === 'open_resolve' ? { ...picked, kind: 'action', action: 'resolve' } : picked;
    const anyMayAct = (await currentPolicy())?.document.agents.anyMayAct ?? false;
    const outcome = await actOnHandoff(temporal, prisma, {
      caseId: interaction.caseId,
      action: interaction.action,
      actor: interaction.actor.slackUserId,
      ...(interaction.takeOver ? { takeOver: true } : {}),
      ...(anyMayAct ? { bypassOwner: 'policy' as const } : {}),
      ...(interaction.note ? { note: interaction.note } : {}),
      ...(interaction.snoozeFor ? { snoozeMs: SNOOZE_CHOICES[interaction.snoozeFor] } : {}),
      ...(interaction.outcome ? { outcome: interaction.outcome } : {}),
      ...(interaction.friction ? { friction: interaction.friction } : {}),
    });
    if (!outcome.ok)
      await answer(
        interaction,
        outcome.code === 'owned' ? ownedAnswer(outcome.owner!, interaction.action) : `${ANSWERS[outcome.code]}${outcome.code === 'invalid' ? ` (${outcome.message})` : ''}`,
      );
  };

  app.post(
    '/slack/interactions',
    {
      schema: {
        summary: "Slack's interactivity endpoint (buttons, note and resolve modals); signed by Slack",
        response: { 200: z.unknown(), 400: errorResponse, 401: errorResponse, 404: errorResponse },
      },
    },
    async (request, reply) => {
      if (!signingSecret) return reply.code(404).send({ errors: [{ path: '', message: 'Slack is not configured here (SLACK_SIGNING_SECRET is unset)' }] });
      const raw = typeof request.body === 'string' ? request.body : '';
      const check = verifySlackSignature({ signingSecret, timestamp: request.headers['x-slack-request-timestamp'], signature: request.headers['x-slack-signature'], rawBody: raw });
      if (!check.ok) return reply.code(401).send({ errors: [{ path: 'x-slack-signature', message: `${check.reason} signature` }] });
      const signature = String(request.headers['x-slack-signature']);
      const fresh = await pool.query('INSERT INTO slack_requests (signature) VALUES ($1) ON CONFLICT (signature) DO NOTHING RETURNING signature', [signature]);
      if (fresh.rowCount === 0) return reply.code(401).send({ errors: [{ path: 'x-slack-signature', message: 'replayed request' }] });
      if (Date.now() - lastPrune > 60_000) {
        lastPrune = Date.now();
        await pool.query(`DELETE FROM slack_requests WHERE received_at < now() - interval '${REPLAY_WINDOW}'`);
      }

      const payload = new URLSearchParams(raw).get('payload');
      if (payload === null) return reply.code(400).send({ errors: [{ path: 'payload', message: 'missing the payload form field' }] });
      const interaction = parseInteraction(payload);
      if (interaction.kind === 'error') {
        if (interaction.viewErrors) return reply.code(200).send({ response_action: 'errors', errors: interaction.viewErrors });
        return reply.code(400).send({ errors: [{ path: `payload.${interaction.path}`, message: interaction.message }] });
      }
      if (interaction.kind === 'action' && interaction.friction !== undefined) {
        // Checked before Slack's answer: the modal shows the error, and nothing is stored.
        const unknown = unknownFrictionProblem(frictionsOf((await currentPolicy())?.document), interaction.friction);
        if (unknown) return reply.code(200).send({ response_action: 'errors', errors: { [RESOLVE_MODAL.friction.blockId]: unknown } });
      }
      if (interaction.kind !== 'ignored') {
        // Acknowledge now (Slack wants it within 3 s); the journey takes the action after.
        const work = carryOut(interaction)
          .catch((error: unknown) => request.log.error({ err: error, caseId: interaction.caseId }, 'slack interaction failed'))
          .finally(() => inFlight.delete(work));
        inFlight.add(work);
      }
      return reply.code(200).send('');
    },
  );
};
