import type pg from 'pg';
import type { CaseView } from '../cases/case-context.ts';
import { buildStepReply } from '../slack/case-message.ts';
import { gatherCaseContext } from '../cases/gather-case-context.ts';
import { refreshCaseMessages } from '../slack/refresh-case-messages.ts';
import type { SlackGateway } from '../slack/slack-gateway.ts';
import type { ReadFunnelInForce } from '../funnel/funnel-in-force.ts';

/**
 * Tells Slack that a deletion closed these cases: each posted message shows the case resolved
 * (`developer_deleted`), and its thread says who closed it. The journey that would have done it is
 * gone (deleted with its history), so the deletion does it, once, after its data is gone: the
 * message's context is read after the redaction and holds nothing personal.
 */
export async function notifyClosedCases(
  pool: pg.Pool,
  slack: SlackGateway,
  developerId: string,
  cases: readonly CaseView[],
  author: string,
  links: { publicUrl: string; funnelInForce: ReadFunnelInForce },
): Promise<void> {
  if (cases.length === 0) return;
  const context = await gatherCaseContext(pool, developerId, { showEmail: false, ...links, now: Date.now() });
  for (const view of cases) {
    const thread = await refreshCaseMessages(pool, slack, view, context);
    if (!thread) continue;
    const stepKey = `${view.id}/deleted`;
    await slack.replyOnce(
      thread.channel,
      thread.ts,
      buildStepReply({ step: 'resolved', actor: author, at: view.closedAt ?? new Date().toISOString(), detail: { outcome: view.outcome } }),
      stepKey,
    );
  }
}
