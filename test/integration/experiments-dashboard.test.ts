import { readFileSync } from 'node:fs';
import { type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adaptiveExperiments, allocate } from '../../src/metrics/experiment-allocations.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { launchChromium } from '../support/chromium.ts';
import { METRICS_TEST_KEYS, startMetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** The dashboard's Experiments panel in headless Chromium: the figures of GET /v1/metrics/experiments, per arm. */
describe("the dashboard's Experiments panel", () => {
  let api: Awaited<ReturnType<typeof startMetricsTestApp>>;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    api = await startMetricsTestApp(databaseBackends()[0]!);
    const shipped = readFileSync(new URL('../../config/rules.yaml', import.meta.url), 'utf8');
    const rules = await new RuleStore(api.db.pool).apply({
      source: shipped.replace(
        'action: { send: explore-the-api }',
        'action: { experiment: { id: tiny, goal: first_integration_milestone, window: 3d, send: explore-the-api, variants: [{ id: x }, { id: y, after: 5d }], adaptive: { floor: 0.2, minPerVariant: 3 } } }',
      ),
      author: 'test',
      reason: 'experiment',
    });
    expect(rules.ok).toBe(true);
    // x: 3 assigned, 2 converted; y: 3 assigned, 0 converted; the holdout: 2, 1 converted (all windows closed).
    const arms: [string | null, number, number][] = [
      ['x', 3, 2],
      ['y', 3, 0],
      [null, 2, 1],
    ];
    for (const [variant, n, converted] of arms) {
      for (let i = 0; i < n; i++) {
        const id = `${variant ?? 'holdout'}-${i}`;
        await api.insertDevelopers([
          { id, channel: 'paid', accountType: 'individual', signup: '2026-01-01T00:00:00Z', stages: i < converted ? { first_integration_milestone: '2026-01-03T00:00:00Z' } : {} },
        ]);
        await api.db.pool.query(
          `INSERT INTO nudge_decisions (developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, decided_at, experiment_id, variant_id, segment, inputs)
           VALUES ($1, $1 || '/1', 'explore-the-api#1', 'explore-the-api', 1, $2, $3, '2026-01-02T00:00:00Z', 'tiny', $4, '{}', '{}')`,
          [id, variant ? 'sent' : 'skipped', variant ? null : 'holdout', variant],
        );
      }
    }
    // The worker's allocation of tiny as of 2026-02-01 (every window closed): x leads.
    const inForce = (await new RuleStore(api.db.pool).active())!;
    await allocate(api.db.pool, inForce, adaptiveExperiments(inForce)[0]!, 1, new Date('2026-02-01T00:00:00Z'));
    url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  it("shows each arm's rate with its interval, the test against the holdout, and the small-sample warning", async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const failures: string[] = [];
    page.on('pageerror', (error) => failures.push(error.message));
    await page.goto(`${url}/dashboard`);
    await page.fill('#key', METRICS_TEST_KEYS.metrics);
    await page.click('#load');
    await page.waitForSelector('table[data-experiment="tiny"]', { timeout: 20_000 });
    const report = await api.ok('/v1/metrics/experiments/tiny');
    const row = (arm: string) => page.locator(`table[data-experiment="tiny"] tr[data-arm="${arm}"] td`).allInnerTexts();
    const x = await row('x');
    expect(x.slice(0, 7)).toEqual(['x', 'explore-the-api', '3', '3', '3', '2', '66.7%']);
    const ci = report.arms[0].ci95;
    expect(x[7]).toContain(`${(ci.low * 100).toFixed(1)}%–${(ci.high * 100).toFixed(1)}%`);
    expect(x[8]).toBe(`+16.7 pts vs holdout, p = ${report.arms[0].comparison.pValue.toFixed(3)} (too few to tell)`);
    expect((await row('y')).slice(0, 2)).toEqual(['y', 'explore-the-api · 5d']);
    expect((await row('holdout')).slice(0, 2).concat((await row('holdout')).slice(-1))).toEqual(['holdout', 'nothing sent', 'baseline']);
    expect(await page.locator('#experiments p.warning').innerText()).toBe(report.warning);
    expect(await page.locator('#experimentsNone').isHidden()).toBe(true);
    const [allocation] = report.allocations;
    const shares = `x ${Math.round(allocation.weights.x * 100)}% · y ${Math.round(allocation.weights.y * 100)}%`;
    expect(allocation.weights.y).toBeCloseTo(0.2, 12); // y converted none of 3: its floor
    expect(await page.locator('p[data-allocation="tiny"]').innerText()).toBe(
      `Adaptive (floor 20% per variant, recomputed every 1d, from 3 measured per variant): drawing new developers ${shares} from 2026-02-01 00:00 UTC (rules v1): ${allocation.reason}`,
    );
    expect(failures).toEqual([]);
    await page.close();
  });
});
