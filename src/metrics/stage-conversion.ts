import type pg from 'pg';
import { z } from 'zod';
import { STAGES, isStage, stageRank, type Stage } from '../journey/stages.ts';
import { BANDS, bandOf, type Band } from './conversion-bands.ts';
import { filteredDevelopersSql, type DeveloperFilter } from './metrics-query.ts';

/** A stage-to-stage conversion to measure: `from` → `to` within `windowDays` of reaching `from`. */
export interface TransitionSpec {
  from: Stage;
  to: Stage;
  windowDays: number;
}

/** Seed 000's three windows. */
export const DEFAULT_TRANSITIONS: readonly TransitionSpec[] = [
  { from: 'account_created', to: 'first_api_call', windowDays: 7 },
  { from: 'first_api_call', to: 'active_integration', windowDays: 14 },
  { from: 'active_integration', to: 'production_deployment', windowDays: 30 },
];

const MAX_TRANSITIONS = 12;
const MAX_WINDOW_DAYS = 365;

/**
 * `from:to:<n>d[,…]`, e.g. `account_created:first_api_call:7d,first_api_call:production_deployment:60d`.
 * Each `to` must come after its `from` in the funnel; windows are 1–365 whole days.
 */
export const transitionsParam = z
  .string()
  .transform((value, ctx): TransitionSpec[] => {
    const specs: TransitionSpec[] = [];
    const parts = value.split(',');
    if (parts.length > MAX_TRANSITIONS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_TRANSITIONS} transitions` });
      return z.NEVER;
    }
    for (const [index, part] of parts.entries()) {
      const problem = (message: string) => {
        ctx.addIssue({ code: 'custom', message: `transition ${index + 1} ("${part}"): ${message}` });
        return z.NEVER;
      };
      const fields = part.trim().split(':');
      if (fields.length !== 3) return problem('must be from:to:<days>d, e.g. account_created:first_api_call:7d');
      const [from, to, window] = fields as [string, string, string];
      if (!isStage(from)) return problem(`unknown stage "${from}" (one of ${STAGES.join(', ')})`);
      if (!isStage(to)) return problem(`unknown stage "${to}" (one of ${STAGES.join(', ')})`);
      if (stageRank(to) <= stageRank(from)) return problem(`"${to}" must come after "${from}" in the funnel`);
      const days = /^(\d{1,3})d$/.exec(window)?.[1];
      if (days === undefined || Number(days) < 1 || Number(days) > MAX_WINDOW_DAYS) return problem(`window "${window}" must be whole days, 1d to ${MAX_WINDOW_DAYS}d`);
      specs.push({ from, to, windowDays: Number(days) });
    }
    return specs;
  });

export interface TransitionFigures extends TransitionSpec {
  /** Reached `from` as of asOf, less the excluded: the denominator. */
  eligible: number;
  /** Of the eligible: reached `to` or any later stage no later than `windowDays` after reaching `from`. */
  converted: number;
  /** converted / eligible; null when no one is eligible. */
  rate: number | null;
  /** Reached `from`, not converted, and the window had not elapsed at asOf: left out of the denominator. */
  excluded: number;
  band: Band | null;
  /** The lowest band of the set (ties: the lowest rate); only banded transitions compete. */
  weakest: boolean;
}

export interface ConversionReport {
  asOf: string;
  overall: TransitionFigures[];
  cohorts: { cohort: string; developers: number; transitions: TransitionFigures[] }[];
}

interface Row {
  cohort: string | null;
  idx: number;
  developers: string;
  eligible: string;
  converted: string;
  excluded: string;
}

/**
 * Conversion per transition, overall and per signup cohort, in one query. A developer converts
 * when the first moment they stood at `to` or beyond (the earliest `reached_at` among `to` and the
 * later stages, so skipping `to` still counts) is no more than the window after `from`'s
 * `reached_at`. A later stage reached before `from` (a late-filled `from`) converts too: the
 * developer was already past it.
 */
export async function stageConversion(pool: pg.Pool, filter: DeveloperFilter, transitions: readonly TransitionSpec[]): Promise<ConversionReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  params.push(
    transitions.map((t) => t.from),
    transitions.map((t) => t.to),
    transitions.map((t) => t.windowDays),
    STAGES,
  );
  const n = params.length;
  const [froms, tos, windows, stages] = [n - 3, n - 2, n - 1, n].map((i) => `$${i}`);
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers}),
          t AS (SELECT * FROM unnest(${froms}::text[], ${tos}::text[], ${windows}::int[]) WITH ORDINALITY AS t(from_stage, to_stage, window_days, idx)),
          per AS (
            SELECT devs.id, devs.cohort, t.idx, f.reached_at AS from_at, f.reached_at + make_interval(days => t.window_days) AS window_end,
                   (SELECT min(s.reached_at) FROM journey_stages s
                     WHERE s.developer_id = devs.id AND s.reached_at <= $1
                       AND array_position(${stages}::text[], s.stage) >= array_position(${stages}::text[], t.to_stage)) AS to_at
              FROM devs CROSS JOIN t
              LEFT JOIN journey_stages f ON f.developer_id = devs.id AND f.stage = t.from_stage AND f.reached_at <= $1
          ),
          judged AS (
            SELECT *, (from_at IS NOT NULL AND to_at IS NOT NULL AND to_at <= window_end) AS converted FROM per
          )
     SELECT cohort, idx::int AS idx, count(DISTINCT id) AS developers,
            count(*) FILTER (WHERE from_at IS NOT NULL AND (converted OR window_end <= $1)) AS eligible,
            count(*) FILTER (WHERE converted) AS converted,
            count(*) FILTER (WHERE from_at IS NOT NULL AND NOT converted AND window_end > $1) AS excluded
       FROM judged
      GROUP BY GROUPING SETS ((cohort, idx), (idx))
      ORDER BY cohort NULLS FIRST, idx`,
    params,
  );

  const build = (pick: (idx: number) => Row | undefined) =>
    flagWeakest(
      transitions.map((spec, i) => {
        const row = pick(i + 1);
        const eligible = Number(row?.eligible ?? 0);
        const converted = Number(row?.converted ?? 0);
        const rate = eligible === 0 ? null : converted / eligible;
        return { ...spec, eligible, converted, rate, excluded: Number(row?.excluded ?? 0), band: bandOf(spec, rate), weakest: false };
      }),
    );

  const overallRows = rows.filter((r) => r.cohort === null);
  const cohortNames = [...new Set(rows.filter((r) => r.cohort !== null).map((r) => r.cohort as string))];
  return {
    asOf: filter.asOf.toISOString(),
    overall: build((idx) => overallRows.find((r) => r.idx === idx)),
    cohorts: cohortNames.map((cohort) => {
      const own = rows.filter((r) => r.cohort === cohort);
      return { cohort, developers: Number(own[0]?.developers ?? 0), transitions: build((idx) => own.find((r) => r.idx === idx)) };
    }),
  };
}

/** Marks the transition in the lowest band (ties: the lowest rate; then the first). */
function flagWeakest(figures: TransitionFigures[]): TransitionFigures[] {
  let weakest: TransitionFigures | undefined;
  for (const f of figures) {
    if (f.band === null || f.rate === null) continue;
    if (!weakest || BANDS.indexOf(f.band) > BANDS.indexOf(weakest.band!) || (f.band === weakest.band && f.rate < weakest.rate!)) weakest = f;
  }
  if (weakest) weakest.weakest = true;
  return figures;
}
