import type pg from 'pg';
import type { CaseContext, TimelineEntry } from './case-context.ts';
import { describeSuppression, readEmailSuppression } from '../events/email-suppression.ts';
import { diagnosisOf } from '../events/error-diagnosis.ts';
import { followedFunnel } from '../funnel/followed-funnel.ts';
import { stageLabel, type ReadFunnelInForce } from '../funnel/funnel-in-force.ts';

export interface GatherOptions {
  /** The policy's `privacy.showEmail`: false masks it. */
  showEmail: boolean;
  /** Base URL of this API, for the journey link. */
  publicUrl: string;
  now: number;
  /** The funnel in force: the stages of a journey that has recorded none yet are in it. */
  funnelInForce: ReadFunnelInForce;
}

/**
 * What a person needs on a case, read from the read model: who the developer is, where they are
 * stuck and since when, what happened (stages, nudges, email engagement, tickets), and the
 * first-session error diagnosis. Stages are those of the funnel version the journey follows, by
 * their labels.
 */
export async function gatherCaseContext(pool: pg.Pool, developerId: string, options: GatherOptions): Promise<CaseContext> {
  const funnel = await followedFunnel(pool, developerId, options.funnelInForce);
  const label = (stage: string) => stageLabel(funnel.document, stage);
  const [developer, stages, nudges, events, bursts, errors, suppression] = await Promise.all([
    pool.query<{
      email: string | null;
      account_type: string | null;
      org_id: string | null;
      acquisition_channel: string | null;
      timezone: string | null;
      stage: string | null;
      stage_at: Date | null;
    }>('SELECT email, account_type, org_id, acquisition_channel, timezone, stage, stage_at FROM developers WHERE id = $1', [developerId]),
    pool.query<{ stage: string; reached_at: Date }>('SELECT stage, reached_at FROM journey_stages WHERE developer_id = $1 AND funnel_version = $2 ORDER BY reached_at', [
      developerId,
      funnel.version,
    ]),
    pool.query<{ decided_at: Date; template: string | null; rule_id: string; outcome: string; reason: string | null }>(
      `SELECT decided_at, template, rule_id, outcome, reason FROM nudge_decisions
       WHERE developer_id = $1 AND outcome IN ('sent', 'escalated') ORDER BY decided_at DESC, id DESC LIMIT 10`,
      [developerId],
    ),
    pool.query<{ type: string; occurred_at: Date }>(
      `SELECT type, occurred_at FROM events WHERE developer_id = $1
       AND type IN ('email.opened', 'email.clicked', 'email.bounced', 'email.complained', 'support.ticket_created', 'quickstart.completed', 'webhook.registered', 'consent.updated')
       AND properties->'machine' IS DISTINCT FROM 'true'::jsonb
       ORDER BY occurred_at DESC LIMIT 50`,
      [developerId],
    ),
    pool.query<{ status: number; count: number; endpoint: string | null; continued: boolean }>(
      'SELECT status, count, endpoint, continued FROM error_bursts WHERE developer_id = $1 ORDER BY occurred_at',
      [developerId],
    ),
    pool.query<{ endpoint: string; status_400: number; status_401: number; status_429: number }>(
      `SELECT endpoint, status_400, status_401, status_429 FROM developer_endpoints
       WHERE developer_id = $1 AND status_400 + status_401 + status_429 > 0 ORDER BY status_400 + status_401 + status_429 DESC LIMIT 5`,
      [developerId],
    ),
    readEmailSuppression(pool, developerId),
  ]);
  const d = developer.rows[0];
  const timeline: TimelineEntry[] = [
    ...stages.rows.map((r) => ({ at: r.reached_at.toISOString(), what: `reached ${label(r.stage)}` })),
    ...nudges.rows.map((r) => ({ at: r.decided_at.toISOString(), what: r.outcome === 'sent' ? `nudge sent: ${r.template}` : `escalated by rule ${r.rule_id}` })),
    ...events.rows.map((r) => ({ at: r.occurred_at.toISOString(), what: r.type })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const opened = events.rows.filter((r) => r.type === 'email.opened').length;
  const clicked = events.rows.filter((r) => r.type === 'email.clicked').length;
  const diagnosis =
    bursts.rows.length > 0
      ? bursts.rows.map(
          (b) => `${b.count} × ${b.status}${b.endpoint ? ` on ${b.endpoint}` : ''}${b.continued ? ' more, after the first burst' : ''}: ${diagnosisOf(b.status) ?? 'errors'}`,
        )
      : errors.rows.flatMap((e) =>
          (
            [
              [401, e.status_401],
              [400, e.status_400],
              [429, e.status_429],
            ] as const
          )
            .filter(([, n]) => n > 0)
            .map(([status, n]) => `${n} × ${status} on ${e.endpoint}: ${diagnosisOf(status)}`),
        );
  const stageAt = d?.stage_at ?? null;
  return {
    developer: {
      id: developerId,
      email: d?.email ? (options.showEmail ? d.email : maskEmail(d.email)) : null,
      accountType: d?.account_type ?? null,
      orgId: d?.org_id ?? null,
      channel: d?.acquisition_channel ?? null,
      timezone: d?.timezone ?? null,
    },
    stage: d?.stage ? { id: d.stage, label: label(d.stage) } : null,
    stageReachedAt: stageAt?.toISOString() ?? null,
    stuckForSeconds: stageAt ? Math.max(0, Math.round((options.now - stageAt.getTime()) / 1000)) : null,
    timeline,
    nudges: nudges.rows.reverse().map((r) => ({ at: r.decided_at.toISOString(), template: r.template, ruleId: r.rule_id, outcome: r.outcome, reason: r.reason })),
    engagement: { opened, clicked, segment: suppression ? 'none' : opened >= 3 && clicked >= 1 ? 'high' : opened >= 1 ? 'medium' : 'new/none' },
    ...(suppression ? { emailSuppressed: describeSuppression(suppression) } : {}),
    diagnosis,
    journeyUrl: `${options.publicUrl.replace(/\/$/, '')}/v1/developers/${encodeURIComponent(developerId)}/journey`,
  };
}

/** `j***@example.com`: how a case shows an email the policy does not show. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
