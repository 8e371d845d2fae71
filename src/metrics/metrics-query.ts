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
export const signupCohortSql = (signedUpAt: string) => `to_char(${signedUpAt} AT TIME ZONE 'UTC', 'IYYY-"W"IW')`;

/**
 * `SELECT id, signed_up_at, cohort FROM developers` narrowed by the filter, as a CTE body; its
 * parameters are appended to `params` ($1 is always asOf). `cohort`: `signupCohortSql`.
 */
export function filteredDevelopersSql(filter: DeveloperFilter, params: unknown[]): string {
  if (params.length !== 0) throw new Error('filteredDevelopersSql must add the first parameters');
  params.push(filter.asOf);
  const where = ['d.signed_up_at IS NOT NULL', 'd.signed_up_at <= $1'];
  const add = (condition: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    where.push(condition(`$${params.length}`));
  };
  if (filter.from) add((p) => `d.signed_up_at >= ${p}`, filter.from);
  if (filter.toBefore) add((p) => `d.signed_up_at < ${p}`, filter.toBefore);
  if (filter.channel) add((p) => `d.acquisition_channel = ${p}`, filter.channel);
  if (filter.accountType) add((p) => `d.account_type = ${p}`, filter.accountType);
  if (filter.orgId) add((p) => `d.org_id = ${p}`, filter.orgId);
  return `SELECT d.id, d.signed_up_at, ${signupCohortSql('d.signed_up_at')} AS cohort
            FROM developers d WHERE ${where.join(' AND ')}`;
}

/**
 * The condition every metric puts on the `journey_stages` rows it reads (`alias`): reached by asOf
 * ($1). The one place that says which stage rows count, so narrowing them (to the rows of one
 * funnel version, say) is a change here.
 */
export const stageRowsSql = (alias: string, funnelVersion: number) => `${alias}.reached_at <= $1 AND ${alias}.funnel_version = ${Math.trunc(funnelVersion)}`;
