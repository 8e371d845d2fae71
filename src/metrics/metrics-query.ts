import { z } from 'zod';
import { developerSignedUp } from '../events/event-schemas.ts';
import { isoDay, isoInstant } from '../events/instant.ts';

/**
 * The query parameters every metrics endpoint shares: which developers (signup dates, channel,
 * account type, org) and as of when. Everything is computed as of `asOf`: stage rows reached
 * after it and developers who signed up after it do not exist yet, so the same query gives the
 * same figures tomorrow.
 */

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** `2026-11-02` (a UTC day) or an ISO-8601 instant with a zone. */
/**
 * A union of the two formats (not a refinement) so that the OpenAPI document says exactly what is
 * accepted. `z.iso.date()` only matches calendar days (`2027-02-30` is refused).
 */
const dayOrInstant = z.union([isoDay, isoInstant], {
  error: 'must be a date (YYYY-MM-DD, UTC) or an ISO-8601 date-time with a time zone, in years 0001–9999',
});

const signupProperties = developerSignedUp.shape.properties;
const signup = (signupProperties instanceof z.ZodDefault ? signupProperties.unwrap() : signupProperties).shape;

export const metricsQuery = z.object({
  from: dayOrInstant.optional().describe('first signup included: a UTC day (from its start) or an instant'),
  to: dayOrInstant.optional().describe('last signup included: a UTC day (to its end, inclusive) or an instant'),
  channel: signup.acquisitionChannel.optional().describe('acquisition channel'),
  accountType: signup.accountType.optional(),
  orgId: z.string().min(1).max(256).optional(),
  asOf: isoInstant.optional().describe('compute every figure as of this instant (default: now): later stage rows and signups are ignored'),
});

export type MetricsQuery = z.infer<typeof metricsQuery>;

/** The developers a metric looks at, resolved to instants. */
export interface DeveloperFilter {
  asOf: Date;
  from?: Date;
  /** Exclusive upper bound on the signup instant. */
  toBefore?: Date;
  channel?: string;
  accountType?: string;
  orgId?: string;
}

export function developerFilter(query: MetricsQuery, now: () => Date = () => new Date()): DeveloperFilter {
  const start = (v: string) => (DAY.test(v) ? new Date(`${v}T00:00:00Z`) : new Date(v));
  // A day is inclusive (up to its end); an instant is inclusive too (1 ms past it: timestamps are ms precision).
  const endExclusive = (v: string) => (DAY.test(v) ? new Date(Date.parse(`${v}T00:00:00Z`) + 86_400_000) : new Date(Date.parse(v) + 1));
  return {
    asOf: query.asOf ? new Date(query.asOf) : now(),
    ...(query.from ? { from: start(query.from) } : {}),
    ...(query.to ? { toBefore: endExclusive(query.to) } : {}),
    ...(query.channel ? { channel: query.channel } : {}),
    ...(query.accountType ? { accountType: query.accountType } : {}),
    ...(query.orgId ? { orgId: query.orgId } : {}),
  };
}

/** A signup instant's cohort: its ISO-8601 week in UTC (`IYYY`: the ISO week-year, so 2027-01-01 is `2026-W53`). */
export const signupCohortSql = (signedUpAt: string) => `to_char(date_trunc('week', ${signedUpAt} AT TIME ZONE 'UTC'), 'IYYY-"W"IW')`;

/** The filter's conditions on `developers d`, their parameters appended to `params` ($1 is always asOf); `signupWindow`: from/to on the developer's own signup. */
function developerConditions(filter: DeveloperFilter, params: unknown[], { signupWindow }: { signupWindow: boolean }): string[] {
  if (params.length !== 0) throw new Error('the developer filter must add the first parameters');
  params.push(filter.asOf);
  const where = ['d.signed_up_at IS NOT NULL', 'd.signed_up_at <= $1'];
  const add = (condition: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (signupWindow) where.push(...signupWindowConditions(filter, 'd.signed_up_at', params));
  if (filter.channel) add((p) => `d.acquisition_channel = ${p}`, filter.channel);
  if (filter.accountType) add((p) => `d.account_type = ${p}`, filter.accountType);
  if (filter.orgId) add((p) => `d.org_id = ${p}`, filter.orgId);
  return where;
}

/** `from` and `to` on a signup instant. */
function signupWindowConditions(filter: DeveloperFilter, signedUpAt: string, params: unknown[]): string[] {
  return [...(filter.from ? [`${signedUpAt} >= $${params.push(filter.from)}`] : []), ...(filter.toBefore ? [`${signedUpAt} < $${params.push(filter.toBefore)}`] : [])];
}

/**
 * `SELECT id, signed_up_at, cohort FROM developers` narrowed by the filter, as a CTE body; its
 * parameters are appended to `params` ($1 is always asOf). `cohort`: `signupCohortSql`.
 */
export function filteredDevelopersSql(filter: DeveloperFilter, params: unknown[]): string {
  const where = developerConditions(filter, params, { signupWindow: true });
  return `SELECT d.id, d.signed_up_at, ${signupCohortSql('d.signed_up_at')} AS cohort
            FROM developers d WHERE ${where.join(' AND ')}`;
}

/** What a metric counts: developers, or accounts (an organisation, or a developer who signed up without one). */
export const COUNTING_UNITS = ['developer', 'organization'] as const;
export type CountingUnit = (typeof COUNTING_UNITS)[number];

/** The `unit` query parameter of the metrics that count either. */
export const unitParam = z
  .enum(COUNTING_UNITS)
  .default('developer')
  .describe(
    "what is counted: `developer` (default), or `organization`: accounts — an organisation (its members together: it reaches a stage when its first member does, its signup and cohort are its first member's), or a developer who signed up without one, as their own account. from and to bound the account's first signup; channel, accountType and orgId pick the members",
  );

/** For the endpoints that count developers only: `unit=developer` is accepted, `unit=organization` refused (400 naming `unit`) rather than ignored. */
export const developerUnitOnly = z
  .literal('developer', {
    error: 'counts developers only: unit=organization applies to /v1/metrics/conversion, /v1/metrics/ttfac and /v1/metrics/production; GET /v1/organizations lists organisations',
  })
  .optional()
  .describe('`developer` only: this endpoint counts developers (unit=organization is a 400)');

/** A count named after its unit, so that a reader never takes accounts for developers. */
export type UnitCount = { developers: number } | { accounts: number };
export const unitCount = (unit: CountingUnit, n: number): UnitCount => (unit === 'developer' ? { developers: n } : { accounts: n });

/**
 * An account's key: `org:<orgId>` for an organisation's members, `developer:<id>` for a developer
 * who signed up without one (their own account). The prefixes keep the two apart whatever the ids.
 */
const accountKeySql = (developer: string) => `coalesce('org:' || ${developer}.org_id, 'developer:' || ${developer}.id)`;

/**
 * The developers an organisation count reads (GET /v1/organizations), each with their account
 * (`accountKeySql`), as a CTE body `(unit, id, org_id, unit_signup, cohort)`; parameters as
 * `filteredDevelopersSql`'s. An account's signup is its members' first (the cohort is that
 * signup's). The filter picks the members; from/to bound the account's signup, so an organisation
 * stays in its own cohort under a date window. The stage metrics count accounts the same way
 * (progress-query.ts).
 */
export function accountMembersSql(filter: DeveloperFilter, params: unknown[]): string {
  const where = developerConditions(filter, params, { signupWindow: false }).join(' AND ');
  const window = signupWindowConditions(filter, 'm.unit_signup', params);
  // An organisation's first signup by aggregate and hash join: a window over the account key sorts every developer by it (1.7× slower at 100,000).
  return `SELECT m.unit, m.id, m.org_id, m.unit_signup, ${signupCohortSql('m.unit_signup')} AS cohort
            FROM (SELECT ${accountKeySql('d')} AS unit, d.id, d.org_id, coalesce(o.first_signup, d.signed_up_at) AS unit_signup
                    FROM developers d
                    LEFT JOIN (SELECT d.org_id, min(d.signed_up_at) AS first_signup FROM developers d WHERE ${where} AND d.org_id IS NOT NULL GROUP BY d.org_id) o
                      ON o.org_id = d.org_id
                   WHERE ${where}) m
           ${window.length > 0 ? `WHERE ${window.join(' AND ')}` : ''}`;
}

/**
 * The condition every metric that reads `journey_stages` puts on its rows (`alias`): reached by
 * asOf ($1), under the funnel version. The stage metrics read the row per developer instead
 * (progress-query.ts), which applies the same two conditions to its columns.
 */
export const stageRowsSql = (alias: string, funnelVersion: number) => `${alias}.reached_at <= $1 AND ${alias}.funnel_version = ${Math.trunc(funnelVersion)}`;

/**
 * Orders stage rows furthest first in the funnel (`ranks`: its stage ids as a text[] parameter):
 * where someone stands. A stage the funnel does not hold comes last, so it stands only without any it does.
 */
export const furthestStageFirstSql = (ranks: string, stage: string) => `array_position(${ranks}::text[], ${stage}) DESC NULLS LAST`;
