import ms from 'ms';
import type pg from 'pg';
import type { AlertCondition } from './alert-condition.ts';
import type { AlertsDocument } from '../rules/alerts-schema.ts';

type Settings = AlertsDocument['sourceSilent'];

/** A source that received requests, and when it last did (source_stats). */
export interface SourceLastReceived {
  source: string;
  lastReceivedAt: Date;
}

/** `import` replays the past on demand: its quiet is normal (as in GET /v1/sources). */
const BACKFILL = 'import';

const quietFor = (milliseconds: number) => (milliseconds >= 86_400_000 ? `${(milliseconds / 86_400_000).toFixed(1)} days` : `${(milliseconds / 3_600_000).toFixed(1)} h`);

/**
 * A source gone silent: nothing received for longer than `after`. The period is its last request,
 * so a source that comes back and goes quiet again is a new alert.
 */
export function sourceSilent(sources: readonly SourceLastReceived[], settings: Settings, now: Date): AlertCondition[] {
  const after = ms(settings.after as ms.StringValue);
  return sources
    .filter((s) => s.source !== BACKFILL && now.getTime() - s.lastReceivedAt.getTime() > after)
    .map((s) => ({
      kind: 'sourceSilent' as const,
      subject: s.source,
      period: s.lastReceivedAt.toISOString(),
      summary: `The ${s.source} source has received nothing for ${quietFor(now.getTime() - s.lastReceivedAt.getTime())} (last at ${s.lastReceivedAt.toISOString()}; alert after ${settings.after})`,
      detail: { source: s.source, lastReceivedAt: s.lastReceivedAt.toISOString(), after: settings.after },
      view: { query: {}, panel: 'dataQuality' },
    }));
}

/** Every source that received requests, from the counts the API processes flush each second. */
export async function measureSources(pool: pg.Pool): Promise<SourceLastReceived[]> {
  const { rows } = await pool.query<{ source: string; last_received_at: Date }>('SELECT source, last_received_at FROM source_stats');
  return rows.map((r) => ({ source: r.source, lastReceivedAt: r.last_received_at }));
}
