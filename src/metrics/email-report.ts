import type pg from 'pg';
import { stageIds, type FunnelVersion } from '../funnel/funnel-in-force.ts';
import { EFFECT_WINDOW_DAYS } from './email-engagement.ts';
import { queryWithoutJit } from '../db/sql.ts';
import { filteredDevelopersSql, stageRowsSql, type DeveloperFilter } from './metrics-query.ts';

/**
 * How each template's emails did, and each rule's: sent, opened and clicked by a person (machines'
 * opens and clicks left out), the readers' "was this helpful?" answers, and conversion: the
 * developer reached a stage after the one the nudge was sent in within EFFECT_WINDOW_DAYS of the
 * send (not converted with the window still open at asOf: excluded).
 */

export interface EmailFigures {
  sent: number;
  opened: number;
  clicked: number;
  /** Answers to "was this helpful?": yes and no, and the share of yes (null without answers). */
  helpful: { yes: number; no: number; rate: number | null };
  converted: number;
  /** Sent less excluded: conversion's denominator. */
  eligible: number;
  conversionRate: number | null;
}

export interface EmailReport {
  asOf: string;
  windowDays: number;
  templates: (EmailFigures & { template: string })[];
  rules: (EmailFigures & { ruleId: string; template: string })[];
}

interface Row {
  /** 1 for a template's row (all its rules), 0 for a rule's. */
  per_template: number;
  rule_id: string | null;
  template: string;
  sent: string;
  opened: string;
  clicked: string;
  yes: string;
  no: string;
  converted: string;
  excluded: string;
}

export async function emailReport(pool: pg.Pool, filter: DeveloperFilter, { version: funnelVersion, document }: FunnelVersion): Promise<EmailReport> {
  const params: unknown[] = [];
  const developers = filteredDevelopersSql(filter, params);
  params.push(stageIds(document));
  const ranks = `$${params.length}::text[]`;
  // An engagement event names the email by its Message-ID (`properties.messageId`), as the provider or the tracking link reported it.
  const engaged = (type: string, extra = '') =>
    `EXISTS (SELECT 1 FROM events e WHERE e.kept AND e.developer_id = em.developer_id AND e.type = '${type}' AND e.properties->>'messageId' = em.message_id
                AND e.occurred_at <= $1 AND NOT coalesce((e.properties->>'machine')::boolean, false) ${extra})`;
  const rows = await queryWithoutJit<Row>(
    pool,
    `WITH devs AS (${developers}),
          sent AS MATERIALIZED (
            SELECT em.rule_id, em.template, em.sent_at,
                   ${engaged('email.opened')} AS opened,
                   ${engaged('email.clicked')} AS clicked,
                   ${engaged('email.feedback', `AND (e.properties->>'helpful')::boolean`)} AS yes,
                   ${engaged('email.feedback', `AND NOT (e.properties->>'helpful')::boolean`)} AS no,
                   EXISTS (SELECT 1 FROM nudge_decisions nd JOIN journey_stages js ON js.developer_id = nd.developer_id
                            WHERE nd.developer_id = em.developer_id AND em.id = nd.developer_id || '/' || nd.nudge_key AND nd.outcome = 'sent'
                              AND array_position(${ranks}, js.stage) > array_position(${ranks}, nd.inputs->>'stage')
                              AND ${stageRowsSql('js', funnelVersion)}
                              AND js.reached_at <= least(em.sent_at + interval '${EFFECT_WINDOW_DAYS} days', $1)) AS converted
              FROM emails em JOIN devs ON devs.id = em.developer_id
             WHERE em.status = 'sent' AND em.sent_at <= $1)
     SELECT GROUPING(rule_id) AS per_template, rule_id, template, count(*) AS sent, count(*) FILTER (WHERE opened) AS opened, count(*) FILTER (WHERE clicked) AS clicked,
            count(*) FILTER (WHERE yes) AS yes, count(*) FILTER (WHERE no) AS no, count(*) FILTER (WHERE converted) AS converted,
            count(*) FILTER (WHERE NOT converted AND sent_at + interval '${EFFECT_WINDOW_DAYS} days' > $1) AS excluded
       FROM sent GROUP BY GROUPING SETS ((template), (rule_id, template)) ORDER BY template, rule_id NULLS FIRST`,
    params,
  );
  const figures = (r: Row): EmailFigures => {
    const yes = Number(r.yes);
    const no = Number(r.no);
    const eligible = Number(r.sent) - Number(r.excluded);
    const converted = Number(r.converted);
    return {
      sent: Number(r.sent),
      opened: Number(r.opened),
      clicked: Number(r.clicked),
      helpful: { yes, no, rate: yes + no === 0 ? null : yes / (yes + no) },
      converted,
      eligible,
      conversionRate: eligible === 0 ? null : converted / eligible,
    };
  };
  return {
    asOf: filter.asOf.toISOString(),
    windowDays: EFFECT_WINDOW_DAYS,
    templates: rows.filter((r) => r.per_template === 1).map((r) => ({ template: r.template, ...figures(r) })),
    rules: rows.filter((r) => r.per_template === 0).map((r) => ({ ruleId: r.rule_id ?? '', template: r.template, ...figures(r) })),
  };
}
