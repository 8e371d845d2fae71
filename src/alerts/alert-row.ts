import type { AlertKind } from '../rules/alerts-schema.ts';

/** An `alerts` row as the evaluator and the API read it. */
export interface AlertRow {
  id: string;
  kind: AlertKind;
  subject: string;
  period: string;
  /** The figures measured, with `summary`, the sentence the message carries. */
  detail: Record<string, unknown>;
  link: string;
  fired_at: Date;
  cleared_at: Date | null;
  slack_channel: string | null;
  slack_ts: string | null;
  /** Slack refused the message for good: its error code; the message is not posted again. */
  slack_error: string | null;
}

/** The columns of an AlertRow, for SELECT and RETURNING. */
export const ALERT_COLUMNS = 'id::text, kind, subject, period, detail, link, fired_at, cleared_at, slack_channel, slack_ts, slack_error';
