import type pg from 'pg';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { ERROR_CLASSES, type ErrorClass } from '../events/error-diagnosis.ts';
import { humanisedFriction, type Friction } from '../rules/escalation-policy-schema.ts';
import { filteredDevelopersSql, type DeveloperFilter } from './metrics-query.ts';

/**
 * What agents learn, counted: the frictions recorded on resolved cases (resolved by asOf), by the
 * stage the developer was in when the case opened (the journey's stage in the case's `escalated`
 * step), by signup cohort (ISO week) or by signup channel. Next to each friction, how many of its
 * cases' developers hit each first-session error class (src/metrics/first-session-errors.ts's
 * session: the 24 h from their first API request), so an agent's "authentication confusion" can be
 * read against the 401s the model diagnosed.
 */

export const FRICTION_GROUPINGS = ['stage', 'cohort', 'channel'] as const;
export type FrictionGrouping = (typeof FRICTION_GROUPINGS)[number];

export interface FrictionCounts {
  /** Resolved cases in the group. */
  cases: number;
  /** Per friction id: cases resolved with it. */
  frictions: Record<string, number>;
  /** Resolved without a friction recorded. */
  unrecorded: number;
}

export interface FrictionReport {
  asOf: string;
  groupBy: FrictionGrouping;
  /** The policy's frictions, then any other recorded (a friction since removed from the policy), each with its label. */
  frictions: (Friction & { cases: number; firstSessionErrors: Record<ErrorClass, number> })[];
  /** Groups in order: stages in funnel order (unknown stages after, then none), cohorts oldest first, channels by cases. */
  groups: ({ key: string | null; label: string } & FrictionCounts)[];
  overall: FrictionCounts;
}

/** Status conditions of a first-session error class (as the errors metric counts them). */
const CLASS_SQL: Record<ErrorClass, string> = { '401': 'status = 401', '400': 'status = 400', '429': 'status = 429', '5xx': 'status BETWEEN 500 AND 599' };

export async function frictionReport(
  pool: pg.Pool,
  filter: DeveloperFilter,
  groupBy: FrictionGrouping,
  frictions: readonly Friction[],
  { document }: FunnelVersion,
): Promise<FrictionReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  const key = {
    stage: `(SELECT s.snapshot->>'stage' FROM handoff_steps s WHERE s.handoff_id = h.id AND s.step = 'escalated' ORDER BY s.at, s.step_key LIMIT 1)`,
    cohort: 'devs.cohort',
    channel: 'd.acquisition_channel',
  }[groupBy];
  const classes = ERROR_CLASSES.map((c, i) => `count(*) FILTER (WHERE e${i}) AS "e${c}"`).join(', ');
  const { rows } = await pool.query<{ key: string | null; friction: string | null; cases: string } & Record<`e${ErrorClass}`, string>>(
    `WITH devs AS (${developers}),
          cases AS (SELECT h.developer_id, h.friction, ${key} AS key
                      FROM handoffs h JOIN devs ON devs.id = h.developer_id JOIN developers d ON d.id = h.developer_id
                     WHERE h.status = 'resolved' AND h.closed_at <= $1),
          -- The kept requests hold every first session (docs/concepts/storage.md).
          firsts AS (SELECT e.developer_id, min(e.occurred_at) AS first_at FROM events e
                      WHERE e.kept AND e.type = 'api.request' AND e.occurred_at <= $1 AND e.developer_id IN (SELECT developer_id FROM cases)
                      GROUP BY e.developer_id),
          sessions AS (SELECT f.developer_id, ${ERROR_CLASSES.map((c, i) => `bool_or(e.${CLASS_SQL[c]}) AS e${i}`).join(', ')}
                         FROM firsts f JOIN events e ON e.kept AND e.developer_id = f.developer_id AND e.type = 'api.request'
                                              AND e.occurred_at BETWEEN f.first_at AND least($1, f.first_at + interval '24 hours')
                        GROUP BY f.developer_id)
     SELECT c.key, c.friction, count(*) AS cases, ${classes}
       FROM cases c LEFT JOIN sessions s ON s.developer_id = c.developer_id
      GROUP BY c.key, c.friction`,
    params,
  );

  const counts = (): FrictionCounts => ({ cases: 0, frictions: {}, unrecorded: 0 });
  const add = (into: FrictionCounts, friction: string | null, n: number) => {
    into.cases += n;
    if (friction === null) into.unrecorded += n;
    else into.frictions[friction] = (into.frictions[friction] ?? 0) + n;
  };
  const overall = counts();
  const byKey = new Map<string | null, FrictionCounts>();
  const errorsByFriction = new Map<string, Record<ErrorClass, number>>();
  for (const row of rows) {
    const n = Number(row.cases);
    add(overall, row.friction, n);
    if (!byKey.has(row.key)) byKey.set(row.key, counts());
    add(byKey.get(row.key)!, row.friction, n);
    if (row.friction === null) continue;
    const errors = errorsByFriction.get(row.friction) ?? (Object.fromEntries(ERROR_CLASSES.map((c) => [c, 0])) as Record<ErrorClass, number>);
    for (const c of ERROR_CLASSES) errors[c] += Number(row[`e${c}`]);
    errorsByFriction.set(row.friction, errors);
  }

  const known = new Set(frictions.map((f) => f.id));
  const recordedElsewhere = Object.keys(overall.frictions)
    .filter((id) => !known.has(id))
    .sort()
    .map((id) => ({ id, label: humanisedFriction(id) }));
  const noErrors = () => Object.fromEntries(ERROR_CLASSES.map((c) => [c, 0])) as Record<ErrorClass, number>;

  const order = stageIds(document);
  const rank = (k: string | null) => (k === null ? Number.MAX_SAFE_INTEGER : order.includes(k) ? order.indexOf(k) : order.length);
  const keys = [...byKey.keys()].sort((a, b) => {
    if (groupBy === 'stage') return rank(a) - rank(b) || String(a).localeCompare(String(b));
    if (a === null || b === null) return a === null ? 1 : -1;
    return groupBy === 'cohort' ? a.localeCompare(b) : byKey.get(b)!.cases - byKey.get(a)!.cases || a.localeCompare(b);
  });
  const labelOf = (k: string | null) =>
    k === null ? (groupBy === 'channel' ? 'no channel' : groupBy === 'stage' ? 'no stage' : 'no cohort') : groupBy === 'stage' ? stageLabel(document, k) : k;

  return {
    asOf: filter.asOf.toISOString(),
    groupBy,
    frictions: [...frictions, ...recordedElsewhere].map((f) => ({ ...f, cases: overall.frictions[f.id] ?? 0, firstSessionErrors: errorsByFriction.get(f.id) ?? noErrors() })),
    groups: keys.map((k) => ({ key: k, label: labelOf(k), ...byKey.get(k)! })),
    overall,
  };
}
