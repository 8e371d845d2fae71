import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { PrismaClient } from '../generated/prisma/client.ts';
import { storeNote } from '../cases/case-notes.ts';
import { handoffActionUpdate, journeyWorkflowId, type HandoffActionInput, type HandoffActionResult } from '../../workflows/journey-messages.ts';

export type ActionOutcome =
  | { ok: true; result: HandoffActionResult }
  | { ok: false; code: 'not_found' | 'closed' | 'invalid' | 'unavailable'; message: string };

/** How long an action waits for the journey to take it (a worker must be running). */
const UPDATE_DEADLINE_MS = 10_000;

/**
 * Applies an agent's action to a case through the journey's update handler, which rejects it
 * (not found, closed, invalid) before it touches the journey. The same request id (Slack's click,
 * an Idempotency-Key header) is applied once. A note's text is stored here, in PostgreSQL: the
 * journey gets its id (personal data stays out of the workflow's history).
 */
export async function actOnHandoff(temporal: Client, prisma: PrismaClient, input: HandoffActionInput, requestId?: string): Promise<ActionOutcome> {
  const row = await prisma.handoff.findUnique({ where: { id: input.caseId }, select: { developerId: true } });
  if (!row) return { ok: false, code: 'not_found', message: `no case ${input.caseId}` };
  const { note, ...action } = input;
  const noteId = note?.trim() ? await storeNote(prisma, { caseId: input.caseId, developerId: row.developerId, author: input.actor, text: note, ...(requestId ? { requestId } : {}) }) : undefined;
  const outcome = await update(temporal, row.developerId, noteId ? { ...action, noteId } : input, requestId);
  // A note the journey did not take is no one's: gone with the refusal (a retry stores it again).
  if (noteId && !outcome.ok) await prisma.handoffNote.deleteMany({ where: { id: noteId } });
  return outcome;
}

async function update(temporal: Client, developerId: string, input: HandoffActionInput, requestId: string | undefined): Promise<ActionOutcome> {
  const handle = temporal.workflow.getHandle(journeyWorkflowId(developerId));
  try {
    const result = await temporal.connection.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () =>
      handle.executeUpdate(handoffActionUpdate, { args: [input], ...(requestId ? { updateId: `${input.caseId}:${requestId}`.slice(0, 250) } : {}) }),
    );
    return { ok: true, result };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === 'HandoffActionRejected') {
      const code = error.cause.details?.[0];
      return { ok: false, code: code === 'closed' || code === 'not_found' ? code : 'invalid', message: error.cause.message };
    }
    if (error instanceof WorkflowNotFoundError) return { ok: false, code: 'closed', message: `the journey of case ${input.caseId} has ended` };
    return { ok: false, code: 'unavailable', message: `the journey could not take the action now: ${error instanceof Error ? error.message : String(error)}` };
  }
}
