import { ApplicationFailure } from '@temporalio/activity';
import type pg from 'pg';
import { withTransaction, type Sql } from '../db/sql.ts';
import type { NudgeDecisionEffect, SendNudgeEffect } from '../journey/journey-effects.ts';
import { TemplateNotSendable } from '../mail/email-templates.ts';
import type { TemplatesInForce } from '../mail/templates-in-force.ts';
import { DEFAULT_SENDER } from '../mail/email-settings.ts';
import { renderNudgeEmail, type NudgeEmail } from '../mail/nudge-email.ts';
import { readCategoryOptOut } from '../mail/email-preferences.ts';
import { isPermanentRejection, isUncertainHandoff, ONRAMP_MESSAGE_ID_HEADER, outgoingEmail, type Mailer } from '../mail/mailer.ts';
import { describeSuppression, readEmailSuppression } from '../events/email-suppression.ts';
import { whileHeartbeating } from './heartbeat.ts';
import { trackLinks } from '../mail/tracking/track-links.ts';
import type { EmailTracking } from '../config.ts';
import type { ActiveRules } from '../rules/rules-schema.ts';
import type { ReadRulesInForce } from '../rules/rules-in-force.ts';
import { followedFunnel } from '../funnel/followed-funnel.ts';
import { isoSql, queueWebhooksSql } from '../webhooks/webhook-events.ts';
import { stageLabel, type ReadFunnelInForce } from '../funnel/funnel-in-force.ts';

export interface NudgeActivityDeps {
  pool: pg.Pool;
  mailer: Mailer;
  /** The worker's cache of the templates version in force (templates-in-force.ts): emails are rendered from it, never from the folder. */
  templatesInForce: () => Promise<TemplatesInForce>;
  /** The worker's cache of the rules in force (rules-in-force.ts). */
  rulesInForce: ReadRulesInForce;
  /** The worker's cache of the funnel in force (an email names the stage as the version the journey follows labels it). */
  funnelInForce: ReadFunnelInForce;
  /** The sender when set (ONRAMP_MAIL_FROM); otherwise the brand's in email.yaml, else DEFAULT_SENDER. */
  from?: string;
  /** Base of the links in emails (the unsubscribe and tracking endpoints of this API). */
  publicUrl: string;
  signingSecret: string;
  /** Which parts get the open pixel and click-tracking links. */
  tracking: EmailTracking;
  docsUrl: string;
  /** Test seam: runs after the mailer accepted a message, before it is marked sent. */
  afterHandoff?: (emailId: string) => Promise<void>;
}

/**
 * The nudges' side effects. Decision rows are idempotent by their key; a send is idempotent by
 * its email row (`<developerId>/<nudgeKey>`), checked before the mailer is called: a retry after
 * the handoff began never sends again.
 */
export function createNudgeActivities(deps: NudgeActivityDeps) {
  return {
    /** The rules in force: journeys of machine version 2 (before the handoff) read them here. */
    async currentNudgeRules(): Promise<ActiveRules | null> {
      return (await deps.rulesInForce()).rules;
    },

    async recordNudgeDecisions(decisions: NudgeDecisionEffect[]): Promise<void> {
      await withTransaction(deps.pool, (sql) => insertDecisions(sql, decisions));
    },

    async sendNudge(effect: SendNudgeEffect): Promise<void> {
      await whileHeartbeating(async () => {
        const { developerId, decision } = effect;
        const emailId = `${developerId}/${decision.nudgeKey}`;
        const [developer] = (
          await deps.pool.query<{ email: string | null; name: string | null; locale: string | null }>('SELECT email, name, locale FROM developers WHERE id = $1', [developerId])
        ).rows;
        if (!developer?.email) {
          await withTransaction(deps.pool, (sql) => insertDecisions(sql, [{ ...decision, outcome: 'skipped', reason: 'no_email_address' }]));
          return;
        }
        const existing = (await deps.pool.query<{ status: string }>('SELECT status FROM emails WHERE id = $1', [emailId])).rows[0];
        if (existing && existing.status !== 'failed') {
          // Sent, or a handoff that began and was interrupted: at most once, so never again.
          await withTransaction(deps.pool, (sql) =>
            insertDecisions(sql, [existing.status === 'sent' ? decision : { ...decision, reason: 'unconfirmed: interrupted after the handoff to the mail server began' }]),
          );
          return;
        }
        // A hard bounce or a spam complaint (src/sources/email-events): never email them again.
        const suppression = await readEmailSuppression(deps.pool, developerId);
        if (suppression) {
          await withTransaction(deps.pool, (sql) => insertDecisions(sql, [{ ...decision, outcome: 'skipped', reason: `email_suppressed: ${describeSuppression(suppression)}` }]));
          return;
        }
        const funnel = effect.stage === null ? undefined : await followedFunnel(deps.pool, developerId, deps.funnelInForce);
        const { version: templateVersion, templates } = await deps.templatesInForce();
        let rendered: NudgeEmail;
        try {
          rendered = await renderNudgeEmail(
            templates,
            {
              recipient: { id: developerId, name: developer.name, locale: developer.locale, accountType: decision.segment.accountType, channel: decision.segment.channel },
              template: effect.template,
              stage: effect.stage,
              stageLabel: effect.stage === null ? null : stageLabel(funnel!.document, effect.stage),
              burst: effect.burst ? { endpoint: effect.burst.endpoint ?? null, status: effect.burst.status ?? null, count: effect.burst.count ?? null } : null,
              emailId,
            },
            deps,
          );
        } catch (error) {
          if (error instanceof TemplateNotSendable) throw ApplicationFailure.create({ type: 'NudgeNotSendable', message: error.message, nonRetryable: true });
          throw error;
        }
        // The preference centre: they turned this template's category off (and not all email, which the journey itself hears).
        if (await readCategoryOptOut(deps.pool, developerId, rendered.category)) {
          await withTransaction(deps.pool, (sql) => insertDecisions(sql, [{ ...decision, outcome: 'skipped', reason: `category_opted_out: ${rendered.category}` }]));
          return;
        }
        // What is tracked is what is sent and stored: the links' targets are stored with it.
        const { text, html, links } = trackLinks(rendered, deps.tracking, {
          publicUrl: deps.publicUrl,
          secret: deps.signingSecret,
          developerId,
          emailId,
          untracked: [rendered.unsubscribeUrl, rendered.preferencesUrl, rendered.feedback.yes, rendered.feedback.no],
        });
        const messageId = `<${Buffer.from(emailId).toString('base64url')}@onramp>`;
        const email = outgoingEmail({
          to: developer.email,
          from: deps.from ?? templates.settings().brand.from ?? DEFAULT_SENDER,
          subject: rendered.subject,
          text,
          html,
          messageId,
          headers: {
            'List-Unsubscribe': `<${rendered.unsubscribeUrl}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
            'X-Onramp-Nudge': decision.nudgeKey,
            // Relays may replace the Message-ID (Amazon SES does); providers echo this header in their bounce and complaint reports.
            [ONRAMP_MESSAGE_ID_HEADER]: messageId,
          },
        });
        await deps.pool.query(
          `INSERT INTO emails (id, developer_id, rule_id, rule_version, template, template_version, to_address, subject, text, html, links, transport, status, message_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'sending', $13)
           ON CONFLICT (id) DO UPDATE SET status = 'sending', template_version = excluded.template_version, subject = excluded.subject, text = excluded.text, html = excluded.html, links = excluded.links`,
          [
            emailId,
            developerId,
            decision.ruleId,
            decision.ruleVersion,
            effect.template,
            templateVersion,
            email.to,
            email.subject,
            email.text,
            email.html,
            links,
            deps.mailer.transport,
            email.messageId,
          ],
        );
        try {
          await deps.mailer.send(email);
        } catch (error) {
          // Refused, or lost before the whole message went out: known not sent, so a retry may send.
          // Lost after it (no answer to DATA): the row stays 'sending', and the retry records the
          // send as unconfirmed instead of sending a second copy.
          if (!isUncertainHandoff(error)) await deps.pool.query(`UPDATE emails SET status = 'failed' WHERE id = $1`, [emailId]);
          // The relay refused this recipient or message for good: the decision says so now, not after a day of refusals.
          if (isPermanentRejection(error)) throw ApplicationFailure.create({ type: 'NudgeRefused', message: (error as Error).message, nonRetryable: true, cause: error as Error });
          throw error;
        }
        await deps.afterHandoff?.(emailId);
        await withTransaction(deps.pool, async (sql) => {
          await sql(`UPDATE emails SET status = 'sent', sent_at = now() WHERE id = $1`, emailId);
          await insertDecisions(sql, [decision]);
        });
      });
    },
  };
}

/** Records decisions (idempotent by key); a decision to send or skip recorded for the first time is queued as a `nudge.sent` / `nudge.skipped` webhook. */
async function insertDecisions(sql: Sql, decisions: NudgeDecisionEffect[]): Promise<void> {
  if (decisions.length === 0) return;
  await sql(
    `WITH decided AS (
       INSERT INTO nudge_decisions (developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, template, segment, inputs, decided_at, scheduled_for, experiment_id, variant_id)
       SELECT d, k, n, r, v, o, re, t, s::jsonb, i::jsonb, at, sf, ex, va
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[], $13::text[], $14::text[])
         AS u(d, k, n, r, v, o, re, t, s, i, at, sf, ex, va)
       ON CONFLICT (decision_key) DO NOTHING
       RETURNING developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, template, segment, decided_at)
     ${queueWebhooksSql(`
       SELECT 'nudge.' || outcome, developer_id, 'nudge/' || decision_key, decided_at,
              jsonb_build_object('developerId', developer_id, 'nudgeKey', nudge_key, 'ruleId', rule_id, 'ruleVersion', rule_version,
                'template', template, 'reason', reason, 'segment', segment, 'decidedAt', ${isoSql('decided_at')})
         FROM decided WHERE outcome IN ('sent', 'skipped')`)}`,
    decisions.map((d) => d.developerId),
    decisions.map((d) => d.decisionKey),
    decisions.map((d) => d.nudgeKey),
    decisions.map((d) => d.ruleId),
    decisions.map((d) => d.ruleVersion),
    decisions.map((d) => d.outcome),
    decisions.map((d) => d.reason ?? null),
    decisions.map((d) => d.template ?? null),
    decisions.map((d) => JSON.stringify(d.segment)),
    decisions.map((d) => JSON.stringify(d.inputs)),
    decisions.map((d) => d.decidedAt),
    decisions.map((d) => d.scheduledFor ?? null),
    decisions.map((d) => d.experiment?.id ?? null),
    decisions.map((d) => d.experiment?.variant ?? null),
  );
}

export type NudgeActivities = ReturnType<typeof createNudgeActivities>;
