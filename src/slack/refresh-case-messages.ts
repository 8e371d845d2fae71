import type pg from 'pg';
import type { CaseContext, CaseView } from '../cases/case-context.ts';
import { buildCaseMessage } from './case-message.ts';
import type { SlackGateway } from './slack-gateway.ts';

/**
 * Rewrites every posted message of a case (one per level) to show the case as it is now: owner,
 * status, SLA, outcome. Returns the newest post, where the case's thread continues.
 */
export async function refreshCaseMessages(pool: pg.Pool, slack: SlackGateway, view: CaseView, context: CaseContext): Promise<{ channel: string; ts: string } | undefined> {
  const { rows: posts } = await pool.query<{ channel: string; ts: string; level: number; mention: string[] }>(
    `SELECT channel, ts, level, mention FROM slack_posts WHERE handoff_id = $1 AND kind = 'case' AND status = 'posted' ORDER BY level`,
    [view.id],
  );
  for (const post of posts) await slack.updateCase(post.channel, post.ts, buildCaseMessage({ view, context, mention: post.mention, outcomes: view.outcomes }));
  return posts.at(-1);
}
