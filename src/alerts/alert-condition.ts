import type { AlertKind } from '../rules/alerts-schema.ts';

/**
 * What a detector finds: one condition that holds now. `kind`, `subject` and `period` name it (the
 * same condition seen again is the same alert, until it clears); the rest is for the message.
 */
export interface AlertCondition {
  kind: AlertKind;
  /** `account_created:first_api_call:7d`, `p90`, `POST /v1/charges`, `segment`. */
  subject: string;
  /** `2026-W49`, the last request's instant, or '' for a condition with no period. */
  period: string;
  /** One line a person reads: what is wrong, with the figures. */
  summary: string;
  /** The figures measured. */
  detail: Record<string, unknown>;
  /** The dashboard view that shows it: its query parameters and the panel (the element id). */
  view: { query: Record<string, string>; panel: string };
}

/** The condition's identity: one open alert per key. */
export const conditionKey = (c: Pick<AlertCondition, 'kind' | 'subject' | 'period'>) => `${c.kind}/${c.subject}/${c.period}`;

/** `12.5%` */
export const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
