import { Client } from '@temporalio/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type OnrampApp } from '../../src/api/build-app.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { applyMigrations } from '../../src/db/migrate.ts';
import { eventually } from '../support/eventually.ts';
import { postgresBinDir, startPrivatePostgres, startStandby, type PrivatePostgres } from '../support/private-postgres.ts';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';

const KEYS = { ingest: 'replica-test-ingest-key-0123', admin: 'replica-test-admin-key-01234' };
const AS_OF = '2026-11-20T00:00:00.000Z';
/** Every metrics endpoint (ONRAMP_METRICS_DATABASE_URL's readers), as of AS_OF where it takes one. */
const READS = [
  `/v1/metrics/conversion?asOf=${AS_OF}`,
  `/v1/metrics/ttfac?asOf=${AS_OF}`,
  `/v1/metrics/production?asOf=${AS_OF}`,
  `/v1/metrics/engagement?asOf=${AS_OF}`,
  `/v1/metrics/emails?asOf=${AS_OF}`,
  `/v1/metrics/automation?asOf=${AS_OF}`,
  `/v1/metrics/frictions?asOf=${AS_OF}`,
  `/v1/metrics/sdk?asOf=${AS_OF}`,
  `/v1/metrics/depth?asOf=${AS_OF}`,
  `/v1/metrics/errors?asOf=${AS_OF}`,
  `/v1/metrics/experiments?asOf=${AS_OF}`,
  `/v1/developers?asOf=${AS_OF}`,
  `/v1/developers?asOf=${AS_OF}&sort=risk`,
  `/v1/developers/rep_0/risk?asOf=${AS_OF}`,
  `/v1/organizations?asOf=${AS_OF}`,
  `/v1/organizations/org_rep`,
];

/** Three developers each day of a fortnight: signup, key, two requests (SDK and raw, one an error); every third in an organisation. */
function history() {
  return Array.from({ length: 42 }, (_, i) => {
    const id = `rep_${i}`;
    const day = new Date(Date.UTC(2026, 10, 1 + Math.floor(i / 3), 9));
    const at = (minutes: number) => new Date(day.getTime() + minutes * 60_000).toISOString();
    const signup = {
      email: `${id}@example.com`,
      accountType: i % 3 === 0 ? 'organization' : 'individual',
      acquisitionChannel: 'organic_search',
      ...(i % 3 === 0 ? { orgId: 'org_rep' } : {}),
    };
    return [
      { id: `${id}-signup`, type: 'developer.signed_up', developerId: id, occurredAt: at(0), properties: signup },
      { id: `${id}-key`, type: 'api_key.created', developerId: id, occurredAt: at(5), properties: { apiKey: `key_${id}`, mode: 'test' } },
      ...[0, 1].map((n) => ({
        id: `${id}-call-${n}`,
        type: 'api.request',
        occurredAt: at(10 + n),
        properties: {
          apiKey: `key_${id}`,
          endpoint: n ? '/v1/refunds' : '/v1/charges',
          method: 'POST',
          status: n && i % 2 ? 500 : 200,
          mode: 'test',
          userAgent: n ? 'curl/8.5.0' : 'stripe-node/14.0.0',
        },
      })),
    ];
  });
}

/*
 * The metrics endpoints on a read replica: a hot standby streaming the primary's WAL, as managed
 * PostgreSQL services offer. The standby refuses every write, so each endpoint answering there
 * proves it only reads; answering with the primary stopped proves it reads there.
 */
describe.skipIf(!postgresBinDir())('metrics on a read replica (ONRAMP_METRICS_DATABASE_URL)', () => {
  let primary: PrivatePostgres & { port: number };
  let standby: PrivatePostgres & { port: number };
  let db: Database;
  let replica: Database;
  let onPrimary: OnrampApp;
  let onReplica: OnrampApp;

  const app = (metricsDb?: Database) =>
    buildApp({
      db,
      ...(metricsDb && { metricsDb }),
      temporal: new Client(),
      logger: pino({ level: 'silent' }),
      ingestKeys: [KEYS.ingest],
      adminKeys: [KEYS.admin],
      signingSecret: 's'.repeat(32),
      funnel: shippedFunnelInForce,
    });
  const get = (on: OnrampApp, url: string) => on.inject({ method: 'GET', url, headers: { authorization: `Bearer ${KEYS.admin}` } });

  beforeAll(async () => {
    primary = await startPrivatePostgres();
    await applyMigrations(primary.url);
    standby = await startStandby(primary);
    db = openDatabase(primary.url, { max: 4 });
    replica = openDatabase(standby.url, { max: 4 });
    onPrimary = await app();
    onReplica = await app(replica);
  }, 120_000);
  afterAll(async () => {
    await onReplica?.close();
    await onPrimary?.close();
    await replica?.close();
    await db?.close();
    await standby?.destroy();
    await primary?.destroy();
  });

  it('answers every metrics endpoint from the replica as from the primary, and goes on answering with the primary stopped', async () => {
    // Written through the primary: the ingest (developers, events, per-endpoint totals), then the stages the journeys would record.
    for (const events of history()) {
      const response = await onReplica.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.ingest}` }, payload: { events } });
      expect(response.statusCode, response.body).toBe(202);
    }
    await db.pool.query(`
      INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id)
      SELECT d.id, s.stage, d.signed_up_at + s.after, d.id || '-' || s.stage
      FROM developers d, (VALUES ('account_created', interval '0'), ('credential_provisioned', interval '5 minutes'), ('first_api_call', interval '10 minutes')) AS s(stage, after)`);
    // The replica has replayed everything the primary wrote.
    const { lsn } = (await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]!;
    await eventually(async () => (await replica.pool.query<{ caught: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS caught', [lsn])).rows[0]!.caught, {
      until: (caught) => caught,
      timeout: 30_000,
      describe: 'the standby replayed the primary',
    });
    // Figures, not empty answers: the 42 developers counted, their 84 requests by SDK and raw.
    expect((await get(onPrimary, READS[0]!)).json()).toMatchObject({ counted: 42 });
    expect((await get(onPrimary, `/v1/metrics/sdk?asOf=${AS_OF}`)).json()).toMatchObject({ overall: { requests: { sdk: 42, raw: 42 } } });

    const fromPrimary = new Map<string, unknown>();
    for (const url of READS) {
      const [a, b] = await Promise.all([get(onPrimary, url), get(onReplica, url)]);
      expect(a.statusCode, `${url} on the primary: ${a.body}`).toBe(200);
      expect(b.statusCode, `${url} on the replica: ${b.body}`).toBe(200);
      expect(b.json(), url).toEqual(a.json());
      fromPrimary.set(url, a.json());
    }

    await primary.stop('fast');
    for (const url of READS) {
      const response = await get(onReplica, url);
      expect(response.statusCode, `${url} with the primary stopped: ${response.body}`).toBe(200);
      expect(response.json(), url).toEqual(fromPrimary.get(url));
    }
    // What is not a metric still reads and writes the primary.
    expect((await get(onPrimary, READS[0]!)).statusCode).toBe(503);
    const ingest = await onReplica.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${KEYS.ingest}` }, payload: { events: history()[0] } });
    expect(ingest.statusCode).toBe(503);
  }, 120_000);
});
