import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../support/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnramp } from '../support/onramp-cli.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** "Did the change work?": annotations, the change timeline the charts mark, and before/after on one transition against hand-counted cohorts. */

const keys = { ingest: 'ingest-key-0123456789abcdef', admin: 'admin-key-0123456789abcdef', metrics: 'metrics-key-0123456789abcdef' };
const DAY = 86_400_000;
const AT = Date.parse('2026-09-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe.each(databaseBackends())('changes and before/after (%s)', (backend) => {
  let t: TestApp;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  let listening: string | undefined;
  const listen = async () => (listening ??= await t.app.listen({ host: '127.0.0.1', port: 0 }));

  beforeAll(async () => {
    t = await startTestApp(backend, { keys });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  /**
   * `n` developers who entered credential_provisioned at `enteredAt(i)`, the first `converted` of
   * them reaching first_api_call 3 days later (inside the 14-day window), one more of them 20 days
   * later (outside it: not converted).
   */
  async function cohort(prefix: string, n: number, converted: number, enteredAt: (i: number) => number) {
    for (let i = 0; i < n; i++) {
      const id = `${backend}_${prefix}_${i}`;
      const entered = enteredAt(i);
      await t.db.pool.query('INSERT INTO developers (id, signed_up_at) VALUES ($1, $2)', [id, iso(entered - DAY)]);
      await t.db.pool.query(`INSERT INTO journey_stages (developer_id, funnel_version, stage, reached_at, cause_event_id) VALUES ($1, 1, 'credential_provisioned', $2, 'k')`, [
        id,
        iso(entered),
      ]);
      const next = i < converted ? entered + 3 * DAY : i === converted ? entered + 20 * DAY : undefined;
      if (next !== undefined)
        await t.db.pool.query(`INSERT INTO journey_stages (developer_id, funnel_version, stage, reached_at, cause_event_id) VALUES ($1, 1, 'first_api_call', $2, 'r')`, [
          id,
          iso(next),
        ]);
    }
  }
  const compare = async (query: Record<string, string>) => {
    const response = await t.app.inject({ method: 'GET', url: `/v1/metrics/before-after?${new URLSearchParams(query)}`, headers: as(keys.metrics) });
    return response;
  };

  it('compares the cohorts before and after a change on one transition, with the interval and a verdict', async () => {
    // 40 entered in the 4 weeks before, 10 converted; 40 in the 4 weeks after, 30 converted.
    await cohort('before', 40, 10, (i) => AT - 27 * DAY + i * 12 * 3_600_000);
    await cohort('after', 40, 30, (i) => AT + i * 12 * 3_600_000);
    const response = await compare({ at: iso(AT), stage: 'credential_provisioned', asOf: iso(AT + 60 * DAY) });
    expect(response.statusCode, response.body).toBe(200);
    const r = response.json();
    expect(r.transition).toEqual({ stage: 'credential_provisioned', stageLabel: 'Credential provisioned', next: 'first_api_call', nextLabel: 'First API call' });
    expect(r.before).toMatchObject({ entered: 40, measured: 40, converted: 10, rate: 0.25 });
    expect(r.after).toMatchObject({ entered: 40, measured: 40, converted: 30, rate: 0.75 });
    // 0.75 − 0.25 = 0.5 ± 1.96 · √(0.75·0.25/40 + 0.25·0.75/40) = 0.5 ± 1.96 · 0.096825 = 0.5 ± 0.18978.
    expect(r.difference).toBeCloseTo(0.5, 10);
    expect(r.ci95.low).toBeCloseTo(0.31022, 4);
    expect(r.ci95.high).toBeCloseTo(0.68978, 4);
    expect(r.verdict).toBe('improved');

    // Seen from 10 days after the change, the last 20 days of the after cohort are still inside their window: fewer measured.
    const early = (await compare({ at: iso(AT), stage: 'credential_provisioned', asOf: iso(AT + 10 * DAY) })).json();
    expect(early.after.measured).toBeLessThan(early.after.entered);
    // A one-week span on each side: too few to tell.
    expect((await compare({ at: iso(AT), stage: 'credential_provisioned', spanDays: '7', asOf: iso(AT + 60 * DAY) })).json().verdict).toBe('too_few');
  });

  it('says within noise when the difference could be chance', async () => {
    const at = AT + 200 * DAY;
    await cohort('same_before', 40, 20, (i) => at - 27 * DAY + i * 12 * 3_600_000);
    await cohort('same_after', 40, 22, (i) => at + i * 12 * 3_600_000);
    const r = (await compare({ at: iso(at), stage: 'credential_provisioned', asOf: iso(at + 60 * DAY) })).json();
    expect([r.before.rate, r.after.rate]).toEqual([0.5, 0.55]);
    expect(r.ci95.low).toBeLessThan(0);
    expect(r.verdict).toBe('within_noise');
  });

  it('refuses an unknown stage, a next stage not after it, and the last stage, naming the parameter', async () => {
    expect((await compare({ at: iso(AT), stage: 'onboarded' })).json().errors[0].path).toBe('stage');
    expect((await compare({ at: iso(AT), stage: 'first_api_call', next: 'account_created' })).json().errors[0].path).toBe('next');
    expect((await compare({ at: 'yesterday', stage: 'first_api_call' })).statusCode).toBe(400);
  });

  it('keeps annotations (admin writes, audited; the metrics key reads) and lists them with the config versions on the timeline', async () => {
    const refused = await t.app.inject({ method: 'POST', url: '/v1/annotations', headers: as(keys.metrics), payload: { text: 'x' } });
    expect(refused.statusCode).toBe(401);
    const blank = await t.app.inject({ method: 'POST', url: '/v1/annotations', headers: as(keys.admin), payload: { text: '  ' } });
    expect(blank.statusCode).toBe(400);
    expect(blank.json().errors[0].path).toBe('text');
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/annotations',
      headers: as(keys.admin),
      payload: { text: 'New quickstart shipped', at: iso(AT), author: 'growth@example.com' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const annotation = created.json();
    expect(annotation).toMatchObject({ text: 'New quickstart shipped', at: iso(AT), author: 'growth@example.com' });

    const put = await t.app.inject({
      method: 'PUT',
      url: '/v1/rules',
      headers: as(keys.admin),
      payload: { source: readFileSync(new URL('../../config/rules.yaml', import.meta.url), 'utf8'), author: 'growth@example.com', reason: 'the shipped rules' },
    });
    expect(put.statusCode, put.body).toBe(201);
    const { changes } = (await t.app.inject({ method: 'GET', url: '/v1/changes', headers: as(keys.metrics) })).json();
    expect(changes).toEqual(
      expect.arrayContaining([
        { at: iso(AT), kind: 'annotation', id: annotation.id, text: 'New quickstart shipped', author: 'growth@example.com' },
        expect.objectContaining({ kind: 'rules', id: '1', text: 'the shipped rules', author: 'growth@example.com' }),
      ]),
    );
    expect(changes.map((c: { at: string }) => c.at)).toEqual([...changes.map((c: { at: string }) => c.at)].sort());
    const windowed = (await t.app.inject({ method: 'GET', url: `/v1/changes?to=${iso(AT + 1)}`, headers: as(keys.metrics) })).json().changes;
    expect(windowed.map((c: { kind: string }) => c.kind)).toEqual(['annotation']);

    const deleted = await t.app.inject({ method: 'DELETE', url: `/v1/annotations/${annotation.id}?author=growth@example.com&reason=typo`, headers: as(keys.admin) });
    expect(deleted.statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: `/v1/annotations/${annotation.id}`, headers: as(keys.admin) })).statusCode).toBe(404);
    const audit = (await t.db.pool.query<{ action: string; actor: string }>(`SELECT action, actor FROM audit_log WHERE action LIKE 'annotation.%' ORDER BY id`)).rows;
    expect(audit).toEqual([
      { action: 'annotation.created', actor: 'growth@example.com' },
      { action: 'annotation.deleted', actor: 'growth@example.com' },
    ]);
  });

  it('onramp annotations add|list|delete, as a user runs them', async () => {
    const url = await listen();
    const onramp = (...args: string[]) => runOnramp(['annotations', ...args, '--url', url, '--key', keys.admin]);
    const added = await onramp('add', 'Pricing page rewritten', '--at', '2026-10-01T00:00:00.000Z', '--author', 'ana@example.com', '--json');
    expect(added.code, added.stderr).toBe(0);
    const { id } = JSON.parse(added.stdout);
    const listed = await onramp('list', '--from', '2026-09-15T00:00:00.000Z');
    expect(listed.stdout).toBe(`${id}  2026-10-01T00:00:00.000Z  Pricing page rewritten  (ana@example.com)\n`);
    const removed = await onramp('delete', id, '--reason', 'duplicate');
    expect(removed.stdout).toMatch(/^deleted: /);
    expect((await onramp('delete', id)).code).toBe(1);
  });

  it.runIf(backend === databaseBackends()[0])('dashboard: the changes panel lists them, marks their signup week, and compares before and after', async () => {
    const url = await listen();
    const at = AT - 300 * DAY; // 2025-11-05: cohorts of its own, all measurable today
    await cohort('dash_before', 40, 10, (i) => at - 27 * DAY + i * 12 * 3_600_000);
    await cohort('dash_after', 40, 30, (i) => at + i * 12 * 3_600_000);
    await t.app.inject({ method: 'POST', url: '/v1/annotations', headers: as(keys.admin), payload: { text: 'Docs redesign', at: iso(at), author: 'growth@example.com' } });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${url}/dashboard?from=2025-09-01&to=2026-01-31`);
      await page.fill('#key', keys.admin);
      await page.click('#load');
      await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#changeList button').length > 0);
      expect(await page.textContent('#changeList')).toContain('Docs redesign');
      await page.selectOption('#changeStage', 'credential_provisioned>first_api_call');
      await page.locator('#changeList tr', { hasText: 'Docs redesign' }).locator('button').click();
      await page.waitForFunction(() => (globalThis as any).document.querySelector('#changeResult').dataset.verdict !== undefined);
      expect(await page.getAttribute('#changeResult', 'data-verdict')).toBe('improved');
      expect(await page.textContent('#changeResult')).toContain('before 25.0% (10 of 40)');
      // The week of the change is marked in the cohort tables.
      await page.waitForFunction(() => (globalThis as any).document.querySelector('.change-mark') !== null);
      const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
      mkdirSync(artifacts, { recursive: true });
      await page.locator('#changes').screenshot({ path: `${artifacts}changes-panel.png` });
    } finally {
      await browser.close();
    }
  });
});
