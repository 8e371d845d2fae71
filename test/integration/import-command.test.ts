import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, INGEST_KEY, OnrampHarness } from '../support/onramp-harness.ts';
import { runOnramp } from '../support/onramp-cli.ts';

/** `onramp import` as a user runs it (a child process) against a live API: batches, a bad line, resume, stdin. */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const dir = mkdtempSync(join(tmpdir(), 'onramp-import-cli-'));
const dataDir = join(dir, 'data');
const onramp = (args: string[], input?: string, env: Record<string, string> = {}) => runOnramp(args, { ONRAMP_DATA_DIR: dataDir, ...env }, input);

/** Seven events per developer, 40 days old, one JSON object per line. */
function history(prefix: string, developers: number): Record<string, unknown>[] {
  const start = Date.now() - 40 * DAY;
  const at = (ms: number) => new Date(start + ms).toISOString();
  return Array.from({ length: developers }, (_, i) => {
    const id = `${prefix}${i}`;
    const request = (n: number, endpoint: string) => ({
      id: `${id}-r${n}`,
      type: 'api.request',
      occurredAt: at(2 * HOUR + n * HOUR),
      properties: { apiKey: `key_${id}`, endpoint, method: 'GET', status: 200, mode: 'test' },
    });
    return [
      {
        id: `${id}-s`,
        type: 'developer.signed_up',
        developerId: id,
        occurredAt: at(0),
        properties: { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'referral' },
      },
      { id: `${id}-k`, type: 'api_key.created', developerId: id, occurredAt: at(HOUR), properties: { apiKey: `key_${id}`, mode: 'test' } },
      request(0, '/v1/charges'),
      request(1, '/v1/charges'),
      request(2, '/v1/customers'),
      request(3, '/v1/refunds'),
      { id: `${id}-q`, type: 'quickstart.completed', developerId: id, occurredAt: at(8 * HOUR) },
    ];
  }).flat();
}

const ndjson = (events: Record<string, unknown>[]) => events.map((e) => JSON.stringify(e)).join('\n') + '\n';
const summary = (stdout: string) => {
  const m = /(\d+) lines read, (\d+) accepted, (\d+) duplicates, (\d+) unattributed in [\d.]+ s \(\d+ events\/s\)/.exec(stdout);
  expect(m, stdout).not.toBeNull();
  return { lines: Number(m![1]), accepted: Number(m![2]), duplicates: Number(m![3]), unattributed: Number(m![4]) };
};

describe('onramp import (through the API)', () => {
  let harness: OnrampHarness;
  let url: string;
  const stored = async (prefix: string) => Number((await harness.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM events WHERE id LIKE $1`, `${prefix}%`))[0]!.n);

  beforeAll(async () => {
    harness = await new OnrampHarness('pglite').start();
    url = await harness.app.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);
  afterAll(async () => {
    await harness?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops before a batch with an invalid line (naming line and field), resumes from the checkpoint once it is fixed, without duplicates', async () => {
    const events = history('cli_', 100); // 700 lines
    const file = join(dir, 'events.ndjson');
    const broken = [...events];
    broken[299] = {
      ...events[299]!,
      type: 'developer.signed_up',
      developerId: 'cli_x',
      properties: { email: 'not an email', accountType: 'individual', acquisitionChannel: 'referral' },
    };
    writeFileSync(file, ndjson(broken));

    const first = await onramp(['import', file, '--url', url, '--key', ADMIN_KEY, '--batch', '100']);
    expect(first.code, first.stderr).toBe(1);
    expect(first.stderr).toMatch(/^line 300: properties\.email: .+$/m);
    expect(first.stderr).toContain('nothing of it was sent');
    expect(await stored('cli_')).toBe(200); // lines 1-200: the two batches before the bad one

    writeFileSync(file, ndjson(events)); // fixed (a new size and mtime: the checkpoint still applies)
    const second = await onramp(['import', file, '--url', url, '--key', ADMIN_KEY, '--batch', '100']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('resuming after line 200');
    expect(summary(second.stdout)).toEqual({ lines: 500, accepted: 500, duplicates: 0, unattributed: 0 });
    expect(await stored('cli_')).toBe(700);

    // The journeys got the history: stages by event time.
    const journey = await harness.waitForJourney('cli_7', (j) => j.stage === 'active_integration');
    expect(journey.stages.find((s: { stage: string }) => s.stage === 'first_integration_milestone')).toMatchObject({ status: 'reached' });

    // Run again: nothing left after the checkpoint. Without the checkpoint: all duplicates.
    const third = await onramp(['import', file, '--url', url, '--key', ADMIN_KEY]);
    expect(summary(third.stdout)).toMatchObject({ lines: 0, accepted: 0 });
    for (const name of readdirSync(join(dataDir, 'imports'))) rmSync(join(dataDir, 'imports', name));
    const fourth = await onramp(['import', file, '--url', url, '--key', ADMIN_KEY]);
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(summary(fourth.stdout)).toEqual({ lines: 700, accepted: 0, duplicates: 700, unattributed: 0 });
    const restart = await onramp(['import', file, '--url', url, '--key', ADMIN_KEY, '--restart']);
    expect(summary(restart.stdout)).toMatchObject({ lines: 700, duplicates: 700 });

    // A file whose beginning changed since the checkpoint is read again from the start (harmless: duplicates).
    writeFileSync(file, ndjson([{ ...events[0]!, properties: { ...(events[0]!.properties as object), note: 'edited' } }, ...events.slice(1)]));
    const changed = await onramp(['import', file, '--url', url, '--key', ADMIN_KEY]);
    expect(changed.stdout).toContain('changed before line 700');
    expect(summary(changed.stdout)).toEqual({ lines: 700, accepted: 0, duplicates: 700, unattributed: 0 });
  }, 120_000);

  it('reads stdin (-) with the admin key from the environment, skips blank lines; a rerun is all duplicates; no checkpoint', async () => {
    const events = history('stdin_', 10);
    const input = ndjson(events.slice(0, 35)) + '\n   \n' + ndjson(events.slice(35));
    const before = existsSync(join(dataDir, 'imports')) ? readdirSync(join(dataDir, 'imports')).length : 0;
    const first = await onramp(['import', '-', '--url', url], input, { ONRAMP_ADMIN_KEY: ADMIN_KEY });
    expect(first.code, first.stderr).toBe(0);
    expect(summary(first.stdout)).toEqual({ lines: 72, accepted: 70, duplicates: 0, unattributed: 0 });
    const again = await onramp(['import', '-', '--url', url], input, { ONRAMP_ADMIN_KEY: ADMIN_KEY });
    expect(summary(again.stdout)).toEqual({ lines: 72, accepted: 0, duplicates: 70, unattributed: 0 });
    expect(existsSync(join(dataDir, 'imports')) ? readdirSync(join(dataDir, 'imports')).length : 0).toBe(before);
  }, 60_000);

  it('refuses the ingest key (exit 1) and a batch over 1,000 (exit 1, naming the option)', async () => {
    const file = join(dir, 'one.ndjson');
    writeFileSync(file, ndjson(history('key_', 1)));
    const refused = await onramp(['import', file, '--url', url, '--key', INGEST_KEY]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('401');
    const tooBig = await onramp(['import', file, '--url', url, '--key', ADMIN_KEY, '--batch', '1001']);
    expect(tooBig.code).toBe(1);
    expect(tooBig.stderr).toContain('--batch');
  }, 60_000);
});
