import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.ts';
import type { IngestEvent } from '../../src/events/event-schemas.ts';
import { funnelFormat } from '../../src/funnel/funnel-file.ts';
import { previewFunnel } from '../../src/preview/funnel-preview.ts';
import { EventIngestor } from '../../src/ingest/event-ingestor.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { shippedFunnelStages } from '../support/shipped-funnel.ts';
import { SHIPPED_STAGES } from '../../src/journey/stages.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * `onramp funnel preview`: a candidate funnel over a hand-written history, every figure counted by
 * hand below. The candidate keeps three of the seven stage ids and redefines the first call: a
 * successful charge, the health check excluded.
 */

const CANDIDATE = `stages:
  - id: account_created
    evidence: [{ event: developer.signed_up }]
  - id: first_api_call
    role: first_call
    evidence: [{ request: { status: 2xx, endpoint: "/v1/charges/**", exclude: [/v1/health] } }]
  - id: production_deployment
    role: production
    evidence: [{ request: { status: 2xx, endpoint: "/v1/charges/**", mode: live } }]
`;

const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 10, 2 + day, hour)).toISOString(); // 2026-11-02 is the Monday of ISO week 45
const signup = (dev: string, day: number): IngestEvent =>
  ({
    id: `${dev}-signup`,
    type: 'developer.signed_up',
    developerId: dev,
    occurredAt: at(day),
    properties: { email: `${dev}@example.com`, accountType: 'individual', acquisitionChannel: 'paid' },
  }) as IngestEvent;
const call = (dev: string, n: number, day: number, endpoint: string, status: number, mode = 'test'): IngestEvent =>
  ({ id: `${dev}-r${n}`, type: 'api.request', developerId: dev, occurredAt: at(day, n), properties: { endpoint, method: 'POST', status, mode } }) as IngestEvent;

// a: charges in test, then live: the same stage under both funnels (production_deployment).
// b: a 401, then a charge: first_api_call under both.
// c: only the health check: first_api_call today, account_created under the candidate.
// d: reads the docs, never signs up: intent today, no stage under the candidate.
const HISTORY: IngestEvent[] = [
  signup('a', 0),
  call('a', 1, 0, '/v1/health', 200),
  call('a', 2, 1, '/v1/charges', 201),
  call('a', 3, 2, '/v1/charges/ch_1/capture', 200, 'live'),
  signup('b', 1),
  call('b', 1, 1, '/v1/charges', 401),
  call('b', 2, 1, '/v1/charges', 200),
  signup('c', 8),
  call('c', 1, 8, '/v1/health', 200),
  { id: 'd-docs', type: 'docs.viewed', developerId: 'd', occurredAt: at(3), properties: { path: '/docs' } } as IngestEvent,
];

describe('funnel preview', () => {
  let database: MigratedDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'onramp-funnel-preview-'));
  const candidateFile = join(dir, 'candidate.yaml');
  writeFileSync(candidateFile, CANDIDATE);

  /**
   * A pool for `use` alone, closed after: on PGlite (one session at a time) an idle connection
   * left in a pool would keep the CLI's connection waiting.
   */
  async function withPool<T>(use: (pool: pg.Pool) => Promise<T>): Promise<T> {
    const db = openDatabase(database.url, { max: 1 });
    try {
      return await use(db.pool);
    } finally {
      await db.close();
    }
  }

  beforeAll(async () => {
    database = await openMigratedDatabase(databaseBackends()[0]!);
    await withPool(async (pool) => {
      await new EventIngestor(pool).ingest(HISTORY);
      // What the running journeys recorded: the shipped funnel's stages of each developer's events,
      // and the furthest as the read model's current stage.
      for (const dev of ['a', 'b', 'c', 'd']) {
        const stages = shippedFunnelStages(HISTORY.filter((e) => e.developerId === dev));
        for (const [stage, { at: reachedAt, causeEventId }] of Object.entries(stages)) {
          await pool.query('INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ($1, $2, $3, $4)', [dev, stage, reachedAt, causeEventId]);
        }
        const current = SHIPPED_STAGES.findLast((stage) => stage in stages);
        if (current) await pool.query('UPDATE developers SET stage = $2, stage_at = $3 WHERE id = $1', [dev, current, stages[current]!.at]);
      }
    });
  });
  afterAll(async () => {
    await database?.close();
  });

  it('counts each stage, the conversion from the stage before, the weekly cohorts and the developers who would move', async () => {
    const parsed = funnelFormat.parse(CANDIDATE);
    if (!parsed.ok) throw new Error('candidate is invalid');
    const done: number[] = [];
    const preview = await withPool((pool) => previewFunnel(pool, parsed.document, { batchSize: 3, onProgress: (n) => done.push(n) }));
    expect(done).toEqual([3, 4]); // in batches of 3 developers
    expect(preview.developers).toBe(4);
    expect(preview.stages).toEqual([
      { id: 'account_created', reached: 3, conversion: null },
      { id: 'first_api_call', reached: 2, conversion: 2 / 3 },
      { id: 'production_deployment', reached: 1, conversion: 1 / 2 },
    ]);
    expect(preview.cohorts).toEqual([
      { week: '2026-W45', developers: 2, reached: [2, 2, 1] },
      { week: '2026-W46', developers: 1, reached: [1, 0, 0] },
      { week: null, developers: 1, reached: [0, 0, 0] },
    ]);
    expect(preview.changed).toEqual({
      count: 2,
      sample: [
        { developerId: 'c', from: 'first_api_call', to: 'account_created' },
        { developerId: 'd', from: 'intent', to: null },
      ],
    });
  });

  it('runs as `onramp funnel preview`: a readable report; an invalid file exits 1 with its errors, no DATABASE_URL exits 2', async () => {
    const report = await runOnramp(['funnel', 'preview', candidateFile], { DATABASE_URL: database.url });
    expect(report.stderr).toBe('');
    expect(report.code).toBe(0);
    expect(report.stdout).toContain('4 developers with events');
    expect(report.stdout).toMatch(/^first_api_call\s+2 {2}66\.7 %$/m);
    expect(report.stdout).toMatch(/^ {2}2026-W45\s+2 {2}2 → 2 → 1$/m);
    expect(report.stdout).toContain('2 developers would be in another stage than recorded today:\n  c: first_api_call → account_created\n  d: intent → (none)');

    const invalid = join(dir, 'invalid.yaml');
    writeFileSync(invalid, CANDIDATE.replace('role: production', 'role: first_call'));
    const refused = await runOnramp(['funnel', 'preview', invalid], { DATABASE_URL: database.url });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/stages\[2\] \(production_deployment\) role: role first_call is already stage first_api_call's/);

    const noDatabase = await runOnramp(['funnel', 'preview', candidateFile]);
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toMatch(/DATABASE_URL/);
  }, 60_000);
});
