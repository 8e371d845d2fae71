import type pg from 'pg';
import type { AlertKind } from '../rules/alerts-schema.ts';
import { ALERT_COLUMNS, type AlertRow } from './alert-row.ts';

export interface FiredAlert {
  id: string;
  kind: AlertKind;
  subject: string;
  period: string;
  summary: string;
  detail: Record<string, unknown>;
  link: string;
  firedAt: string;
  clearedAt: string | null;
  slack: { channel: string; ts: string | null; error: string | null } | null;
}

/** The alerts fired, newest first: open or cleared ones only when `open` says so, of one kind when `kind` does. */
export async function recentAlerts(pool: pg.Pool, { open, kind, limit }: { open?: boolean | undefined; kind?: AlertKind | undefined; limit: number }): Promise<FiredAlert[]> {
  const { rows } = await pool.query<AlertRow>(
    `SELECT ${ALERT_COLUMNS} FROM alerts
      WHERE ($1::boolean IS NULL OR (cleared_at IS NULL) = $1) AND ($2::text IS NULL OR kind = $2)
      ORDER BY fired_at DESC, id DESC LIMIT $3`,
    [open ?? null, kind ?? null, limit],
  );
  return rows.map(({ detail: { summary, ...detail }, ...r }) => ({
    id: r.id,
    kind: r.kind,
    subject: r.subject,
    period: r.period,
    summary: String(summary ?? ''),
    detail,
    link: r.link,
    firedAt: r.fired_at.toISOString(),
    clearedAt: r.cleared_at?.toISOString() ?? null,
    slack: r.slack_channel === null ? null : { channel: r.slack_channel, ts: r.slack_ts, error: r.slack_error },
  }));
}
