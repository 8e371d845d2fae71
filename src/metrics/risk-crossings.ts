import type pg from 'pg';
import type { FunnelVersion, ReadFunnelInForce } from '../funnel/funnel-in-force.ts';
import { stageIds } from '../funnel/funnel-in-force.ts';
import { riskSegmentKey, type RiskCrossings } from '../journey/risk-crossings.ts';
import { durationMs } from '../rules/duration.ts';
import { DEFAULT_STALLS, type EscalationPolicyDocument } from '../rules/escalation-policy-schema.ts';
import { ACCOUNT_TYPES, ACQUISITION_CHANNELS, type RulesDocument } from '../rules/rules-schema.ts';
import type { ReadRulesInForce, RulesInForce } from '../rules/rules-in-force.ts';
import { developerRisk, type RiskModel } from './stagnation-risk.ts';
import { RiskModels } from './stagnation-risk-query.ts';

/**
 * The risk criteria's crossings (src/journey/risk-crossings.ts), measured on the risk model: for
 * each criterion and segment, the first whole hour in the stage, from the criterion's earliest,
 * at which the developer's risk (developerRisk: the segment's curve, else the stage's) is above
 * the threshold. Hourly, because a nudge or an escalation an hour later changes nothing, and the
 * scan stays a few thousand steps per segment whatever the cohort's size.
 */

const HOUR_MS = 3_600_000;

/** A risk criterion: the stage whose risk it watches, its threshold, and how soon (time in the stage) it may act. */
interface RiskCriterion {
  key: string;
  stage: string;
  above: number;
  earliestMs: number;
}

/** The risk criteria of the rules (`when.risk`) and the policy's stalls (`risk`). */
export function riskCriteria(rules: RulesDocument | undefined, policy: EscalationPolicyDocument | undefined): RiskCriterion[] {
  const fromRules = (rules?.rules ?? []).flatMap((rule) => {
    const when = rule.when;
    if (!('stage' in when) || when.risk === undefined) return [];
    const after = when.after === undefined ? 0 : durationMs(when.after);
    return [{ key: `rule:${rule.id}`, stage: when.stage, above: when.risk.above, earliestMs: after }];
  });
  const fromStalls = (policy?.criteria.stalls ?? []).flatMap((stall) => {
    if (stall.risk === undefined) return [];
    const notBefore = stall.risk.notBefore === undefined ? 0 : durationMs(stall.risk.notBefore);
    return [{ key: `stall:${stall.id}`, stage: stall.since, above: stall.risk.above, earliestMs: notBefore }];
  });
  return [...fromRules, ...fromStalls];
}

/** The first hour step from `fromMs` at which the risk is above `above`; null when none is before the curves stop telling. */
export function crossingMs(model: RiskModel, stageIndex: number, segment: { channel: string | null; accountType: string | null }, above: number, fromMs: number): number | null {
  const stage = model.stages[stageIndex];
  if (stage === undefined) return null;
  // Beyond the longest observed spell less the window, no curve has anyone at risk: the risk is unavailable from there on.
  const horizon = (stage.overall.durations.at(-1) ?? 0) - stage.windowMs;
  for (let t = fromMs; t <= horizon; t += HOUR_MS) {
    const { risk } = developerRisk(model, { stageIndex, stageAtMs: model.asOfMs - t, ...segment });
    if (risk !== null && risk > above) return t;
  }
  return null;
}

/** Every segment a developer can be in: each channel and account type, known or not. */
const SEGMENTS = [...ACQUISITION_CHANNELS, null].flatMap((channel) => [...ACCOUNT_TYPES, null].map((accountType) => ({ channel, accountType })));

/** The crossings of every risk criterion in every segment, on one model; undefined without risk criteria. */
export function measureRiskCrossings(model: RiskModel, stages: readonly string[], criteria: readonly RiskCriterion[]): RiskCrossings | undefined {
  if (criteria.length === 0) return undefined;
  const measured: RiskCrossings['criteria'] = {};
  for (const criterion of criteria) {
    const index = stages.indexOf(criterion.stage);
    measured[criterion.key] = Object.fromEntries(
      SEGMENTS.map((segment) => [
        riskSegmentKey(segment.channel, segment.accountType),
        index === -1 ? null : crossingMs(model, index, segment, criterion.above, criterion.earliestMs),
      ]),
    );
  }
  return { asOf: new Date(model.asOfMs).toISOString(), criteria: measured };
}

/** The crossings of the documents' risk criteria on the curves of `pool`'s history up to `hour` (undefined without risk criteria). */
export async function crossingsOnHistory(
  models: RiskModels,
  funnel: FunnelVersion,
  documents: { rules: RulesDocument | undefined; policy: EscalationPolicyDocument | undefined },
  hour: Date,
): Promise<RiskCrossings | undefined> {
  const criteria = riskCriteria(documents.rules, documents.policy);
  if (criteria.length === 0) return undefined;
  const model = await models.asOf(hour, funnel, documents.policy?.criteria.stalls ?? DEFAULT_STALLS);
  return measureRiskCrossings(model, stageIds(funnel.document), criteria);
}

/** The start of the UTC hour of `ms`: the curves' instant. */
export const hourOf = (ms: number) => new Date(Math.floor(ms / HOUR_MS) * HOUR_MS);

/**
 * The worker's read of the rules in force, with the crossings of their risk criteria beside them:
 * measured on the curves of the start of the current hour (RiskModels), once per hour, rules,
 * policy and funnel version, and shared by every journey that reads them meanwhile.
 */
export function withRiskCrossings(read: ReadRulesInForce, pool: pg.Pool, funnelInForce: ReadFunnelInForce, now = () => Date.now()): ReadRulesInForce {
  const models = new RiskModels(pool, HOUR_MS, now);
  let kept: { key: string; crossings: Promise<RiskCrossings | undefined> } | undefined;
  return async (): Promise<RulesInForce> => {
    const inForce = await read();
    const documents = { rules: inForce.rules?.document, policy: inForce.policy?.document };
    if (riskCriteria(documents.rules, documents.policy).length === 0) return inForce;
    const funnel = await funnelInForce();
    const hour = hourOf(now());
    const key = JSON.stringify([hour.getTime(), inForce.rules?.version, inForce.policy?.version, funnel.version]);
    if (kept?.key !== key) {
      const crossings = crossingsOnHistory(models, funnel, documents, hour);
      kept = { key, crossings };
      crossings.catch(() => {
        if (kept?.key === key) kept = undefined;
      });
    }
    const risk = await kept.crossings;
    return risk ? { ...inForce, risk } : inForce;
  };
}
