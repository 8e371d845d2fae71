import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.ts';
import { ADMIN_KEY } from '../support/onramp-harness.ts';
import { PROCESS_CONNECTIONS, ProductionTopology } from '../support/production-topology.ts';

// docker-compose.yml's topology without Docker: the production Temporal server (built by
// `node scripts/setup.mjs --test`, PostgreSQL persistence), two Onramp api processes (sharing one
// outbox) and two workers as separate processes through the real CLI, all on TEST_DATABASE_URL's
// PostgreSQL.
const skipReason = process.env.TEST_DATABASE_URL ? undefined : 'needs a real PostgreSQL: set TEST_DATABASE_URL (the production Temporal server persists there)';
if (skipReason) console.warn(`production-topology: skipped: ${skipReason}`);

const at = (day: number, hour = 0, minute = 0) => new Date(Date.UTC(2026, 10, day, hour, minute)).toISOString();
const STAGES = ['account_created', 'credential_provisioned', 'first_api_call'];

/** Signup → API key → first successful call: the three events that take a developer to first_api_call. */
function firstCall(id: string, day: number) {
  return [
    {
      id: `${id}-signup`,
      type: 'developer.signed_up',
      developerId: id,
      occurredAt: at(day, 10),
      properties: { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'organic_search', timezone: 'Europe/Berlin' },
    },
    { id: `${id}-key`, type: 'api_key.created', developerId: id, occurredAt: at(day, 10, 5), properties: { apiKey: `key_${id}`, mode: 'test' } },
    {
      id: `${id}-call`,
      type: 'api.request',
      occurredAt: at(day, 10, 30),
      properties: { apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'GET', status: 200, mode: 'test', userAgent: 'curl/8.5.0' },
    },
  ];
}

describe.skipIf(skipReason !== undefined)('the production topology: two apis and two workers on the production Temporal server and PostgreSQL', () => {
  let topology: ProductionTopology;

  beforeAll(async () => {
    topology = await new ProductionTopology({ apis: 2 }).start();
  }, 300_000);
  afterAll(async () => {
    await topology?.stop();
  }, 120_000);

  /** Every transition row of these developers, in order: lost = missing, duplicated = extra. */
  async function audit(ids: string[]) {
    const { rows } = await topology.pool.query<{ developer_id: string; to_stage: string }>(
      'SELECT developer_id, to_stage FROM journey_transitions WHERE developer_id = ANY($1) ORDER BY developer_id, id',
      [ids],
    );
    const byDeveloper = new Map(ids.map((id) => [id, [] as string[]]));
    for (const row of rows) byDeveloper.get(row.developer_id)!.push(row.to_stage);
    let lost = 0;
    let duplicated = 0;
    for (const stages of byDeveloper.values()) {
      lost += STAGES.filter((stage) => !stages.includes(stage)).length;
      duplicated += stages.length - new Set(stages).size + stages.filter((stage) => !STAGES.includes(stage)).length;
    }
    return { byDeveloper, lost, duplicated };
  }

  async function settle(ids: string[], timeoutMs: number) {
    // One at a time: the API is a separate process on these 2 cores, no need to hammer it.
    for (const id of ids) await topology.waitForJourney(id, (j) => j.stage === 'first_api_call' && j.pendingSignals === 0, timeoutMs);
  }

  it('takes a developer from signup through an API key to the first call, through the HTTP API', async () => {
    // Each worker process answers its health check (compose's) from its Temporal worker's state.
    for (const i of [0, 1]) expect(await topology.workerHealth(i)).toEqual({ status: 200, body: { status: 'ok', worker: 'RUNNING' } });
    const id = 'prod_ada';
    const [signup, key, call] = firstCall(id, 1);
    for (const [event, stage] of [
      [signup, 'account_created'],
      [key, 'credential_provisioned'],
      [call, 'first_api_call'],
    ] as const) {
      const response = await topology.postEvents({ events: [event] });
      expect(response.status, JSON.stringify(response.body)).toBe(202);
      expect(response.body).toMatchObject({ accepted: 1, duplicates: 0 });
      await topology.waitForJourney(id, (j) => j.stage === stage);
    }
    const journey = await topology.waitForJourney(id, (j) => j.transitions.length === 3 && j.pendingSignals === 0);
    expect(journey.transitions.map((t: any) => t.to)).toEqual(STAGES);
    expect(journey.stages.find((s: any) => s.stage === 'account_created')).toMatchObject({ status: 'reached', at: at(1, 10), causeEventId: `${id}-signup` });
    expect(journey.stages.find((s: any) => s.stage === 'credential_provisioned')).toMatchObject({ status: 'reached', at: at(1, 10, 5), causeEventId: `${id}-key` });
    expect(journey.stages.find((s: any) => s.stage === 'first_api_call')).toMatchObject({ status: 'reached', at: at(1, 10, 30), causeEventId: `${id}-call` });
    expect(journey.running).toBe(true);
    expect(journey.requests).toMatchObject({ total: 1, ok: 1 });
    // The two workers are separate processes, both alive; the journey ran on one of them.
    expect(topology.workers.every((w) => w && !w.ended)).toBe(true);
  });

  it('has a worker process send the nudge that is due through SMTP_URL, once', async () => {
    // A first call five days ago and nothing since: `explore-the-api` (3 days after the first call)
    // is due now. The developer's time zone puts them at midday, outside the quiet hours; the id
    // is outside the 10 % holdout.
    const id = 'prod_mail';
    const offset = ((12 - new Date().getUTCHours() + 36) % 24) - 12; // -12..11 hours from UTC
    const timezone = offset === 0 ? 'Etc/UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`; // Etc/GMT-5 is UTC+5
    const ago = (minutes: number) => new Date(Date.now() - 5 * 24 * 3600_000 + minutes * 60_000).toISOString();
    const [signup, key, call] = firstCall(id, 1);
    const response = await topology.postEvents({
      events: [
        { ...signup, occurredAt: ago(0), properties: { ...signup!.properties, timezone } },
        { ...key, occurredAt: ago(5) },
        { ...call, occurredAt: ago(30) },
      ],
    });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    await topology.waitForJourney(id, (j) => j.stage === 'first_api_call');
    const to = (mail: { to?: unknown }) => JSON.stringify(mail.to ?? '').includes(`${id}@example.com`);
    // Recorded as sent once the SMTP server has the message: a second copy would be there by then.
    const sent = async () => (await topology.pool.query("SELECT 1 FROM nudge_decisions WHERE developer_id = $1 AND outcome = 'sent'", [id])).rowCount;
    await eventually(async () => ({ sent: await sent(), mails: topology.emails().filter(to).length }), {
      until: (seen) => seen.sent! > 0 && seen.mails > 0,
      timeout: 60_000,
      describe: `the nudge to ${id} delivered and recorded as sent`,
    });
    const mails = topology.emails().filter(to);
    expect(mails, `worker logs:\n${topology.log('worker0')}\n${topology.log('worker1')}`).toHaveLength(1);
    const unsubscribe = mails[0]!.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
    expect(unsubscribe).toContain(`http://onramp.test/v1/unsubscribe?developer=${id}&token=`);
  });

  it('accepts events while the Temporal server is down and, once it is back, takes every journey to its stage exactly once', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `prod_outage_${i}`);
    const workerPids = topology.workers.map((w) => w!.child.pid);
    await topology.stopTemporal();
    const downAt = Date.now();
    let accepted = 0;
    let failedAttempts = 0;
    try {
      for (const [i, id] of ids.entries()) {
        const response = await topology.postEvents({ events: firstCall(id, 2 + (i % 5)) });
        expect(response.status, JSON.stringify(response.body)).toBe(202);
        accepted += response.body.accepted;
      }
      // Stored and queued in the outbox; the dispatcher's deliveries fail (after the client's own
      // retries) and back off until the server is back. Down until every developer's signals
      // failed at least once, so redelivery from the outbox is what is tested.
      const outbox = async () => {
        const { rows } = await topology.pool.query<{ developers: string; failed: string }>(
          'SELECT count(DISTINCT developer_id) AS developers, count(DISTINCT developer_id) FILTER (WHERE attempts > 0 AND last_error IS NOT NULL) AS failed FROM outbox_signals WHERE developer_id = ANY($1)',
          [ids],
        );
        expect(Number(rows[0]!.developers)).toBe(ids.length); // nothing delivered while down
        return Number(rows[0]!.failed);
      };
      failedAttempts = await eventually(outbox, {
        until: (failed) => failed === ids.length,
        timeout: 90_000,
        interval: 1_000,
        describe: `outbox deliveries failed for all ${ids.length} developers`,
      });
    } finally {
      await topology.startTemporal();
    }
    const downMs = Date.now() - downAt;
    expect(accepted).toBe(ids.length * 3);
    await settle(ids, 180_000);
    const { byDeveloper, lost, duplicated } = await audit(ids);
    for (const [id, stages] of byDeveloper) expect(stages, id).toEqual(STAGES);
    const outbox = await topology.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox_signals WHERE developer_id = ANY($1)', [ids]);
    expect(Number(outbox.rows[0]!.n)).toBe(0);
    // The workers rode out the outage: same processes, still running.
    expect(topology.workers.map((w) => (w && !w.ended ? w.child.pid : undefined))).toEqual(workerPids);
    console.log(
      `production-topology: Temporal outage: faults injected=1 (server down ${(downMs / 1000).toFixed(1)} s), events accepted while down=${accepted}, ` +
        `developers whose delivery failed and was retried from the outbox=${failedAttempts}, journeys=${ids.length}, lost=${lost}, duplicated=${duplicated}`,
    );
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 300_000);

  it('finishes the journeys of a worker killed (SIGKILL) mid-flight on the other worker and a restarted one, with no duplicated transition', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `prod_kill_${i}`);
    const events = new Map(ids.map((id, i) => [id, firstCall(id, 10 + (i % 5))]));
    // Every journey started and cached (sticky) on one of the two workers.
    for (const id of ids) expect((await topology.postEvents({ events: [events.get(id)![0]] })).status).toBe(202);
    for (const id of ids) await topology.waitForJourney(id, (j) => j.stage === 'account_created' && j.pendingSignals === 0);
    const before = await topology.journeyHistories(ids);
    // The worker holding more journeys is killed (under load one worker may have taken them all).
    const held = (i: number) => ids.filter((id) => before.get(id)!.completedBy.at(-1) === topology.workers[i]!.child.pid);
    const victim = held(1).length > held(0).length ? 1 : 0;
    const onKilled = held(victim);
    // The next events go out, and that worker dies while they are being worked on.
    for (const id of ids.slice(0, 10)) expect((await topology.postEvents({ events: [events.get(id)![1]] })).status).toBe(202);
    await topology.killWorker(victim, 'SIGKILL');
    for (const id of ids.slice(10)) expect((await topology.postEvents({ events: [events.get(id)![1]] })).status).toBe(202);
    for (const id of ids) expect((await topology.postEvents({ events: [events.get(id)![2]] })).status).toBe(202);
    await sleep(3_000); // the other worker alone for a while
    await topology.startWorker(victim);
    await settle(ids, 180_000);
    const { byDeveloper, lost, duplicated } = await audit(ids);
    for (const [id, stages] of byDeveloper) expect(stages, id).toEqual(STAGES);
    const after = await topology.journeyHistories(ids);
    const timedOut = [...after.values()].reduce((n, h) => n + h.tasksTimedOut, 0);
    console.log(
      `production-topology: worker SIGKILL: faults injected=1, journeys=${ids.length} (${onKilled.length} cached on the killed worker), ` +
        `workflow tasks timed out on it and redone elsewhere=${timedOut}, lost=${lost}, duplicated=${duplicated}`,
    );
    // The kill hit journeys cached on it: their tasks went to the dead worker first and timed out.
    expect(onKilled.length).toBeGreaterThan(0);
    expect(timedOut).toBeGreaterThan(0);
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 300_000);
  it('shares one outbox between two api processes under load, with a worker killed (SIGKILL) mid-load: every signal delivered once and in order', async () => {
    const DEVELOPERS = 200;
    const CHUNK = 10; // developers per request
    const ids = Array.from({ length: DEVELOPERS }, (_, i) => `prod_two_${i}`);
    const chunks = Array.from({ length: DEVELOPERS / CHUNK }, (_, c) => ids.slice(c * CHUNK, (c + 1) * CHUNK));
    const events = new Map(ids.map((id, i) => [id, firstCall(id, 1 + (i % 28))]));
    const delivered = async (api: number) => {
      const response = await topology.request('/metrics', { key: ADMIN_KEY, api });
      return Number(/^onramp_outbox_signals_delivered_total (\d+)$/m.exec(await response.text())?.[1] ?? Number.NaN);
    };
    const deliveredBefore = await Promise.all([0, 1].map(delivered));
    let accepted = 0;
    let duplicates = 0;
    let duplicatesSent = 0;
    const post = async (batch: unknown[], api: number) => {
      const response = await topology.postEvents({ events: batch }, api);
      expect(response.status, JSON.stringify(response.body)).toBe(202);
      accepted += response.body.accepted;
      duplicates += response.body.duplicates;
    };
    /**
     * Each chunk's developers go signup → key → first call, one request per step, each step after
     * the previous one's 202 and on the other api than it: their signals are queued in order
     * but claimed by either dispatcher. Every fourth chunk's key batch goes to both apis at once,
     * every fifth chunk's call batch again to the other api after its 202 (duplicates).
     */
    const runChunk = async (c: number) => {
      const step = (s: number) => chunks[c]!.map((id) => events.get(id)![s]!);
      await post(step(0), c % 2);
      if (c % 4 === 1) {
        await Promise.all([post(step(1), 0), post(step(1), 1)]);
        duplicatesSent += CHUNK;
      } else await post(step(1), (c + 1) % 2);
      await post(step(2), c % 2);
      if (c % 5 === 2) {
        await post(step(2), (c + 1) % 2);
        duplicatesSent += CHUNK;
      }
    };
    // The connections the four Onramp processes hold to their database, sampled through the load.
    let peakConnections = 0;
    const sampling = setInterval(() => {
      topology.pool
        .query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")
        .then(
          ({ rows }) => (peakConnections = Math.max(peakConnections, rows[0]!.n)),
          () => undefined,
        );
    }, 250);
    const startedAt = Date.now();
    let killedAt = 0;
    let restarted: Promise<void> | undefined;
    let next = 0;
    const victim = 0;
    // Four chunks in flight at a time; the worker dies when half of them were sent and the workers
    // run journeys (a quarter of the developers past signup), and comes back 3 s later.
    const started = async () =>
      Number((await topology.pool.query<{ n: string }>('SELECT count(DISTINCT developer_id) AS n FROM journey_transitions WHERE developer_id = ANY($1)', [ids])).rows[0]!.n);
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let c = next++; c < chunks.length; c = next++) {
          if (c === chunks.length / 2) {
            await eventually(started, { until: (n) => n >= DEVELOPERS / 4, timeout: 60_000, interval: 100, describe: 'journeys running before the kill' });
            killedAt = Date.now();
            await topology.killWorker(victim, 'SIGKILL');
            restarted = sleep(3_000).then(() => topology.startWorker(victim));
          }
          await runChunk(c);
        }
      }),
    );
    await load.finally(() => clearInterval(sampling));
    const sentMs = Date.now() - startedAt;
    await restarted;
    // Settled: the outbox is empty and every developer's three stages are recorded (in any order;
    // the transitions audited below are what an order inversion would change).
    const outboxLeft = async () => Number((await topology.pool.query<{ n: string }>('SELECT count(*) AS n FROM outbox_signals WHERE developer_id = ANY($1)', [ids])).rows[0]!.n);
    await eventually(
      async () => ({
        outbox: await outboxLeft(),
        stages: Number((await topology.pool.query<{ n: string }>('SELECT count(*) AS n FROM journey_stages WHERE developer_id = ANY($1)', [ids])).rows[0]!.n),
      }),
      {
        until: (seen) => seen.outbox === 0 && seen.stages === ids.length * STAGES.length,
        timeout: 180_000,
        interval: 1_000,
        describe: 'the outbox drained and every stage recorded',
      },
    );
    const settledMs = Date.now() - startedAt;
    const deliveredBy = (await Promise.all([0, 1].map(delivered))).map((n, i) => n - deliveredBefore[i]!);
    const { byDeveloper, lost, duplicated } = await audit(ids);
    // Each journey heard each event once, as a signal, in the order the developer sent them.
    const histories = await topology.journeyHistories(ids);
    let signals = 0;
    let heardTotal = 0;
    let redelivered = 0;
    let outOfOrder = 0;
    let timedOut = 0;
    for (const [id, history] of histories) {
      timedOut += history.tasksTimedOut;
      signals += history.signaled.length;
      const heard = history.signaled.flat();
      heardTotal += heard.length;
      redelivered += heard.length - new Set(heard).size;
      // A signal's id is its cause event's id, with `#<what>` for the stage it proves and the like.
      const causes = [...new Set(heard.map((signalId) => signalId.split('#')[0]))];
      if (JSON.stringify(causes) !== JSON.stringify(events.get(id)!.map((e) => e.id))) outOfOrder++;
    }
    const share = deliveredBy.map((n) => `${n} (${Math.round((100 * n) / (deliveredBy[0]! + deliveredBy[1]!))} %)`);
    console.log(
      `production-topology: two apis, one outbox: developers=${DEVELOPERS}, events accepted=${accepted}, duplicates sent=${duplicatesSent} (refused as duplicates=${duplicates}), ` +
        `outbox signals delivered by api0=${share[0]}, api1=${share[1]} in ${signals} Temporal signals, worker SIGKILLed at ${((killedAt - startedAt) / 1000).toFixed(1)} s ` +
        `(workflow tasks timed out on it and redone elsewhere=${timedOut}), ` +
        `load sent in ${(sentMs / 1000).toFixed(1)} s (peak connections to PostgreSQL=${peakConnections}), settled in ${(settledMs / 1000).toFixed(1)} s; events heard twice=${redelivered}, journeys hearing events out of order=${outOfOrder}, lost=${lost}, duplicated=${duplicated}`,
    );
    expect({ accepted, duplicates }).toEqual({ accepted: DEVELOPERS * 3, duplicates: duplicatesSent });
    // Each process kept to ONRAMP_DATABASE_CONNECTIONS (the restarted worker, one more while it checked
    // the migrations), besides the test's own pool of two; the loaded pools did open connections.
    expect(peakConnections).toBeGreaterThan(4);
    expect(peakConnections).toBeLessThanOrEqual(4 * PROCESS_CONNECTIONS + 1 + 1);
    // Both dispatchers did real work, and what they counted is what the journeys heard: one outbox row, one event in a signal.
    for (const n of deliveredBy) expect(n).toBeGreaterThan(0);
    expect(deliveredBy[0]! + deliveredBy[1]!).toBe(heardTotal);
    expect(await outboxLeft()).toBe(0);
    // The kill hit journeys cached on the killed worker: their tasks went to it first and timed out.
    expect(timedOut).toBeGreaterThan(0);
    expect({ redelivered, outOfOrder }).toEqual({ redelivered: 0, outOfOrder: 0 });
    for (const [id, stages] of byDeveloper) expect(stages, id).toEqual(STAGES);
    expect({ lost, duplicated }).toEqual({ lost: 0, duplicated: 0 });
  }, 300_000);
});
