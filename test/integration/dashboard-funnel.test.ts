import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDevelopers } from '../../bench/seed-developers.ts';
import { launchChromium } from '../support/chromium.ts';
import { METRICS_TEST_KEYS, startMetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

const artifacts = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const pct = (r: number | null) => (r === null ? '–' : `${(r * 100).toFixed(1)}%`);
// The page's colours with meaning (dashboard.html's BAND_COLOURS; NEUTRAL: no band applies).
const BAND_COLOURS: Record<string, string> = { top_quartile: '#17804a', median: '#2fa866', below_median: '#c98a00', warning: '#d64545' };
const NEUTRAL = '#4f7cff';

interface Reach {
  stage: string;
  label: string;
  reached: number;
  dropped: number;
}
interface Transition {
  from: string;
  to: string;
  eligible: number;
  band: string | null;
  bandStatus: string;
}

describe('the dashboard’s funnel, drill-down, live refresh and phone layout', () => {
  let api: Awaited<ReturnType<typeof startMetricsTestApp>>;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    api = await startMetricsTestApp(databaseBackends()[0]!);
    await seedDevelopers(api.db.pool, 600);
    url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    mkdirSync(artifacts, { recursive: true });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await api?.close();
  });

  async function open(path: string, viewport = { width: 1400, height: 1600 }): Promise<{ page: Page; failures: string[] }> {
    const page = await browser.newPage({ viewport });
    const failures: string[] = [];
    page.on('pageerror', (error) => failures.push(error.message));
    await page.goto(`${url}${path}`);
    await page.fill('#key', METRICS_TEST_KEYS.admin);
    await page.click('#load');
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 20_000 });
    return { page, failures };
  }
  const funnelChart = (page: Page) =>
    page.evaluate(() => {
      const c = (globalThis as any).Chart.getChart('funnelChart');
      return { labels: c.data.labels, reached: c.data.datasets[0].data, colours: c.data.datasets[0].backgroundColor, dropped: c.data.datasets[1].data };
    });
  const rows = (page: Page, selector: string) =>
    page.$$eval(`${selector} tr`, (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')));
  const listed = async (page: Page) => (await rows(page, '#listTable')).map((r) => r[0]);
  const ids = (body: { items: { id: string }[] }) => body.items.map((d) => d.id);
  /** Clicks a bar of the funnel chart where Chart.js drew it (dataset 0: reached; 1: its drop-off ghost). */
  async function clickBar(page: Page, datasetIndex: number, index: number) {
    const point = await page.evaluate(
      ([d, i]) => {
        const c = (globalThis as any).Chart.getChart('funnelChart');
        c.canvas.scrollIntoView({ block: 'center' });
        const bar = c.getDatasetMeta(d).data[i];
        const box = c.canvas.getBoundingClientRect();
        return { x: box.left + (bar.base + bar.x) / 2, y: box.top + bar.y };
      },
      [datasetIndex, index] as const,
    );
    await page.mouse.click(point.x, point.y);
  }

  it('draws every stage of the funnel in force with counts, drop-off, colour by band, a legend, and "n too small" under the minimum', async () => {
    const { page, failures } = await open('/dashboard');
    const conversion = await api.ok('/v1/metrics/conversion');
    const reach: Reach[] = conversion.reach;
    expect(reach.map((r) => r.stage)).toEqual(conversion.funnel.stages.map((s: { id: string }) => s.id));
    expect(reach).toHaveLength(7);

    const drawn = await funnelChart(page);
    expect(drawn.labels).toEqual(conversion.funnel.stages.map((s: { label: string }) => s.label));
    expect(drawn.reached).toEqual(reach.map((r) => r.reached));
    expect(drawn.dropped).toEqual(reach.map((r) => r.dropped));
    expect(drawn.dropped.some((n: number) => n > 0)).toBe(true);
    // A bar's colour is the band of the transition measured into it; no benchmark: neutral.
    const into = (stage: string) => conversion.overall.find((t: Transition) => t.to === stage) as Transition | undefined;
    expect(drawn.colours).toEqual(reach.map((r) => BAND_COLOURS[into(r.stage)?.band ?? ''] ?? NEUTRAL));
    const banded = conversion.overall.filter((t: Transition) => t.bandStatus === 'banded');
    expect(banded.length).toBeGreaterThan(0); // 600 developers: the first transition has its band

    const table = await rows(page, '#funnel');
    expect(table.map((r) => [r[0], r[1], r[2], r[3], r[4]])).toEqual(reach.map((r: any) => [r.label, String(r.reached), pct(r.fromPrevious), pct(r.fromTop), String(r.dropped)]));
    expect(await page.textContent('#funnelLegend')).toMatch(/top quartile.*median.*below the median range.*under the warning threshold.*n too small.*dropped off/s);
    // A median band is not "weakest", and nothing is shown in red unless it is under the warning threshold.
    expect(await page.textContent('#funnelPanel')).not.toContain('weakest');
    const transitions = await rows(page, '#transitions');
    expect(transitions.map((r) => r[5])).toEqual(
      conversion.overall.map((t: Transition) =>
        t.band ? t.band.replace('_', ' ') : t.bandStatus === 'n_too_small' ? `n too small ${t.eligible} eligible, a band needs 100` : 'no benchmark',
      ),
    );
    await page.screenshot({ path: `${artifacts}funnel.png`, fullPage: false });

    // One channel: too few developers for any band; the page says so instead of claiming one.
    await page.selectOption('#channel', 'paid');
    await page.waitForFunction(() => new URL((globalThis as any).location.href).searchParams.get('channel') === 'paid');
    const paid = await api.ok('/v1/metrics/conversion?channel=paid');
    await page.waitForFunction((n) => (globalThis as any).Chart.getChart('funnelChart').data.datasets[0].data[0] === n, paid.reach[0].reached);
    const small = paid.overall.filter((t: Transition) => t.eligible < 100);
    expect(small.length).toBeGreaterThan(0);
    expect(small.every((t: Transition) => t.band === null && t.bandStatus === 'n_too_small')).toBe(true);
    const paidRows = await rows(page, '#transitions');
    for (const t of small) expect(paidRows[paid.overall.indexOf(t)]![5]).toBe(`n too small ${t.eligible} eligible, a band needs 100`);
    const paidColours = (await funnelChart(page)).colours;
    for (const t of small) expect(paidColours[paid.reach.findIndex((r: Reach) => r.stage === t.to)]).toBe(NEUTRAL);
    await page.locator('#funnelPanel').screenshot({ path: `${artifacts}funnel-n-too-small.png` });
    expect(failures).toEqual([]);
  }, 90_000);

  it('drills down from a bar, its drop-off, a cohort cell and a segment to the developers, and opens one journey in one click', async () => {
    const { page, failures } = await open('/dashboard');
    const conversion = await api.ok('/v1/metrics/conversion');
    const firstCall = conversion.reach.findIndex((r: Reach) => r.stage === 'first_api_call');

    await clickBar(page, 0, firstCall);
    await page.waitForFunction(() => new URL((globalThis as any).location.href).searchParams.get('reached') === 'first_api_call');
    await page.waitForSelector('#drill:not([hidden])');
    expect(await page.textContent('#drillTitle')).toBe('Developers who reached First API call (or later):');
    const behindBar = await api.ok('/v1/developers?reached=first_api_call&limit=25');
    await page.waitForFunction((first) => (globalThis as any).document.querySelector('#listTable tr:nth-child(2) td a')?.textContent === first, behindBar.items[0].id);
    expect(await listed(page)).toEqual(ids(behindBar));

    // The ghost bar: who reached the previous stage but not this one.
    await clickBar(page, 1, firstCall);
    await page.waitForFunction(() => new URL((globalThis as any).location.href).searchParams.get('notReached') === 'first_api_call');
    const dropped = await api.ok('/v1/developers?reached=credential_provisioned&notReached=first_api_call&limit=25');
    await page.waitForFunction((first) => (globalThis as any).document.querySelector('#listTable tr:nth-child(2) td a')?.textContent === first, dropped.items[0].id);
    expect(await listed(page)).toEqual(ids(dropped));
    expect(await page.textContent('#drillTitle')).toContain('reached Credential provisioned but not First API call (dropped off)');
    // Everyone listed has, by the policy in force, a stall or not: the column names the criterion and its threshold.
    const stalls = (await rows(page, '#listTable')).map((r) => r[6]);
    expect(stalls).toEqual(dropped.items.map((d: any) => (d.stall ? `${d.stall.id} (> ${d.stall.after})` : '')));
    expect(stalls.some((s) => s.startsWith('no-first-call'))).toBe(true);
    // "stalled only" narrows the drill-down to them (the policy's per-stage thresholds, as the API applies them).
    await page.check('#listStalled');
    await page.click('#listApply');
    await page.waitForFunction(() => new URL((globalThis as any).location.href).searchParams.get('stalled') === 'true');
    const stalledOnly = await api.ok('/v1/developers?reached=credential_provisioned&notReached=first_api_call&stalled=true&limit=25');
    await page.waitForFunction((n) => (globalThis as any).document.body.dataset.listed === String(n), stalledOnly.items.length);
    await page.waitForFunction((first) => (globalThis as any).document.querySelector('#listTable tr:nth-child(2) td a')?.textContent === first, stalledOnly.items[0].id);
    expect(await listed(page)).toEqual(ids(stalledOnly));
    expect(stalledOnly.items.every((d: any) => d.stall !== null)).toBe(true);
    await page.uncheck('#listStalled');

    // A cohort cell: that signup week, reached that stage.
    const cohort = conversion.cohorts.at(-2).cohort;
    await page.click(`#cohortFunnel a[data-cohort="${cohort}"][data-reached="active_integration"]`);
    await page.waitForFunction((c) => new URL((globalThis as any).location.href).searchParams.get('cohort') === c, cohort);
    const cell = await api.ok(`/v1/developers?cohort=${cohort}&reached=active_integration&limit=25`);
    expect(cell.items.length).toBe(Math.min(25, conversion.cohorts.at(-2).reach.find((r: Reach) => r.stage === 'active_integration').reached));
    await page.waitForFunction((n) => (globalThis as any).document.body.dataset.listed === String(n), cell.items.length);
    await page.waitForFunction((first) => (globalThis as any).document.querySelector('#listTable tr:nth-child(2) td a')?.textContent === first, cell.items[0].id);
    expect(await listed(page)).toEqual(ids(cell));
    expect(new URL(page.url()).searchParams.get('notReached')).toBeNull();

    // One click on a developer opens their journey, and the address says which.
    const developer = cell.items[0].id;
    await page.click(`#listTable a[data-developer="${developer}"]`);
    await page.waitForFunction((id) => (globalThis as any).document.querySelector('#timeline')?.textContent?.startsWith(id), developer);
    expect(new URL(page.url()).searchParams.get('developer')).toBe(developer);
    expect(await page.textContent('#timeline')).toContain('Active integration');

    // A segment: the developers in an email engagement segment.
    const engagement = await api.ok('/v1/metrics/engagement');
    const [segment] = Object.entries(engagement.overall.segments).find(([, n]) => (n as number) > 0)!;
    await page.click(`#engagement a[data-engagement="${segment}"]`);
    await page.waitForFunction((s) => new URL((globalThis as any).location.href).searchParams.get('engagement') === s, segment);
    const inSegment = await api.ok(`/v1/developers?engagement=${segment}&limit=25`);
    await page.waitForFunction((first) => (globalThis as any).document.querySelector('#listTable tr:nth-child(2) td a')?.textContent === first, inSegment.items[0].id);
    expect(await listed(page)).toEqual(ids(inSegment));
    expect(await page.textContent('#drillTitle')).toBe(`Developers who are in the “${segment}” email engagement segment:`);
    expect(new URL(page.url()).searchParams.get('cohort')).toBeNull();
    expect(failures).toEqual([]);
  }, 90_000);

  it('shows a journey as a timeline: stages, nudges with the reason one was skipped, the handoff log, relative times with exact ones on hover', async () => {
    const pick = async (sql: string) => (await api.db.pool.query<{ id: string }>(sql)).rows[0]!.id;
    const held = await pick(`SELECT developer_id AS id FROM nudge_decisions WHERE outcome = 'skipped' AND reason = 'holdout' ORDER BY developer_id LIMIT 1`);
    const handed = await pick(`SELECT developer_id AS id FROM handoffs WHERE status = 'resolved' ORDER BY developer_id LIMIT 1`);
    // A resolved case with a reason of its own, and its claim and resolve steps (the seed writes only the escalation step).
    const { rows } = await api.db.pool.query(`SELECT id, opened_at, claimed_at, closed_at FROM handoffs WHERE developer_id = $1`, [handed]);
    const c = rows[0]!;
    const view = {
      id: c.id,
      developerId: handed,
      status: 'resolved',
      criterion: 'stall:no-first-call',
      reason: 'no first call 7 days after the key',
      policyVersion: 1,
      level: 1,
      owner: 'U0AGENT',
      openedAt: c.opened_at.toISOString(),
      claimedAt: c.claimed_at.toISOString(),
      claimDueAt: null,
      resolveDueAt: new Date(c.opened_at.getTime() + 3 * 86_400_000).toISOString(),
      snoozedUntil: null,
      breaches: [],
      closedAt: c.closed_at.toISOString(),
      outcome: 'unblocked',
      outcomes: ['unblocked'],
    };
    await api.db.pool.query(`UPDATE handoffs SET view = $2 WHERE id = $1`, [c.id, JSON.stringify(view)]);
    for (const [n, step, at] of [
      [2, 'claimed', c.claimed_at],
      [3, 'resolved', c.closed_at],
    ] as const)
      await api.db.pool.query(
        `INSERT INTO handoff_steps (step_key, handoff_id, developer_id, step, actor, at, detail, snapshot) VALUES ($1, $2, $3, $4, 'U0AGENT', $5, '{}', '{}')`,
        [`${c.id}/${n}`, c.id, handed, step, at],
      );
    const { page, failures } = await open(`/dashboard?developer=${held}`);
    await page.waitForFunction((id) => (globalThis as any).document.querySelector('#timeline')?.textContent?.startsWith(id), held);
    const timeline = async (id: string) => {
      const journey = await api.ok(`/v1/developers/${id}/journey`);
      const entries = await page.$$eval('#timeline ol.events li', (lis) =>
        lis.map((li) => ({ kind: li.className, at: li.querySelector('time')!.getAttribute('datetime')!, hover: li.querySelector('time')!.title, text: li.textContent! })),
      );
      return { journey, entries };
    };
    const { journey, entries } = await timeline(held);
    const reached = journey.stages.filter((s: any) => s.status === 'reached');
    // Every reached stage, every nudge decision, the first and latest API requests (when they differ), in time order.
    const requests = (journey.requests.firstAt ? 1 : 0) + (journey.requests.lastAt && journey.requests.lastAt !== journey.requests.firstAt ? 1 : 0);
    expect(entries).toHaveLength(reached.length + journey.messages.length + requests);
    expect(entries.map((e) => Date.parse(e.at))).toEqual(entries.map((e) => Date.parse(e.at)).sort((a, b) => a - b));
    for (const s of reached) expect(entries.some((e) => e.text.includes(`Reached ${s.label}`))).toBe(true);
    const skipped = entries.find((e) => e.kind === 'nudge-skipped')!;
    expect(skipped.text).toMatch(/ago\s*Nudge first-call-help skipped — holdout$/);
    expect(skipped.hover).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/);
    expect(await page.$$eval('#timeline ol.stages li', (lis) => lis.map((li) => li.textContent))).toEqual(journey.stages.map((s: any) => s.label));

    await page.fill('#developer', handed);
    await page.click('#open');
    await page.waitForFunction((id) => (globalThis as any).document.querySelector('#timeline')?.textContent?.startsWith(id), handed);
    const withCase = await timeline(handed);
    const [handoff] = withCase.journey.handoffs;
    const steps = withCase.entries.filter((e) => e.kind === 'handoff');
    expect(steps.map((e) => e.at)).toEqual(handoff.log.map((step: any) => step.at));
    expect(steps.map((e) => e.text.replace(/^.*? ago/, ''))).toEqual([
      `Case ${handoff.id} escalated — no first call 7 days after the key`,
      `Case ${handoff.id} claimed by U0AGENT`,
      `Case ${handoff.id} resolved by U0AGENT`,
    ]);
    // The stagnation risk in the current stage, as the developer list gives it.
    const [riskiest] = (await api.ok('/v1/developers?sort=risk&limit=1')).items;
    expect(riskiest.risk).not.toBeNull();
    await page.fill('#developer', riskiest.id);
    await page.click('#open');
    await page.waitForFunction((id) => (globalThis as any).document.querySelector('#timeline')?.textContent?.startsWith(id), riskiest.id);
    expect(await page.textContent('#journeyRisk')).toContain(`stagnation risk ${Math.round(riskiest.risk * 100)}%`);
    await page.locator('#journey').screenshot({ path: `${artifacts}journey-timeline.png` });
    expect(failures).toEqual([]);
  }, 60_000);

  it('restores the range, filters, drill-down and developer from a shared address', async () => {
    const cohorts = (await api.ok('/v1/metrics/conversion')).cohorts;
    const from = `${cohorts[1].cohort}`; // an ISO week: the range below is its Monday to the Sunday after next
    const monday = await api.db.pool.query<{ d: string }>(`SELECT to_char(to_date($1, 'IYYY-"W"IW'), 'YYYY-MM-DD') AS d`, [from]);
    const start = monday.rows[0]!.d;
    const end = new Date(Date.parse(`${start}T00:00:00Z`) + 13 * 86_400_000).toISOString().slice(0, 10);
    const filters = `from=${start}&to=${end}&accountType=individual`;
    const drilled = await api.ok(`/v1/developers?${filters}&reached=first_api_call&notReached=active_integration&limit=25`);
    expect(drilled.items.length).toBeGreaterThan(0);
    const developer = drilled.items[0].id;
    const address = `/dashboard?${filters}&reached=first_api_call&notReached=active_integration&developer=${developer}`;

    const { page, failures } = await open(address);
    expect(await page.inputValue('#from')).toBe(start);
    expect(await page.inputValue('#to')).toBe(end);
    expect(await page.inputValue('#accountType')).toBe('individual');
    const conversion = await api.ok(`/v1/metrics/conversion?${filters}`);
    expect((await funnelChart(page)).reached).toEqual(conversion.reach.map((r: Reach) => r.reached));
    expect(await page.textContent('#drillTitle')).toBe('Developers who reached First API call but not Active integration (dropped off):');
    await page.waitForFunction((first) => (globalThis as any).document.querySelector('#listTable tr:nth-child(2) td a')?.textContent === first, developer);
    expect(await listed(page)).toEqual(ids(drilled));
    await page.waitForFunction((id) => (globalThis as any).document.querySelector('#timeline')?.textContent?.startsWith(id), developer);
    // The address still carries the whole state.
    const params = new URL(page.url()).searchParams;
    expect(Object.fromEntries(['from', 'to', 'accountType', 'reached', 'notReached', 'developer'].map((k) => [k, params.get(k)]))).toEqual({
      from: start,
      to: end,
      accountType: 'individual',
      reached: 'first_api_call',
      notReached: 'active_integration',
      developer,
    });
    expect(failures).toEqual([]);
  }, 60_000);

  it('refreshes on its own, keeping the filters, the drill-down and the scroll', async () => {
    const { page, failures } = await open('/dashboard?refresh=5&channel=referral&reached=account_created');
    const before = (await funnelChart(page)).reached[1];
    await page.evaluate(() => (globalThis as any).document.querySelector('#list').scrollIntoView());
    const scrolled = await page.evaluate(() => (globalThis as any).scrollY);
    expect(scrolled).toBeGreaterThan(0);
    const refreshes = Number(await page.evaluate(() => (globalThis as any).document.body.dataset.refreshes));

    // Three developers sign up from a referral (and one from elsewhere, which the filter leaves out); nobody clicks.
    // In the latest signup week the filtered page already shows (the latest referral signup's): a new
    // week would add a row above the list (early in a week, none has one yet).
    const now = (await api.db.pool.query<{ at: Date }>(`SELECT max(signed_up_at) AS at FROM developers WHERE acquisition_channel = 'referral'`)).rows[0]!.at.toISOString();
    await api.insertDevelopers([
      ...['live_1', 'live_2', 'live_3'].map((id) => ({ id, channel: 'referral', accountType: 'individual' as const, signup: now })),
      { id: 'live_4', channel: 'paid', accountType: 'individual' as const, signup: now },
    ]);
    await page.waitForFunction((n) => (globalThis as any).Chart.getChart('funnelChart').data.datasets[0].data[1] === n, before + 3, { timeout: 15_000 });
    await page.waitForFunction((n) => Number((globalThis as any).document.body.dataset.refreshes) > n, refreshes);
    expect(await page.inputValue('#channel')).toBe('referral');
    expect(new URL(page.url()).searchParams.get('reached')).toBe('account_created');
    expect(await page.isVisible('#drill')).toBe(true);
    expect(Math.abs((await page.evaluate(() => (globalThis as any).scrollY)) - scrolled)).toBeLessThan(5);
    expect(await page.textContent('#status')).toContain('refreshes every 5 s');
    expect(failures).toEqual([]);
  }, 60_000);

  it('says so when the range is reversed or nobody signed up in it, instead of showing zeros', async () => {
    const { page, failures } = await open('/dashboard');
    await page.fill('#from', '2026-12-01');
    await page.fill('#to', '2026-11-01');
    await page.waitForSelector('#notice.invalid:not([hidden])');
    expect(await page.textContent('#notice')).toBe('The range is reversed: signups from 2026-12-01 to 2026-11-01. Pick a “from” on or before the “to”.');
    expect(await page.isVisible('#funnelPanel')).toBe(false);
    await page.screenshot({ path: `${artifacts}funnel-reversed-range.png` });

    await page.fill('#from', '2020-01-01');
    await page.fill('#to', '2020-01-31');
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.state === 'empty');
    expect(await page.textContent('#notice')).toBe('No developers signed up in this range.');
    expect(await page.isVisible('#funnelPanel')).toBe(false);

    await page.fill('#from', '');
    await page.fill('#to', '');
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.state === 'ok');
    expect(await page.isVisible('#notice')).toBe(false);
    expect(await page.isVisible('#funnelPanel')).toBe(true);
    expect(failures).toEqual([]);
  }, 60_000);

  it('fits a 390 px phone: nothing overflows sideways, and the funnel keeps a readable row per stage', async () => {
    const { page, failures } = await open('/dashboard?reached=first_api_call', { width: 390, height: 844 });
    expect(await page.evaluate(() => (globalThis as any).document.scrollingElement.scrollWidth)).toBeLessThanOrEqual(390);
    const box = await page.evaluate(() => {
      const c = (globalThis as any).Chart.getChart('funnelChart');
      const bars = c.getDatasetMeta(0).data;
      return { width: c.width, height: c.height, barHeight: bars[0].height, chartWidth: c.chartArea.right - c.chartArea.left };
    });
    expect(box.width).toBeLessThanOrEqual(390);
    expect(box.height).toBeGreaterThanOrEqual(7 * 25);
    expect(box.barHeight).toBeGreaterThanOrEqual(15);
    expect(box.chartWidth).toBeGreaterThanOrEqual(150); // room for the bars beside the stage labels
    await page.screenshot({ path: `${artifacts}funnel-390.png` });
    await page.locator('#funnelPanel').screenshot({ path: `${artifacts}funnel-390-panel.png` });
    await page.click('#listTable tr:nth-child(2) td a');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#timeline')?.textContent?.length > 0);
    expect(await page.evaluate(() => (globalThis as any).document.scrollingElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(failures).toEqual([]);
  }, 60_000);
});
