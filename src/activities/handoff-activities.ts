import type pg from 'pg';
import { whileHeartbeating } from './heartbeat.ts';
import { withTransaction } from '../db/sql.ts';
import { buildCaseMessage, buildStepReply } from '../slack/case-message.ts';
import { noteTexts, withNoteText } from '../cases/case-notes.ts';
import { refreshCaseMessages } from '../slack/refresh-case-messages.ts';
import { gatherCaseContext } from '../cases/gather-case-context.ts';
import type { SlackGateway } from '../slack/slack-gateway.ts';
import type { HandoffStepEffect, NotifySlackEffect } from '../journey/journey-effects.ts';
import type { ActivePolicy } from '../rules/escalation-policy-schema.ts';
import type { ActiveRules } from '../rules/rules-schema.ts';

export interface HandoffActivityDeps {
  pool: pg.Pool;
  currentRules: () => Promise<ActiveRules | undefined>;
  currentPolicy: () => Promise<ActivePolicy | undefined>;
  /** Unset without SLACK_BOT_TOKEN: cases are still created, logged and actionable by API. */
  slack?: SlackGateway;
  /** Base of the journey links in Slack. */
  publicUrl: string;
  /** How long read rules and policy are reused (a change reaches journeys within this). */
  ttlMs?: number;
}

/** Steps that are the post itself (its own message says it): no thread reply for them. */
const POSTED_STEPS = new Set(['escalated', 're_escalated']);

/**
 * The handoff's side effects. The log and the read model are idempotent by step key and ordered
 * by revision; each Slack post is keyed (case and level, or step) and marked `posting` before the
 * call, so a retry after a crash first looks for the message it may have posted.
 */
export function createHandoffActivities(deps: HandoffActivityDeps) {
  let cached: { at: number; value: { rules: ActiveRules | null; policy: ActivePolicy | null } } | undefined;
  const ttl = deps.ttlMs ?? 2_000;

  /** Posts once per key: a `posting` row left by a crash is resolved by looking for the message. */
  async function postOnce(
    key: { postKey: string; handoffId: string; kind: 'case' | 'reply'; level?: number; channel: string; mention?: string[] },
    find: () => Promise<{ channel: string; ts: string } | undefined>,
    post: () => Promise<{ channel: string; ts: string }>,
  ): Promise<{ channel: string; ts: string }> {
    const { rows } = await deps.pool.query<{ status: string; channel: string; ts: string | null }>('SELECT status, channel, ts FROM slack_posts WHERE post_key = $1', [key.postKey]);
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
    async currentJourneyPolicies(): Promise<{ rules: ActiveRules | null; policy: ActivePolicy | null }> {
      if (!cached || Date.now() - cached.at > ttl) {
        const [rules, policy] = await Promise.all([deps.currentRules(), deps.currentPolicy()]);
        cached = { at: Date.now(), value: { rules: rules ?? null, policy: policy ?? null } };
      }
      return cached.value;
    },

    async recordHandoffSteps(steps: HandoffStepEffect[]): Promise<void> {
      if (steps.length === 0) return;
      // The newest revision of each case is its read model.
      const latest = new Map<string, HandoffStepEffect>();
      for (const s of steps) if ((latest.get(s.case.id)?.revision ?? -1) < s.revision) latest.set(s.case.id, s);
      await withTransaction(deps.pool, async (sql) => {
        await sql(
          `INSERT INTO handoff_steps (step_key, handoff_id, developer_id, step, actor, at, detail, snapshot)
           SELECT k, h, d, s, a, at, de::jsonb, sn::jsonb
           FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[]) AS u(k, h, d, s, a, at, de, sn)
           ON CONFLICT (step_key) DO NOTHING`,
          steps.map((s) => s.stepKey), steps.map((s) => s.case.id), steps.map((s) => s.developerId), steps.map((s) => s.step), steps.map((s) => s.actor),
          steps.map((s) => s.at), steps.map((s) => JSON.stringify(s.detail)), steps.map((s) => JSON.stringify(s.snapshot)),
        );
        for (const { case: c, revision, developerId } of latest.values()) {
          await sql(
            `INSERT INTO handoffs (id, developer_id, status, criterion, owner, level, opened_at, claimed_at, closed_at, outcome, sla_breached, revision, view, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb, now())
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, owner = excluded.owner, level = excluded.level, claimed_at = excluded.claimed_at,
               closed_at = excluded.closed_at, outcome = excluded.outcome, sla_breached = excluded.sla_breached, revision = excluded.revision,
               view = excluded.view, updated_at = now()
             WHERE handoffs.revision < excluded.revision`,
            c.id, developerId, c.status, c.criterion, c.owner, c.level, c.openedAt, c.claimedAt, c.closedAt, c.outcome, c.breaches.length > 0, revision, JSON.stringify(c),
          );
        }
      });
    },

    async notifySlack(effect: NotifySlackEffect): Promise<void> {
      await whileHeartbeating(async () => {
        const slack = deps.slack;
        if (!slack) return;
        const policy = await deps.currentPolicy();
        const context = await gatherCaseContext(deps.pool, effect.developerId, { showEmail: policy?.document.privacy.showEmail ?? false, publicUrl: deps.publicUrl, now: Date.now() });
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
      });
    },
  };
}

export type HandoffActivities = ReturnType<typeof createHandoffActivities>;
