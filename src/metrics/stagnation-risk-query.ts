import type pg from 'pg';
import { stageIds, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { durationMs } from '../rules/rules-schema.ts';
import type { StallCriterion } from '../rules/escalation-policy-schema.ts';
import { filteredDevelopersSql, stageRowsSql } from './metrics-query.ts';
import { DEFAULT_WINDOW_MS, developerRisk, riskModel, type DeveloperHistory, type RiskModel } from './stagnation-risk.ts';

/**
 * The stagnation risk's data: every developer signed up by asOf (the cohort's history, whatever
 * the list's filters: they narrow who is shown, not what the curves learn from) with when they
 * reached each stage of the funnel in force, read once per request.
 */

/**
 * A stage's window W: the `after` of the escalation policy's first stall criterion that starts
 * from it (the delay after which the policy calls it stalled), DEFAULT_WINDOW_MS for a stage none
 * starts from. One window per stage: organisations' shorter `organizationAfter` is not used.
 */
export function stageWindowsMs(ids: readonly string[], stalls: readonly StallCriterion[]): number[] {
  return ids.map((id) => {
    const stall = stalls.find((s) => s.since === id);
    return stall === undefined ? DEFAULT_WINDOW_MS : durationMs(stall.after);
  });
}

interface Row {
  id: string;
  channel: string | null;
  account_type: string | null;
  ranks: number[];
  reached: number[];
}

async function histories(pool: pg.Pool, asOf: Date, funnelVersion: number, ids: readonly string[]): Promise<DeveloperHistory[]> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql({ asOf }, params);
  const ranks = `$${params.push(ids)}`;
  // One aggregate over the stage rows (a hash join), not a lookup per developer and stage; developers with no stage row have no spell to give.
  const { rows } = await pool.query<Row>(
    `WITH devs AS (${developers})
     SELECT d.id, d.acquisition_channel AS channel, d.account_type, r.ranks, r.reached
       FROM (SELECT js.developer_id, array_agg(array_position(${ranks}::text[], js.stage)) AS ranks,
                    array_agg((extract(epoch FROM js.reached_at) * 1000)::float8) AS reached
               FROM journey_stages js
              WHERE ${stageRowsSql('js', funnelVersion)} AND js.stage = ANY(${ranks}::text[])
              GROUP BY js.developer_id) r
       JOIN devs ON devs.id = r.developer_id
       JOIN developers d ON d.id = r.developer_id`,
    params,
  );
  return rows.map((r) => {
    const reached: (number | null)[] = ids.map(() => null);
    r.ranks.forEach((rank, i) => (reached[rank - 1] = r.reached[i]!));
    return { id: r.id, channel: r.channel, accountType: r.account_type, reached };
  });
}

/** The curves as of asOf, and the history of every developer they were built from (by id). */
export async function loadRiskModel(
  pool: pg.Pool,
  asOf: Date,
  { version, document }: FunnelVersion,
  stalls: readonly StallCriterion[],
): Promise<{ model: RiskModel; histories: ReadonlyMap<string, DeveloperHistory> }> {
  const ids = stageIds(document);
  const all = await histories(pool, asOf, version, ids);
  return { model: riskModel(all, stageWindowsMs(ids, stalls), asOf.getTime()), histories: new Map(all.map((h) => [h.id, h])) };
}

/** Every developer's risk (null: unavailable, or no stage), for the list's field and its sort. */
export function risksById(model: RiskModel, histories: ReadonlyMap<string, DeveloperHistory>): Map<string, number | null> {
  return new Map([...histories].map(([id, history]) => [id, developerRisk(model, history).risk]));
}
