import type pg from 'pg';
import { caseUrlOf, escalationOf, slaStateOf, type CaseContext, type CaseSummary, type CaseView, type TimelineEntry, type WholeCaseContext } from './case-context.ts';
import { describeSuppression, readEmailSuppression } from '../events/email-suppression.ts';
import { diagnosisOf } from '../events/error-diagnosis.ts';
import { followedFunnel } from '../funnel/followed-funnel.ts';
import { stageLabel, type FunnelVersion, type ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import { FunnelStore } from '../funnel/funnel-store.ts';

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
      `SELECT type, occurred_at FROM events WHERE kept AND developer_id = $1
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
  const diagnosis = diagnosisLines(bursts.rows, errors.rows);
  const stageAt = d?.stage_at ?? null;
  const base = options.publicUrl.replace(/\/$/, '');
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
    journeyUrl: `${base}/v1/developers/${encodeURIComponent(developerId)}/journey`,
    dashboardUrl: `${base}/dashboard?developer=${encodeURIComponent(developerId)}`,
    inboxUrl: `${base}/dashboard/handoffs`,
  };
}

/** `j***@example.com`: how a case shows an email the policy does not show. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

interface BurstRow {
  status: number;
  count: number;
  endpoint: string | null;
  continued: boolean;
}
interface EndpointErrorsRow {
  endpoint: string;
  status_400: number;
  status_401: number;
  status_429: number;
}

/** "12 × 401 on /v1/charges: credentials used wrongly": the error bursts, or else the endpoints' error counts. */
function diagnosisLines(bursts: BurstRow[], errors: EndpointErrorsRow[]): string[] {
  if (bursts.length > 0) {
    return bursts.map(
      (b) => `${b.count} × ${b.status}${b.endpoint ? ` on ${b.endpoint}` : ''}${b.continued ? ' more, after the first burst' : ''}: ${diagnosisOf(b.status) ?? 'errors'}`,
    );
  }
  return errors.flatMap((e) =>
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
}

/** The case as the Slack post shows it and the API returns it: the developer's context, why it escalated, its SLA state. */
export async function gatherWholeCase(pool: pg.Pool, view: CaseView, options: GatherOptions): Promise<WholeCaseContext> {
  const context = await gatherCaseContext(pool, view.developerId, options);
  return { ...context, caseUrl: caseUrlOf(context, view.id), escalation: escalationOf(view), sla: slaStateOf(view) };
}

/**
 * The compact form of a page of cases, in a fixed number of queries whatever the page's size:
 * the same stage labels, stuck time and diagnosis lines as the whole context (the first line).
 */
export async function gatherCaseSummaries(pool: pg.Pool, views: readonly CaseView[], options: Pick<GatherOptions, 'now' | 'funnelInForce'>): Promise<CaseSummary[]> {
  const ids = [...new Set(views.map((v) => v.developerId))];
  const [inForce, developers, bursts, errors] = await Promise.all([
    options.funnelInForce(),
    pool.query<{ id: string; stage: string | null; stage_at: Date | null; funnel_version: number | null }>(
      'SELECT id, stage, stage_at, funnel_version FROM developers WHERE id = ANY($1)',
      [ids],
    ),
    pool.query<BurstRow & { developer_id: string }>(
      'SELECT DISTINCT ON (developer_id) developer_id, status, count, endpoint, continued FROM error_bursts WHERE developer_id = ANY($1) ORDER BY developer_id, occurred_at',
      [ids],
    ),
    pool.query<EndpointErrorsRow & { developer_id: string }>(
      `SELECT DISTINCT ON (developer_id) developer_id, endpoint, status_400, status_401, status_429 FROM developer_endpoints
       WHERE developer_id = ANY($1) AND status_400 + status_401 + status_429 > 0 ORDER BY developer_id, status_400 + status_401 + status_429 DESC`,
      [ids],
    ),
  ]);
  // The few funnel versions the page's journeys follow (as followedFunnel reads them).
  const funnels = new Map<number, FunnelVersion>([[inForce.version, inForce]]);
  const store = new FunnelStore(pool);
  for (const version of new Set(developers.rows.map((d) => d.funnel_version))) {
    if (version === null || funnels.has(version)) continue;
    const stored = await store.get(version);
    funnels.set(version, stored ? { version, document: stored.document } : inForce);
  }
  const byId = new Map(developers.rows.map((d) => [d.id, d]));
  return views.map((view) => {
    const d = byId.get(view.developerId);
    const funnel = funnels.get(d?.funnel_version ?? inForce.version) ?? inForce;
    // Each developer's first burst, or else their endpoint with the most errors: the first line of diagnosisLines.
    const first = diagnosisLines(
      bursts.rows.filter((b) => b.developer_id === view.developerId),
      errors.rows.filter((e) => e.developer_id === view.developerId),
    )[0];
    return {
      stage: d?.stage ? stageLabel(funnel.document, d.stage) : null,
      stuckForSeconds: d?.stage_at ? Math.max(0, Math.round((options.now - d.stage_at.getTime()) / 1000)) : null,
      diagnosis: first ?? null,
      sla: slaStateOf(view),
    };
  });
}
