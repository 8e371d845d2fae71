import type pg from 'pg';
import { stageIds, stageLabel, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { filteredDevelopersSql, stageRowsSql, type DeveloperFilter } from './metrics-query.ts';
import { waldDifference } from './proportion-stats.ts';

/**
 * Email engagement segments over signup cohorts (docs/concepts/funnel.md#email-engagement-segments) and the nudge effect: conversion of
 * nudged against holdout developers per stage, with a 95 % confidence interval of the difference.
 */

export const SEGMENTS = ['high', 'medium', 'none', 'new'] as const;
export type Segment = (typeof SEGMENTS)[number];

/** Days after the decision within which a developer must reach a later stage to count as converted. */
export const EFFECT_WINDOW_DAYS = 14;

export type SegmentCounts = Record<Segment, number>;

export interface GroupFigures {
  /** In the group, less the excluded: the denominator. */
  eligible: number;
  converted: number;
  rate: number | null;
  /** Not converted, window still open at asOf. */
  excluded: number;
}

export interface StageEffect {
  stage: string;
  /** How people see the stage (stageLabel). */
  label: string;
  nudged: GroupFigures;
  holdout: GroupFigures;
  /** nudged.rate − holdout.rate; null when either is. */
  difference: number | null;
  /** Wald interval of the difference; null when either group has no eligible developer. */
  ci95: { low: number; high: number } | null;
}

export interface EngagementReport {
  asOf: string;
  noEngagementAfterSends: number;
  overall: { developers: number; segments: SegmentCounts };
  cohorts: { cohort: string; developers: number; segments: SegmentCounts; nudgeEffect: StageEffect[] }[];
  nudgeEffect: { windowDays: number; stages: StageEffect[] };
}

const emptyCounts = (): SegmentCounts => ({ high: 0, medium: 0, none: 0, new: 0 });

/** A developer's segment from their counts as of asOf: opens, clicks, sent nudges, and the `none` threshold (SQL expressions). */
function segmentSql(opened: string, clicked: string, sends: string, threshold: string): string {
  return `CASE WHEN coalesce(${opened}, 0) >= 3 AND coalesce(${clicked}, 0) >= 1 THEN 'high'
               WHEN coalesce(${opened}, 0) >= 1 THEN 'medium'
               WHEN coalesce(${sends}, 0) >= ${threshold} THEN 'none'
               ELSE 'new' END`;
}

/**
 * Opens and clicks a person made by asOf ($1): tracking pixels fetched by mail scanners (`machine`)
 * are not theirs. `kept`: events other than api.request are all in the kept partition, so the
 * requests' months are never read.
 */
const PERSON_EMAIL_EVENTS = `kept AND type IN ('email.opened', 'email.clicked') AND occurred_at <= $1 AND properties->'machine' IS DISTINCT FROM 'true'::jsonb`;
const OPENED = `count(*) FILTER (WHERE type = 'email.opened')`;
const CLICKED = `count(*) FILTER (WHERE type = 'email.clicked')`;

/** One developer's segment as of asOf ($1), `developerId` an SQL expression: for the developers behind a segment. */
export function developerSegmentSql(developerId: string, threshold: string): string {
  return `(SELECT ${segmentSql('email.opened', 'email.clicked', 'sends.n', threshold)}
             FROM (SELECT ${OPENED} AS opened, ${CLICKED} AS clicked FROM events WHERE developer_id = ${developerId} AND ${PERSON_EMAIL_EVENTS}) email,
                  (SELECT count(*) AS n FROM nudge_decisions WHERE developer_id = ${developerId} AND outcome = 'sent' AND decided_at <= $1) sends)`;
}

/** The Wald interval of the difference of the two groups' rates (proportion-stats.ts). */
export function differenceOfProportions(a: GroupFigures, b: GroupFigures): Pick<StageEffect, 'difference' | 'ci95'> {
  if (a.rate === null || b.rate === null) return { difference: null, ci95: null };
  return waldDifference(a.rate, a.eligible, b.rate, b.eligible);
}

export async function emailEngagement(
  pool: pg.Pool,
  filter: DeveloperFilter,
  { version: funnelVersion, document }: FunnelVersion,
  noEngagementAfterSends: number,
): Promise<EngagementReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  params.push(noEngagementAfterSends);
  const threshold = `$${params.length}`;
  // Two independent queries, run side by side on two connections.
  const [segments, stages] = await Promise.all([
    pool.query<{ cohort: string | null; segment: Segment; developers: string }>(
      `WITH devs AS (${developers}),
          sends AS (SELECT developer_id, count(*) AS n FROM nudge_decisions WHERE outcome = 'sent' AND decided_at <= $1 GROUP BY developer_id),
          email AS (SELECT developer_id, ${OPENED} AS opened, ${CLICKED} AS clicked
                      FROM events WHERE ${PERSON_EMAIL_EVENTS} GROUP BY developer_id),
          seg AS (SELECT devs.cohort,
                         ${segmentSql('email.opened', 'email.clicked', 'sends.n', threshold)} AS segment
                    FROM devs LEFT JOIN sends ON sends.developer_id = devs.id LEFT JOIN email ON email.developer_id = devs.id)
     SELECT cohort, segment, count(*) AS developers FROM seg GROUP BY GROUPING SETS ((cohort, segment), (segment)) ORDER BY cohort NULLS FIRST`,
      params,
    ),
    nudgeEffect(pool, filter, { version: funnelVersion, document }),
  ]);

  const overall = { developers: 0, segments: emptyCounts() };
  const cohorts = new Map<string, { cohort: string; developers: number; segments: SegmentCounts; nudgeEffect: StageEffect[] }>();
  for (const row of segments.rows) {
    const n = Number(row.developers);
    const target =
      row.cohort === null
        ? overall
        : (cohorts.get(row.cohort) ??
          cohorts.set(row.cohort, { cohort: row.cohort, developers: 0, segments: emptyCounts(), nudgeEffect: stages.get(row.cohort) ?? [] }).get(row.cohort)!);
    target.developers += n;
    target.segments[row.segment] += n;
  }

  return {
    asOf: filter.asOf.toISOString(),
    noEngagementAfterSends,
    overall,
    cohorts: [...cohorts.values()].sort((a, b) => a.cohort.localeCompare(b.cohort)),
    nudgeEffect: { windowDays: EFFECT_WINDOW_DAYS, stages: stages.get(null) ?? [] },
  };
}

/**
 * Per stage the nudges acted on (`inputs.stage` of the decisions), overall (key null) and per
 * signup cohort: nudged = a `sent` decision in that stage; holdout = a decision with reason `holdout` in that stage and no `sent` one. The
 * group's clock starts at its first such decision; converted = reached any later stage no later
 * than EFFECT_WINDOW_DAYS after it; not converted with the window open at asOf = excluded. Stages
 * and their order are the funnel's: decisions in a stage it does not hold are left out.
 */
async function nudgeEffect(pool: pg.Pool, filter: DeveloperFilter, { version: funnelVersion, document }: FunnelVersion): Promise<Map<string | null, StageEffect[]>> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  params.push(stageIds(document));
  const ranks = `$${params.length}::text[]`;
  const { rows } = await pool.query<{ cohort: string | null; stage: string; grp: 'nudged' | 'holdout'; total: string; converted: string; excluded: string }>(
    `WITH devs AS (${developers}),
          d AS (SELECT nd.developer_id, devs.cohort, nd.inputs->>'stage' AS stage,
                       min(nd.decided_at) FILTER (WHERE nd.outcome = 'sent') AS sent_at, min(nd.decided_at) FILTER (WHERE nd.reason = 'holdout') AS holdout_at
                  FROM nudge_decisions nd JOIN devs ON devs.id = nd.developer_id
                 WHERE nd.decided_at <= $1 AND (nd.outcome = 'sent' OR nd.reason = 'holdout') AND array_position(${ranks}, nd.inputs->>'stage') IS NOT NULL
                 GROUP BY 1, 2, 3),
          c AS MATERIALIZED (
                SELECT d.cohort, d.stage, CASE WHEN d.sent_at IS NOT NULL THEN 'nudged' ELSE 'holdout' END AS grp, coalesce(d.sent_at, d.holdout_at) AS at,
                       EXISTS (SELECT 1 FROM journey_stages js
                                WHERE js.developer_id = d.developer_id
                                  AND array_position(${ranks}, js.stage) > array_position(${ranks}, d.stage)
                                  AND ${stageRowsSql('js', funnelVersion)} AND js.reached_at <= least(coalesce(d.sent_at, d.holdout_at) + interval '${EFFECT_WINDOW_DAYS} days', $1)) AS converted
                  FROM d)
     SELECT cohort, stage, grp, count(*) AS total, count(*) FILTER (WHERE converted) AS converted,
            count(*) FILTER (WHERE NOT converted AND at + interval '${EFFECT_WINDOW_DAYS} days' > $1) AS excluded
       FROM c GROUP BY GROUPING SETS ((stage, grp), (cohort, stage, grp)) ORDER BY array_position(${ranks}, stage)`,
    params,
  );
  const byCohort = new Map<string | null, Map<string, StageEffect>>();
  const empty = (): GroupFigures => ({ eligible: 0, converted: 0, rate: null, excluded: 0 });
  for (const row of rows) {
    const byStage = byCohort.get(row.cohort) ?? byCohort.set(row.cohort, new Map()).get(row.cohort)!;
    const effect =
      byStage.get(row.stage) ??
      byStage.set(row.stage, { stage: row.stage, label: stageLabel(document, row.stage), nudged: empty(), holdout: empty(), difference: null, ci95: null }).get(row.stage)!;
    const excluded = Number(row.excluded);
    const eligible = Number(row.total) - excluded;
    const converted = Number(row.converted);
    effect[row.grp] = { eligible, converted, rate: eligible === 0 ? null : converted / eligible, excluded };
  }
  return new Map(
    [...byCohort].map(([cohort, byStage]) => [cohort, [...byStage.values()].map((effect) => ({ ...effect, ...differenceOfProportions(effect.nudged, effect.holdout) }))]),
  );
}
