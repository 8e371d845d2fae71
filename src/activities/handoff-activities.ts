import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import { whileHeartbeating } from './heartbeat.ts';
import { withTransaction } from '../db/sql.ts';
import { buildCaseMessage, buildStepReply } from '../slack/case-message.ts';
import { noteTexts, withNoteText } from '../cases/case-notes.ts';
import { storeHandoffSteps } from '../cases/handoff-log.ts';
import { refreshCaseMessages } from '../slack/refresh-case-messages.ts';
import { gatherCaseContext } from '../cases/gather-case-context.ts';
import { permanentSlackErrorCode, type SlackGateway } from '../slack/slack-gateway.ts';
import type { HandoffStepEffect, NotifySlackEffect } from '../journey/journey-effects.ts';
import type { ReadRulesInForce, RulesInForce } from '../rules/rules-in-force.ts';
import type { ReadFunnelInForce } from '../funnel/funnel-in-force.ts';

export interface HandoffActivityDeps {
  pool: pg.Pool;
  /** The worker's cache of the rules and policy in force (rules-in-force.ts). */
  rulesInForce: ReadRulesInForce;
  /** The worker's cache of the funnel in force (a case shows the stages of the version the journey follows). */
  funnelInForce: ReadFunnelInForce;
  /** Unset without SLACK_BOT_TOKEN: cases are still created, logged and actionable by API. */
  slack?: SlackGateway;
  /** Base of the journey links in Slack. */
  publicUrl: string;
}

/** Steps that are the post itself (its own message says it): no thread reply for them. */
const POSTED_STEPS = new Set(['escalated', 're_escalated']);

/**
 * The handoff's side effects. The log and the read model are idempotent by step key and ordered
 * by revision; each Slack post is keyed (case and level, or step) and marked `posting` before the
 * call, so a retry after a crash first looks for the message it may have posted.
 */
export function createHandoffActivities(deps: HandoffActivityDeps) {
  /** Posts once per key: a `posting` row left by a crash is resolved by looking for the message. */
  async function postOnce(
    key: { postKey: string; handoffId: string; kind: 'case' | 'reply'; level?: number; channel: string; mention?: string[] },
    find: () => Promise<{ channel: string; ts: string } | undefined>,
    post: () => Promise<{ channel: string; ts: string }>,
  ): Promise<{ channel: string; ts: string }> {
    const { rows } = await deps.pool.query<{ status: string; channel: string; ts: string | null }>('SELECT status, channel, ts FROM slack_posts WHERE post_key = $1', [
      key.postKey,
    ]);
    const existing = rows[0];
    if (existing?.status === 'posted' && existing.ts) return { channel: existing.channel, ts: existing.ts };
    const found = existing ? await find() : undefined;
    if (!existing) {
      await deps.pool.query(
        `INSERT INTO slack_posts (post_key, handoff_id, kind, level, channel, mention, status) VALUES ($1, $2, $3, $4, $5, $6, 'posting') ON CONFLICT (post_key) DO NOTHING`,
        [key.postKey, key.handoffId, key.kind, key.level ?? null, key.channel, key.mention ?? []],
      );
    }
    const posted = found ?? (await post());
    await deps.pool.query(`UPDATE slack_posts SET status = 'posted', channel = $2, ts = $3, posted_at = now() WHERE post_key = $1`, [key.postKey, posted.channel, posted.ts]);
    return posted;
  }

  return {
    /** The rules and policy in force: journeys of machine version 3 on read them here. */
    async currentJourneyPolicies(): Promise<RulesInForce> {
      return deps.rulesInForce();
    },

    async recordHandoffSteps(steps: HandoffStepEffect[]): Promise<void> {
      if (steps.length > 0) await withTransaction(deps.pool, (sql) => storeHandoffSteps(sql, steps));
    },

    /**
     * A refusal for good (a bad channel, token or payload: `permanentSlackErrorCode`) fails without
     * a retry, so the journey logs `slack_failed` at once rather than after a day of attempts.
     */
    async notifySlack(effect: NotifySlackEffect): Promise<void> {
      await refusalsNotRetried(() =>
        whileHeartbeating(async () => {
          const slack = deps.slack;
          if (!slack) return;
          const { policy } = await deps.rulesInForce();
          const context = await gatherCaseContext(deps.pool, effect.developerId, {
            showEmail: policy?.document.privacy.showEmail ?? false,
            publicUrl: deps.publicUrl,
            now: Date.now(),
            funnelInForce: deps.funnelInForce,
          });
          const view = effect.case;
          if (effect.post) {
            const { level, channel, mention } = effect.post;
            const postKey = `${view.id}/L${level}`;
            await postOnce(
              { postKey, handoffId: view.id, kind: 'case', level, channel, mention },
              () => slack.findPosted(channel, postKey),
              () => slack.postCase(channel, buildCaseMessage({ view, context, mention, outcomes: view.outcomes }), postKey),
            );
          }
          // Every posted message of the case shows its current owner, status and SLA.
          const thread = await refreshCaseMessages(deps.pool, slack, view, context);
          if (effect.step && thread && !POSTED_STEPS.has(effect.step.step)) {
            const { stepKey } = effect.step;
            const { step } = effect;
            const text = buildStepReply({ ...step, detail: withNoteText(step.step, step.detail, await noteTexts(deps.pool, [step.detail])) });
            await postOnce(
              { postKey: stepKey, handoffId: view.id, kind: 'reply', channel: thread.channel },
              () => slack.findReply(thread.channel, thread.ts, stepKey),
              () => slack.reply(thread.channel, thread.ts, text, stepKey),
            );
          }
        }),
      );
    },
  };
}

/** Runs `call`; Slack's refusal for good becomes a non-retryable failure that names its code. */
async function refusalsNotRetried(call: () => Promise<void>): Promise<void> {
  try {
    await call();
  } catch (error) {
    const code = permanentSlackErrorCode(error);
    if (code === undefined) throw error;
    throw ApplicationFailure.create({ type: 'SlackRefused', message: `Slack refused it for good (${code})`, nonRetryable: true, cause: error as Error });
  }
}

export type HandoffActivities = ReturnType<typeof createHandoffActivities>;
