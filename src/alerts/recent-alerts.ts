import type pg from 'pg';
import type { AlertKind } from '../rules/alerts-schema.ts';

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
  slack: { channel: string; ts: string | null } | null;
}

interface Row {
  id: string;
  kind: AlertKind;
  subject: string;
  period: string;
  detail: Record<string, unknown>;
  link: string;
  fired_at: Date;
  cleared_at: Date | null;
  slack_channel: string | null;
  slack_ts: string | null;
}

/** The alerts fired, newest first: open or cleared ones only when `open` says so, of one kind when `kind` does. */
export async function recentAlerts(pool: pg.Pool, { open, kind, limit }: { open?: boolean | undefined; kind?: AlertKind | undefined; limit: number }): Promise<FiredAlert[]> {
  const { rows } = await pool.query<Row>(
    `SELECT id::text, kind, subject, period, detail, link, fired_at, cleared_at, slack_channel, slack_ts FROM alerts
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
    slack: r.slack_channel === null ? null : { channel: r.slack_channel, ts: r.slack_ts },
  }));
}
