/**
 * How long a developer's api.request rows are stored raw (docs/concepts/storage.md): until
 * `afterSignupMs` after their signup or `afterFinalStageMs` after they reached the funnel's final
 * stage, whichever comes first. A request that arrives later is counted into the rollups only.
 * `dedupDays`: the days of request ids kept besides the current one, so that a duplicate request
 * is refused when it arrives within that many days of the first copy at least. Gateways and queues
 * redeliver within minutes or hours; the ids cost about 100 bytes a request of that window's
 * traffic, so it is a week by default, not a month.
 */
export interface RawRequestWindow {
  afterSignupMs: number;
  afterFinalStageMs: number;
  dedupDays: number;
}

const DAY_MS = 86_400_000;

export const DEFAULT_RAW_REQUEST_WINDOW: RawRequestWindow = { afterSignupMs: 90 * DAY_MS, afterFinalStageMs: 30 * DAY_MS, dedupDays: 7 };

/** A first session: the 24 hours from a developer's first request (or from reaching the first-call stage), whose requests stay raw for good. */
export const FIRST_SESSION_SQL = `interval '24 hours'`;

/** A developer's first request known (their per-endpoint totals' earliest), `developerId` an SQL expression; null before any. */
export const firstRequestSql = (developerId: string) => `(SELECT min(de.first_at) FROM developer_endpoints de WHERE de.developer_id = ${developerId})`;

/** The day an event arrives on: whole days since 1970-01-01 (UTC), by the database's clock. */
export const ARRIVAL_DAY_SQL = `floor(extract(epoch FROM statement_timestamp()) / 86400)::int`;

/**
 * When the developer `d` (a developers row) leaves the raw-request window: null while it is not
 * known (no signup stored yet), which keeps their requests raw. `afterSignup`, `afterFinal` and
 * `finalStage` are SQL expressions (parameters) for the window and the funnel's final stage.
 * `stage`/`stage_at` are the journey's own record of where the developer stands.
 */
export const rawUntilSql = (d: string, afterSignup: string, afterFinal: string, finalStage: string) =>
  `least(${d}.signed_up_at + ${afterSignup}::bigint * interval '1 millisecond',
         CASE WHEN ${d}.stage = ${finalStage} THEN ${d}.stage_at + ${afterFinal}::bigint * interval '1 millisecond' END)`;
