import pg from 'pg';
import { ingestEvent, type IngestEvent } from '../events/event-schemas.ts';
import type { EventFeed } from './event-feed.ts';

/**
 * The real history as a feed (preview mode c, "what would these rules have done last month"):
 * every stored event of the developers who signed up in [from, to), read through a cursor in one
 * read-only, repeatable-read transaction (a consistent snapshot; nothing is written to the source
 * database), moved forward by `shiftMs` so that it replays in the sandbox's future.
 *
 * Email opens and clicks are left out: they answered the emails that were actually sent, and the
 * candidate rules send others. Developers deleted (DELETE /v1/developers/:id) are left out too.
 */

const PAGE = 5000;

export interface HistoryWindow {
  from: Date;
  to: Date;
}

export interface HistorySummary {
  developers: number;
  events: number;
  /** The first event's time, ms (undefined: no events). */
  firstEventAt: number | undefined;
  /** Stored events that no longer pass the ingest schema (redacted, or written by an older version). */
  skipped: number;
  /** What the running rules actually did for these developers, from the source database. */
  actual: { emailsByRule: Record<string, number>; casesByCriterion: Record<string, number> };
}

const COHORT = `SELECT d.id FROM developers d
  WHERE d.signed_up_at >= $1 AND d.signed_up_at < $2
    AND NOT EXISTS (SELECT 1 FROM developer_deletions x WHERE x.developer_id = d.id)`;

/** Counts the window's developers and events, and what was actually sent and escalated for them. */
export async function summariseHistory(databaseUrl: string, window: HistoryWindow): Promise<Omit<HistorySummary, 'skipped'>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const params = [window.from, window.to];
    const [developers, events, emails, cases] = [
      await client.query<{ n: string }>(`SELECT count(*) AS n FROM (${COHORT}) c`, params),
      await client.query<{ n: string; first: Date | null }>(
        `SELECT count(*) AS n, min(e.occurred_at) AS first FROM events e WHERE e.developer_id IN (${COHORT}) AND e.type NOT IN ('email.opened', 'email.clicked')`,
        params,
      ),
      await client.query<{ rule_id: string; n: string }>(`SELECT rule_id, count(*) AS n FROM emails WHERE developer_id IN (${COHORT}) GROUP BY rule_id ORDER BY rule_id`, params),
      await client.query<{ criterion: string; n: string }>(
        `SELECT criterion, count(*) AS n FROM handoffs WHERE developer_id IN (${COHORT}) GROUP BY criterion ORDER BY criterion`,
        params,
      ),
    ];
    await client.query('COMMIT');
    return {
      developers: Number(developers.rows[0]!.n),
      events: Number(events.rows[0]!.n),
      firstEventAt: events.rows[0]!.first?.getTime(),
      actual: {
        emailsByRule: Object.fromEntries(emails.rows.map((r) => [r.rule_id, Number(r.n)])),
        casesByCriterion: Object.fromEntries(cases.rows.map((r) => [r.criterion, Number(r.n)])),
      },
    };
  } finally {
    await client.end();
  }
}

interface StoredEvent {
  id: string;
  type: string;
  developer_id: string;
  occurred_at: Date;
  properties: Record<string, unknown>;
}

/** The window's events, shifted by `shiftMs`, page by page through a server-side cursor. */
export class HistoryFeed implements EventFeed {
  private readonly client: pg.Client;
  private buffer: IngestEvent[] = [];
  private exhausted = false;
  private opened = false;
  /** Stored rows that failed the ingest schema (counted, not replayed). */
  skipped = 0;

  constructor(
    databaseUrl: string,
    private readonly window: HistoryWindow,
    private readonly shiftMs: number,
  ) {
    this.client = new pg.Client({ connectionString: databaseUrl });
  }

  private async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    await this.client.connect();
    await this.client.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await this.client.query(
      `DECLARE history NO SCROLL CURSOR FOR
       SELECT e.id, e.type, e.developer_id, e.occurred_at, e.properties FROM events e
       WHERE e.developer_id IN (${COHORT}) AND e.type NOT IN ('email.opened', 'email.clicked')
       ORDER BY e.occurred_at, e.id`,
      [this.window.from, this.window.to],
    );
  }

  /** Refills the buffer when it is empty; false once the cursor has nothing more. */
  private async fill(): Promise<boolean> {
    if (this.buffer.length > 0) return true;
    if (this.exhausted) return false;
    await this.open();
    const { rows } = await this.client.query<StoredEvent>(`FETCH ${PAGE} FROM history`);
    if (rows.length < PAGE) this.exhausted = true;
    for (const row of rows) {
      const parsed = ingestEvent.safeParse({
        id: row.id,
        type: row.type,
        developerId: row.developer_id,
        occurredAt: new Date(row.occurred_at.getTime() + this.shiftMs).toISOString(),
        properties: row.properties,
      });
      if (parsed.success) this.buffer.push(parsed.data);
      else this.skipped++;
    }
    return this.buffer.length > 0 || this.fill();
  }

  async nextTime(): Promise<number | undefined> {
    return (await this.fill()) ? Date.parse(this.buffer[0]!.occurredAt) : undefined;
  }

  async takeUntil(time: number): Promise<IngestEvent[]> {
    const taken: IngestEvent[] = [];
    while ((await this.fill()) && Date.parse(this.buffer[0]!.occurredAt) <= time) {
      const end = this.buffer.findIndex((e) => Date.parse(e.occurredAt) > time);
      taken.push(...this.buffer.splice(0, end === -1 ? this.buffer.length : end));
    }
    return taken;
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    await this.client.query('ROLLBACK').catch(() => {});
    await this.client.end();
  }
}
