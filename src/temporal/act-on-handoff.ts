import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { storeNote } from '../cases/case-notes.ts';
import { actOnJourneyCase, type CaseActionOutcome } from './journey-client.ts';
import type { HandoffActionInput } from '../../workflows/journey-messages.ts';

/**
 * Applies an agent's action to a case through the journey's update handler, which rejects it
 * (not found, closed, invalid) before it touches the journey. The same request id (Slack's click,
 * an Idempotency-Key header) is applied once. A note's text is stored here, in PostgreSQL: the
 * journey gets its id (personal data stays out of the workflow's history). A resolve's friction,
 * checked against the policy by the caller, goes with the action: an id from a list, no personal data.
 */
export async function actOnHandoff(temporal: Client, prisma: PrismaClient, input: HandoffActionInput, requestId?: string): Promise<CaseActionOutcome> {
  const row = await prisma.handoff.findUnique({ where: { id: input.caseId }, select: { developerId: true } });
  if (!row) return { ok: false, code: 'not_found', message: `no case ${input.caseId}` };
  const { note, ...action } = input;
  const noteId = note?.trim()
    ? await storeNote(prisma, { caseId: input.caseId, developerId: row.developerId, author: input.actor, text: note, ...(requestId ? { requestId } : {}) })
    : undefined;
  const outcome = await actOnJourneyCase(temporal, row.developerId, noteId ? { ...action, noteId } : input, requestId);
  // A note the journey did not take is no one's: gone with the refusal (a retry stores it again).
  if (noteId && !outcome.ok) await prisma.handoffNote.deleteMany({ where: { id: noteId } });
  return outcome;
}
