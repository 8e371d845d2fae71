/**
 * The ingest's `events` insert alone, in four statement shapes, with and without its
 * per-endpoint index: 100,000 `api.request` rows in batches of 500 on one connection, each
 * variant twice. An investigation aid for the ingest ratio (bench/RESULTS.md):
 *
 *   BENCH_DATABASE_URL=postgresql://…/postgres npx tsx bench/events-insert-shapes.ts
 *
 * A database `events_insert_shapes` is created there and dropped at the end.
 */
import pg from 'pg';

const ROWS = 100_000;
const BATCH = 500;
const SCRATCH = 'events_insert_shapes';

interface Batch {
  ids: string[];
  developers: string[];
  keys: string[];
  occurredAt: string[];
  endpoints: string[];
  properties: Record<string, unknown>[];
}

/** The columns the ingest writes (src/ingest/store-events.ts). */
const COLUMNS = 'id, type, developer_id, api_key, occurred_at, endpoint, status, mode, sdk, properties';

/** The scalar columns as parallel arrays, in COLUMNS order (without properties). */
const columns = (b: Batch) => [
  b.ids,
  b.ids.map(() => 'api.request'),
  b.developers,
  b.keys,
  b.occurredAt,
  b.endpoints,
  b.ids.map(() => 200),
  b.ids.map(() => 'test'),
  b.ids.map(() => true),
];

const shapes: Record<string, { sql: (table: string) => string; params: (b: Batch) => unknown[] }> = {
  // What the ingest did until 2026-12-01: nine scalar arrays, the properties as one JSON array joined by ordinality.
  'unnest of nine + jsonb_array_elements': {
    sql: (t) => `INSERT INTO ${t} (${COLUMNS})
      SELECT id, type, developer_id, api_key, occurred_at, endpoint, status, mode, sdk, p.properties
      FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::int[], $8::text[], $9::boolean[])
        WITH ORDINALITY AS u(id, type, developer_id, api_key, occurred_at, endpoint, status, mode, sdk, n)
      JOIN jsonb_array_elements($10::jsonb) WITH ORDINALITY AS p(properties, n) USING (n)
      ON CONFLICT (id) DO NOTHING RETURNING id`,
    params: (b) => [...columns(b), JSON.stringify(b.properties)],
  },
  // A jsonb[] parameter: pg escapes every JSON text as an array element.
  'unnest with a jsonb[] parameter': {
    sql: (t) => `INSERT INTO ${t} (${COLUMNS})
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::int[], $8::text[], $9::boolean[], $10::jsonb[])
      ON CONFLICT (id) DO NOTHING RETURNING id`,
    params: (b) => [...columns(b), b.properties.map((p) => JSON.stringify(p))],
  },
  // The events insert of the ingest's store statement (src/ingest/store-events.ts, without its
  // tombstone probe and the statements that follow it there): five scalar arrays, the request
  // columns read from the properties in SQL.
  'unnest of five + columns from properties (current)': {
    sql: (t) => `INSERT INTO ${t} (${COLUMNS})
      SELECT id, type, developer_id, p.properties->>'apiKey', occurred_at,
        CASE WHEN type = 'api.request' THEN p.properties->>'endpoint' END,
        CASE WHEN type = 'api.request' THEN (p.properties->>'status')::int END,
        p.properties->>'mode', sdk, p.properties
      FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::boolean[])
        WITH ORDINALITY AS u(id, type, developer_id, occurred_at, sdk, n)
      JOIN jsonb_array_elements($6::jsonb) WITH ORDINALITY AS p(properties, n) USING (n)
      ON CONFLICT (id) DO NOTHING RETURNING id`,
    params: (b) => [b.ids, b.ids.map(() => 'api.request'), b.developers, b.occurredAt, b.ids.map(() => true), JSON.stringify(b.properties)],
  },
  // Every row as one JSON document.
  jsonb_to_recordset: {
    sql: (t) => `INSERT INTO ${t} (${COLUMNS})
      SELECT r.id, r.type, r.developer_id, r.api_key, r.occurred_at, r.endpoint, r.status, r.mode, r.sdk, r.properties
      FROM jsonb_to_recordset($1::jsonb) AS r(id text, type text, developer_id text, api_key text, occurred_at timestamptz, endpoint text, status int, mode text, sdk boolean, properties jsonb)
      ON CONFLICT (id) DO NOTHING RETURNING id`,
    params: (b) => [
      JSON.stringify(
        b.ids.map((id, k) => ({
          id,
          type: 'api.request',
          developer_id: b.developers[k],
          api_key: b.keys[k],
          occurred_at: b.occurredAt[k],
          endpoint: b.endpoints[k],
          status: 200,
          mode: 'test',
          sdk: true,
          properties: b.properties[k],
        })),
      ),
    ],
  },
};

function batch(first: number): Batch {
  const b: Batch = { ids: [], developers: [], keys: [], occurredAt: [], endpoints: [], properties: [] };
  const t0 = Date.parse('2026-11-01T00:00:00Z');
  for (let j = first; j < first + BATCH; j++) {
    const endpoint = `/v1/resource${j % 5}`;
    b.ids.push(`e_${j}`);
    b.developers.push(`dev_${j % 1000}`);
    b.keys.push(`key_${j % 1000}`);
    b.occurredAt.push(new Date(t0 + j * 100).toISOString());
    b.endpoints.push(endpoint);
    b.properties.push({ apiKey: `key_${j % 1000}`, endpoint, method: 'GET', status: 200, mode: 'test', userAgent: 'acme-node/1.2.0', latencyMs: 42 });
  }
  return b;
}

async function main() {
  const admin = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (!admin) throw new Error('set BENCH_DATABASE_URL to a PostgreSQL whose role may create databases');
  const adminClient = new pg.Client({ connectionString: admin });
  await adminClient.connect();
  await adminClient.query(`DROP DATABASE IF EXISTS ${SCRATCH}`);
  await adminClient.query(`CREATE DATABASE ${SCRATCH}`);
  const url = new URL(admin);
  url.pathname = `/${SCRATCH}`;
  const client = new pg.Client({ connectionString: url.href });
  await client.connect();
  try {
    const variants = [...Object.keys(shapes).map((shape) => ({ shape, index: true })), { shape: 'unnest of nine + jsonb_array_elements', index: false }];
    for (let round = 1; round <= 2; round++) {
      for (const { shape, index } of variants) {
        await client.query('DROP TABLE IF EXISTS ev');
        await client.query(`CREATE TABLE ev (id text PRIMARY KEY, type text NOT NULL, developer_id text, api_key text, occurred_at timestamptz(3) NOT NULL,
          received_at timestamptz(3) NOT NULL DEFAULT now(), endpoint text, status int, mode text, sdk boolean, properties jsonb NOT NULL DEFAULT '{}')`);
        if (index) await client.query('CREATE INDEX ON ev (developer_id, endpoint, occurred_at)');
        const started = performance.now();
        for (let i = 0; i < ROWS; i += BATCH) await client.query(shapes[shape]!.sql('ev'), shapes[shape]!.params(batch(i)));
        const ms = performance.now() - started;
        console.log(`${`${shape}${index ? '' : ', no per-endpoint index'}`.padEnd(62)} ${Math.round(ROWS / (ms / 1000))} rows/s  ${(ms / (ROWS / BATCH)).toFixed(2)} ms/batch`);
      }
    }
  } finally {
    await client.end();
    await adminClient.query(`DROP DATABASE IF EXISTS ${SCRATCH}`);
    await adminClient.end();
  }
}

await main();
