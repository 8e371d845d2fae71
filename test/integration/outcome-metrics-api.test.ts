import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escalationPolicyDocument } from '../../src/rules/escalation-policy-schema.ts';
import { startMetricsTestApp, type MetricsTestApp } from '../support/metrics-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** Every figure below is computed as of this instant (a Monday). */
const AS_OF = '2027-03-15T00:00:00.000Z';

type Stage = 'account_created' | 'credential_provisioned' | 'first_api_call' | 'active_integration' | 'production_deployment';

interface Fixture {
  id: string;
  channel: string;
  accountType: 'individual' | 'organization';
  signup: string;
  stages?: Partial<Record<Exclude<Stage, 'account_created'>, string>>;
  /** Nudge decisions: `sent` (an email went out) or `holdout` (skipped, reason holdout), in a stage. */
  decisions?: [kind: 'sent' | 'holdout', stage: Stage, at: string][];
  opens?: string[];
  clicks?: string[];
}

/*
 * Eleven developers in three ISO signup weeks (UTC), plus z1 who signs up after AS_OF.
 *
 * 2026-W49 (Mon 2026-11-30 … Sun 2026-12-06)
 *   e1 organic/individual  first call 12-01; SENT (first_api_call) 12-05 10:00; active 12-10 10:00 (5 d after);
 *                          production 2027-03-20 (after AS_OF); 3 opens, 1 click → high. Case H6 opened 03-16 (after AS_OF).
 *   e2 paid/organization   first call 12-02; SENT (first_api_call) 12-06 10:00; active 12-25 (19 d after), production 2027-01-05;
 *                          1 open (+ 2 opens and a click on 2027-03-20, after AS_OF) → medium.
 *   e3 organic/individual  never calls; SENT (account_created) 12-05, 12-09, 12-13, no open → none (3 sends).
 *                          Cases H1 (resolved) and H7 (resolved).
 * 2026-W53 (Mon 2026-12-28 … Sun 2027-01-03)
 *   e4 paid/individual     SENT (account_created) 12-31, 2027-01-04; first call 01-08 (8 d after the first) → new (2 sends).
 *   e5 organic/individual  HOLDOUT (account_created) 01-04; first call 01-10 (6 d after).
 *   e6 organic/individual  HOLDOUT (account_created) 01-05; first call 01-12 (7 d after).
 *   e7 referral/org        HOLDOUT (account_created) 01-06 and 01-08 (the first counts); never calls.
 *   e8 organic/individual  SENT (account_created) 01-05; never calls; no case → nudged, not resolved.
 * 2027-W10 (Mon 2027-03-08 … Sun 2027-03-14)
 *   f1 organic/individual  signup 03-08 00:00 (exactly 7 d before AS_OF); SENT (account_created) 03-10 (window open at AS_OF);
 *                          3 opens, no click → medium. Case H2 (snoozed).
 *   f2 paid/individual     first call 03-09 01:00; HOLDOUT (first_api_call) 03-10 (window open). Case H3 (open).
 *   f3 direct/org          key created 03-10 00:00. Cases H4 (returned) and H5 (claimed at AS_OF, resolved 03-16).
 * z1 signs up 2027-03-20, after AS_OF, with a sent nudge: counted nowhere.
 */
const FIXTURES: Fixture[] = [
  {
    id: 'e1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2026-11-30T10:00:00Z',
    stages: { first_api_call: '2026-12-01T10:00:00Z', active_integration: '2026-12-10T10:00:00Z', production_deployment: '2027-03-20T00:00:00Z' },
    decisions: [['sent', 'first_api_call', '2026-12-05T10:00:00Z']],
    opens: ['2026-12-05T11:00:00Z', '2026-12-06T10:00:00Z', '2026-12-07T10:00:00Z'],
    clicks: ['2026-12-05T11:05:00Z'],
  },
  {
    id: 'e2',
    channel: 'paid',
    accountType: 'organization',
    signup: '2026-12-01T10:00:00Z',
    stages: { first_api_call: '2026-12-02T10:00:00Z', active_integration: '2026-12-25T10:00:00Z', production_deployment: '2027-01-05T10:00:00Z' },
    decisions: [['sent', 'first_api_call', '2026-12-06T10:00:00Z']],
    opens: ['2026-12-06T12:00:00Z', '2027-03-20T10:00:00Z', '2027-03-20T11:00:00Z'],
    clicks: ['2027-03-20T11:01:00Z'],
  },
  {
    id: 'e3',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2026-12-02T10:00:00Z',
    decisions: [
      ['sent', 'account_created', '2026-12-05T10:00:00Z'],
      ['sent', 'account_created', '2026-12-09T10:00:00Z'],
      ['sent', 'account_created', '2026-12-13T10:00:00Z'],
    ],
  },
  {
    id: 'e4',
    channel: 'paid',
    accountType: 'individual',
    signup: '2026-12-28T09:00:00Z',
    stages: { first_api_call: '2027-01-08T09:00:00Z' },
    decisions: [
      ['sent', 'account_created', '2026-12-31T09:00:00Z'],
      ['sent', 'account_created', '2027-01-04T09:00:00Z'],
    ],
  },
  {
    id: 'e5',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-01-01T00:00:00Z',
    stages: { first_api_call: '2027-01-10T00:00:00Z' },
    decisions: [['holdout', 'account_created', '2027-01-04T00:00:00Z']],
  },
  {
    id: 'e6',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-01-02T12:00:00Z',
    stages: { first_api_call: '2027-01-12T00:00:00Z' },
    decisions: [['holdout', 'account_created', '2027-01-05T00:00:00Z']],
  },
  {
    id: 'e7',
    channel: 'referral',
    accountType: 'organization',
    signup: '2027-01-03T08:00:00Z',
    decisions: [
      ['holdout', 'account_created', '2027-01-06T00:00:00Z'],
      ['holdout', 'account_created', '2027-01-08T00:00:00Z'],
    ],
  },
  { id: 'e8', channel: 'organic_search', accountType: 'individual', signup: '2027-01-03T20:00:00Z', decisions: [['sent', 'account_created', '2027-01-05T00:00:00Z']] },
  {
    id: 'f1',
    channel: 'organic_search',
    accountType: 'individual',
    signup: '2027-03-08T00:00:00Z',
    decisions: [['sent', 'account_created', '2027-03-10T00:00:00Z']],
    opens: ['2027-03-10T12:00:00Z', '2027-03-10T13:00:00Z', '2027-03-10T14:00:00Z'],
  },
  {
    id: 'f2',
    channel: 'paid',
    accountType: 'individual',
    signup: '2027-03-09T00:00:00Z',
    stages: { first_api_call: '2027-03-09T01:00:00Z' },
    decisions: [['holdout', 'first_api_call', '2027-03-10T00:00:00Z']],
  },
  { id: 'f3', channel: 'direct', accountType: 'organization', signup: '2027-03-09T12:00:00Z', stages: { credential_provisioned: '2027-03-10T00:00:00Z' } },
  { id: 'z1', channel: 'organic_search', accountType: 'individual', signup: '2027-03-20T00:00:00Z', decisions: [['sent', 'account_created', '2027-03-21T00:00:00Z']] },
];

interface Case {
  id: string;
  developer: string;
  /** Current status (the read model); the API derives the status as of asOf. */
  status: 'open' | 'claimed' | 'snoozed' | 'returned' | 'resolved';
  opened: string;
  claimed?: string;
  closed?: string;
  outcome?: string;
  /** handoff_steps beyond escalated/claimed/closing: [step, at, detail]. */
  steps?: [string, string, Record<string, unknown>][];
}

/*
 * Cases (time to claim = claimed − opened; to resolve = closed − opened, resolved cases only):
 *   H1 e3  opened 2026-12-16 00:00, claimed +30 min (1800), resolved 12-17 00:00 (86400) 'unblocked'
 *   H7 e3  opened 2027-01-10 00:00, claimed +5 min (300), resolved 01-13 00:00 (259200) 'sent_docs'
 *   H2 f1  opened 03-11 00:00, claim SLA breached 01:00, claimed 02:00 (7200), snoozed 03-12 → snoozed
 *   H3 f2  opened 03-12 00:00, claim SLA breached 03-13 and again 03-14 (one case), never claimed → open
 *   H4 f3  opened 03-10 00:00, claimed 01:00 (3600), resolution SLA breached 20:00, returned 03-11 → returned
 *   H5 f3  opened 03-14 00:00, claimed 00:10 (600), claim breach 03-15 06:00 and resolved 03-16 'no_response'
 *          (both after AS_OF) → claimed as of AS_OF
 *   H6 e1  opened 03-16 (after AS_OF) → ignored
 */
const CASES: Case[] = [
  { id: 'H1', developer: 'e3', status: 'resolved', opened: '2026-12-16T00:00:00Z', claimed: '2026-12-16T00:30:00Z', closed: '2026-12-17T00:00:00Z', outcome: 'unblocked' },
  { id: 'H7', developer: 'e3', status: 'resolved', opened: '2027-01-10T00:00:00Z', claimed: '2027-01-10T00:05:00Z', closed: '2027-01-13T00:00:00Z', outcome: 'sent_docs' },
  {
    id: 'H2',
    developer: 'f1',
    status: 'snoozed',
    opened: '2027-03-11T00:00:00Z',
    claimed: '2027-03-11T02:00:00Z',
    steps: [
      ['sla_breached', '2027-03-11T01:00:00Z', { sla: 'claim', level: 1 }],
      ['snoozed', '2027-03-12T00:00:00Z', {}],
    ],
  },
  {
    id: 'H3',
    developer: 'f2',
    status: 'open',
    opened: '2027-03-12T00:00:00Z',
    steps: [
      ['sla_breached', '2027-03-13T00:00:00Z', { sla: 'claim', level: 1 }],
      ['sla_breached', '2027-03-14T00:00:00Z', { sla: 'claim', level: 2 }],
    ],
  },
  {
    id: 'H4',
    developer: 'f3',
    status: 'returned',
    opened: '2027-03-10T00:00:00Z',
    claimed: '2027-03-10T01:00:00Z',
    closed: '2027-03-11T00:00:00Z',
    steps: [['sla_breached', '2027-03-10T20:00:00Z', { sla: 'resolution', level: 1 }]],
  },
  {
    id: 'H5',
    developer: 'f3',
    status: 'resolved',
    opened: '2027-03-14T00:00:00Z',
    claimed: '2027-03-14T00:10:00Z',
    closed: '2027-03-16T00:00:00Z',
    outcome: 'no_response',
    steps: [['sla_breached', '2027-03-15T06:00:00Z', { sla: 'claim', level: 1 }]],
  },
  { id: 'H6', developer: 'e1', status: 'open', opened: '2027-03-16T00:00:00Z' },
];

const segments = (high: number, medium: number, none: number, fresh: number) => ({ high, medium, none, new: fresh });
const group = (eligible: number, converted: number, excluded: number) => ({ eligible, converted, excluded, rate: eligible === 0 ? null : converted / eligible });
const shares = (developers: number, automationResolved: number, humanEscalated: number) => ({
  developers,
  automationResolved,
  humanEscalated,
  unresolved: developers - automationResolved - humanEscalated,
  automationShare: developers === 0 ? null : automationResolved / developers,
  humanShare: developers === 0 ? null : humanEscalated / developers,
});

describe.each(databaseBackends())('the outcome metrics API (%s)', (backend) => {
  let api: MetricsTestApp;

  beforeAll(async () => {
    api = await startMetricsTestApp(backend);
    const q = (sql: string, params: unknown[]) => api.db.pool.query(sql, params);
    for (const f of FIXTURES) {
      const stages: [string, string][] = Object.entries({ account_created: f.signup, ...f.stages });
      const [currentStage, currentAt] = stages[stages.length - 1]!;
      await q(`INSERT INTO developers (id, account_type, acquisition_channel, signed_up_at, stage, stage_at) VALUES ($1, $2, $3, $4, $5, $6)`, [
        f.id,
        f.accountType,
        f.channel,
        f.signup,
        currentStage,
        currentAt,
      ]);
      for (const [stage, at] of stages) {
        await q(`INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ($1, $2, $3, $4)`, [f.id, stage, at, `${f.id}-${stage}`]);
      }
      for (const [n, [kind, stage, at]] of (f.decisions ?? []).entries()) {
        await q(
          `INSERT INTO nudge_decisions (developer_id, decision_key, nudge_key, rule_id, rule_version, outcome, reason, segment, inputs, decided_at)
           VALUES ($1, $2, $3, 'stall', 1, $4, $5, '{}', $6, $7)`,
          [
            f.id,
            `${f.id}/${n + 1}`,
            `stall#${n + 1}`,
            kind === 'sent' ? 'sent' : 'skipped',
            kind === 'sent' ? null : 'holdout',
            JSON.stringify({ stage, holdout: kind === 'holdout' }),
            at,
          ],
        );
      }
      for (const [type, times] of [
        ['email.opened', f.opens ?? []],
        ['email.clicked', f.clicks ?? []],
      ] as const) {
        for (const [n, at] of times.entries())
          await q(`INSERT INTO events (id, type, developer_id, occurred_at) VALUES ($1, $2, $3, $4)`, [`${f.id}-${type}-${n}`, type, f.id, at]);
      }
    }
    for (const c of CASES) {
      await q(
        `INSERT INTO handoffs (id, developer_id, status, criterion, level, opened_at, claimed_at, closed_at, outcome, sla_breached, revision, view)
         VALUES ($1, $2, $3, 'stall:test', 1, $4, $5, $6, $7, $8, 1, '{}')`,
        [c.id, c.developer, c.status, c.opened, c.claimed ?? null, c.closed ?? null, c.outcome ?? null, (c.steps ?? []).some(([s]) => s === 'sla_breached')],
      );
      const steps: [string, string, Record<string, unknown>][] = [
        ['escalated', c.opened, {}],
        ...(c.claimed ? [['claimed', c.claimed, {}] as [string, string, Record<string, unknown>]] : []),
        ...(c.steps ?? []),
      ];
      if (c.closed) steps.push([c.status, c.closed, {}]);
      for (const [n, [step, at, detail]] of steps.entries()) {
        await q(`INSERT INTO handoff_steps (step_key, handoff_id, developer_id, step, at, detail, snapshot) VALUES ($1, $2, $3, $4, $5, $6, '{}')`, [
          `${c.id}/${n + 1}`,
          c.id,
          c.developer,
          step,
          at,
          JSON.stringify(detail),
        ]);
      }
    }
  });
  afterAll(async () => {
    await api?.close();
  });

  const ids = (body: { items: { id: string }[] }) => body.items.map((i) => i.id);

  it('engagement segments per ISO week, with the default noEngagementAfterSends (3, no rules applied)', async () => {
    const body = await api.ok(`/v1/metrics/engagement?asOf=${AS_OF}`);
    expect(body.asOf).toBe(AS_OF);
    expect(body.noEngagementAfterSends).toBe(3);
    // W49: e1 3 opens + 1 click → high; e2 1 open by AS_OF (the 03-20 opens and click do not exist yet) → medium;
    //      e3 3 sends, no open → none.
    // W53: e4 2 sends (< 3), e5 e6 e7 (holdout: no sends), e8 1 send → all new.
    // W10: f1 3 opens, no click → medium; f2, f3 → new. z1 signed up after AS_OF: nowhere.
    expect(body.cohorts.map(({ nudgeEffect: _, ...rest }: { nudgeEffect: unknown }) => rest)).toEqual([
      { cohort: '2026-W49', developers: 3, segments: segments(1, 1, 1, 0) },
      { cohort: '2026-W53', developers: 5, segments: segments(0, 0, 0, 5) },
      { cohort: '2027-W10', developers: 3, segments: segments(0, 1, 0, 2) },
    ]);
    expect(body.overall).toEqual({ developers: 11, segments: segments(1, 2, 1, 7) });
    // The developers behind each segment, as counted above.
    const behind = async (segment: string, query = '') => ids(await api.ok(`/v1/developers?asOf=${AS_OF}&engagement=${segment}&limit=100${query}`));
    expect(await behind('high')).toEqual(['e1']);
    expect(await behind('medium')).toEqual(['e2', 'f1']);
    expect(await behind('none')).toEqual(['e3']);
    expect(await behind('new')).toEqual(['e4', 'e5', 'e6', 'e7', 'e8', 'f2', 'f3']);
    expect(await behind('new', '&cohort=2027-W10')).toEqual(['f2', 'f3']);
    await api.expectBadParameter('/v1/developers?engagement=hot', 'engagement', /high/);
  });

  it('nudge effect per signup cohort, with the same window and interval', async () => {
    const { cohorts } = await api.ok(`/v1/metrics/engagement?asOf=${AS_OF}`);
    const effect = (week: string) => cohorts.find((c: { cohort: string }) => c.cohort === week).nudgeEffect;
    // W49: account_created nudged e3 (never calls) → 0/1; first_api_call nudged e1 (converted) and e2 (not) → 1/2.
    //   No holdout in either stage → no difference.
    expect(effect('2026-W49')).toEqual([
      { stage: 'account_created', label: 'Account created', nudged: group(1, 0, 0), holdout: group(0, 0, 0), difference: null, ci95: null },
      { stage: 'first_api_call', label: 'First API call', nudged: group(2, 1, 0), holdout: group(0, 0, 0), difference: null, ci95: null },
    ]);
    // W53: account_created nudged e4 (converted), e8 (not) → 1/2; holdout e5, e6 (converted), e7 (not) → 2/3.
    //   difference 1/2 − 2/3 = −1/6; se = √(½·½/2 + ⅔·⅓/3) = √(0.125 + 0.0740741) = 0.446177; · 1.959964 = 0.874491.
    const [w53, ...w53Rest] = effect('2026-W53');
    expect(w53Rest).toEqual([]);
    expect(w53).toMatchObject({ stage: 'account_created', nudged: group(2, 1, 0), holdout: group(3, 2, 0) });
    expect(w53.difference).toBeCloseTo(-1 / 6, 10);
    expect(w53.ci95.low).toBeCloseTo(-1 / 6 - 0.874491, 5);
    expect(w53.ci95.high).toBeCloseTo(-1 / 6 + 0.874491, 5);
    // W10: f1 nudged and f2 held out, both windows still open at AS_OF → excluded.
    expect(effect('2027-W10')).toEqual([
      { stage: 'account_created', label: 'Account created', nudged: group(0, 0, 1), holdout: group(0, 0, 0), difference: null, ci95: null },
      { stage: 'first_api_call', label: 'First API call', nudged: group(0, 0, 0), holdout: group(0, 0, 1), difference: null, ci95: null },
    ]);
  });

  it('nudge effect per stage: nudged vs holdout within 14 days, the difference and its 95 % Wald interval', async () => {
    const { nudgeEffect } = await api.ok(`/v1/metrics/engagement?asOf=${AS_OF}`);
    expect(nudgeEffect.windowDays).toBe(14);
    const [accountCreated, firstCall, ...rest] = nudgeEffect.stages;
    expect(rest).toEqual([]);
    // account_created, nudged (first sent decision in the stage): e3 12-05 → never calls, window ended 12-19: not converted;
    //   e4 12-31 → first call 01-08 (8 d): converted; e8 01-05 → never: not converted; f1 03-10 → window to 03-24 open,
    //   not converted → excluded. eligible 3, converted 1 → 1/3.
    // holdout: e5 01-04 → first call 01-10 (6 d) converted; e6 01-05 → 01-12 (7 d) converted; e7 01-06 (its first holdout
    //   decision) → never. eligible 3, converted 2 → 2/3.
    // difference 1/3 − 2/3 = −1/3; se = √(⅓·⅔/3 + ⅔·⅓/3) = √(4/27) = 0.384900; 1.959964 · 0.384900 = 0.754400.
    expect(accountCreated).toMatchObject({ stage: 'account_created', nudged: group(3, 1, 1), holdout: group(3, 2, 0) });
    expect(accountCreated.difference).toBeCloseTo(-1 / 3, 10);
    expect(accountCreated.ci95.low).toBeCloseTo(-1 / 3 - 0.7544, 4);
    expect(accountCreated.ci95.high).toBeCloseTo(-1 / 3 + 0.7544, 4);
    // first_api_call, nudged: e1 12-05 → active 12-10 (5 d) converted; e2 12-06 → active 12-25 (19 d), production 01-05
    //   (30 d): not converted. 1/2. holdout: f2 03-10, window open, not converted → excluded: eligible 0 → no rate,
    //   no difference, no interval.
    expect(firstCall).toEqual({ stage: 'first_api_call', label: 'First API call', nudged: group(2, 1, 0), holdout: group(0, 0, 1), difference: null, ci95: null });
  });

  it('engagement as of an earlier instant, and with filters', async () => {
    // As of 2026-12-10: only W49 has signed up. e1's opens (12-05..07) and click: high; e2's 12-06 open: medium;
    // e3 has 2 sends by then (12-05, 12-09; 12-13 is later) → new, not none.
    const early = await api.ok('/v1/metrics/engagement?asOf=2026-12-10T00:00:00Z');
    expect(early.cohorts).toEqual([{ cohort: '2026-W49', developers: 3, segments: segments(1, 1, 0, 1), nudgeEffect: early.nudgeEffect.stages }]);
    // Still as of 12-10: account_created nudged e3 (12-05, window to 12-19 open) → excluded; first_api_call nudged
    // e1 (active 12-10 10:00 is after asOf) and e2: both excluded.
    expect(early.nudgeEffect.stages).toEqual([
      { stage: 'account_created', label: 'Account created', nudged: group(0, 0, 1), holdout: group(0, 0, 0), difference: null, ci95: null },
      { stage: 'first_api_call', label: 'First API call', nudged: group(0, 0, 2), holdout: group(0, 0, 0), difference: null, ci95: null },
    ]);
    // Organizations: e2 (medium), e7 (new), f3 (new).
    const orgs = await api.ok(`/v1/metrics/engagement?asOf=${AS_OF}&accountType=organization`);
    expect(orgs.overall).toEqual({ developers: 3, segments: segments(0, 1, 0, 2) });
    // account_created: only e7's holdout (not converted); first_api_call: only e2 nudged (not converted).
    expect(orgs.nudgeEffect.stages).toEqual([
      { stage: 'account_created', label: 'Account created', nudged: group(0, 0, 0), holdout: group(1, 0, 0), difference: null, ci95: null },
      { stage: 'first_api_call', label: 'First API call', nudged: group(1, 0, 0), holdout: group(0, 0, 0), difference: null, ci95: null },
    ]);
    // Signups on 2027-01-01..03 (W53) from paid: e4 only.
    const paid = await api.ok(`/v1/metrics/engagement?asOf=${AS_OF}&channel=paid&from=2026-12-28&to=2027-01-03`);
    // e4: nudged in account_created 12-31, first call 01-08 (8 d) → 1/1.
    expect(paid.cohorts).toEqual([
      {
        cohort: '2026-W53',
        developers: 1,
        segments: segments(0, 0, 0, 1),
        nudgeEffect: [{ stage: 'account_created', label: 'Account created', nudged: group(1, 1, 0), holdout: group(0, 0, 0), difference: null, ci95: null }],
      },
    ]);
  });

  it('automation-resolved vs human-escalated, per ISO week and overall', async () => {
    const body = await api.ok(`/v1/metrics/automation?asOf=${AS_OF}`);
    // Population: a sent nudge or a case by AS_OF. e5 e6 e7 (holdout only) are not in it.
    // W49: e1 (nudged in first_api_call 12-05, active 12-10 after it, no case by AS_OF: H6 is later) → automation;
    //      e2 (nudged 12-06, active 12-25) → automation; e3 (H1) → human.
    // W53: e4 (nudged account_created 12-31, first call 01-08) → automation; e8 (nudged, never progressed) → unresolved.
    // W10: f1 (H2), f2 (H3; its holdout decision is no nudge), f3 (H4, H5) → human.
    expect(body.cohorts).toEqual([
      { cohort: '2026-W49', ...shares(3, 2, 1) },
      { cohort: '2026-W53', ...shares(2, 1, 0) },
      { cohort: '2027-W10', ...shares(3, 0, 3) },
    ]);
    expect(body.overall).toEqual(shares(8, 3, 4));
  });

  it('handoffs: time to claim and to resolve (percentile_cont), outcomes, SLA breaches, status as of asOf', async () => {
    const { handoffs } = await api.ok(`/v1/metrics/automation?asOf=${AS_OF}`);
    // Cases opened by AS_OF: H1 H7 H2 H3 H4 H5 = 6 (H6 later).
    // Status as of AS_OF: H1 H7 resolved; H2 snoozed (03-12); H3 open; H4 returned; H5 claimed (resolved only on 03-16).
    expect(handoffs.cases).toBe(6);
    expect(handoffs.byStatus).toEqual({ open: 1, claimed: 1, snoozed: 1, returned: 1, resolved: 2 });
    // Claimed by AS_OF: 300 (H7), 600 (H5), 1800 (H1), 3600 (H4), 7200 (H2); n = 5, positions p·4:
    //   p50 at 2 = 1800; p90 at 3.6 = 3600 + 0.6·(7200 − 3600) = 5760.
    expect(handoffs.timeToClaim).toEqual({ cases: 5, p50: 1800, p90: 5760 });
    // Resolved by AS_OF: 86400 (H1), 259200 (H7); positions p·1: p50 = 86400 + 0.5·172800 = 172800;
    //   p90 = 86400 + 0.9·172800 = 241920. H4 was returned, not resolved; H5 resolved after AS_OF.
    expect(handoffs.timeToResolve.cases).toBe(2);
    expect(handoffs.timeToResolve.p50).toBeCloseTo(172800, 6);
    expect(handoffs.timeToResolve.p90).toBeCloseTo(241920, 6);
    // Outcomes of the resolved: sent_docs 1, unblocked 1 (no_response is H5's, after AS_OF).
    expect(handoffs.outcomes).toEqual([
      { outcome: 'sent_docs', cases: 1 },
      { outcome: 'unblocked', cases: 1 },
    ]);
    // Claim breaches: H2, H3 (twice: one case); H5's is after AS_OF. Resolution: H4.
    expect(handoffs.slaBreaches).toEqual({ claim: 2, resolution: 1 });
  });

  it('automation as of an earlier instant, and with a filter', async () => {
    // As of 2026-12-20: e1 nudged 12-05, active 12-10 → automation; e2 nudged 12-06, active 12-25 not yet → unresolved;
    // e3 H1 (opened 12-16) → human. H1: claimed (1800), resolved 12-17 (86400), 'unblocked'.
    const early = await api.ok('/v1/metrics/automation?asOf=2026-12-20T00:00:00Z');
    expect(early.overall).toEqual(shares(3, 1, 1));
    expect(early.handoffs).toEqual({
      cases: 1,
      byStatus: { open: 0, claimed: 0, snoozed: 0, returned: 0, resolved: 1 },
      timeToClaim: { cases: 1, p50: 1800, p90: 1800 },
      timeToResolve: { cases: 1, p50: 86400, p90: 86400 },
      outcomes: [{ outcome: 'unblocked', cases: 1 }],
      slaBreaches: { claim: 0, resolution: 0 },
    });
    // As of 2027-03-11 00:30: H2 opened, not claimed, no breach yet → open; H4 claimed 03-10 01:00, returned 03-11 → returned.
    const mid = await api.ok('/v1/metrics/automation?asOf=2027-03-11T00:30:00Z');
    expect(mid.handoffs.byStatus).toEqual({ open: 1, claimed: 0, snoozed: 0, returned: 1, resolved: 2 });
    // Organizations: e2 (automation), f3 (human); e7 holdout only. Cases: H4 (3600, returned, resolution breach),
    // H5 (600, claimed): claim p50 = 600 + 0.5·3000 = 2100, p90 = 600 + 0.9·3000 = 3300; nothing resolved.
    const orgs = await api.ok(`/v1/metrics/automation?asOf=${AS_OF}&accountType=organization`);
    expect(orgs.overall).toEqual(shares(2, 1, 1));
    expect(orgs.handoffs).toEqual({
      cases: 2,
      byStatus: { open: 0, claimed: 1, snoozed: 0, returned: 1, resolved: 0 },
      timeToClaim: { cases: 2, p50: 2100, p90: 3300 },
      timeToResolve: { cases: 0, p50: null, p90: null },
      outcomes: [],
      slaBreaches: { claim: 0, resolution: 1 },
    });
  });

  it('lists the developers behind a figure, as of asOf, with combinable filters', async () => {
    const all = await api.ok(`/v1/developers?asOf=${AS_OF}&limit=100`);
    expect(ids(all)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'f1', 'f2', 'f3']);
    expect(all.nextCursor).toBeNull();
    const byId = Object.fromEntries(all.items.map((i: { id: string }) => [i.id, i]));
    // e1: production (03-20) and H6 (03-16) are after AS_OF.
    expect(byId.e1).toEqual({
      id: 'e1',
      stage: 'active_integration',
      stageLabel: 'Active integration',
      stageAt: '2026-12-10T10:00:00.000Z',
      cohort: '2026-W49',
      accountType: 'individual',
      channel: 'organic_search',
      escalated: false,
      lastHandoffStatus: null,
      // Stalled by the policy's criterion for its stage (see the stalled filter below), with that criterion's threshold.
      stall: { id: 'not-live', since: 'active_integration', until: 'production_deployment', after: '30d' },
      // Eleven developers: too few observed in a stage for a stagnation risk (test/integration/stagnation-risk-api.test.ts has one).
      risk: null,
    });
    // e3: latest case H7, resolved. f3: latest case H5, claimed as of AS_OF.
    expect(byId.e3).toMatchObject({ stage: 'account_created', stageAt: '2026-12-02T10:00:00.000Z', escalated: true, lastHandoffStatus: 'resolved' });
    expect(byId.f3).toEqual({
      id: 'f3',
      stage: 'credential_provisioned',
      stageLabel: 'Credential provisioned',
      stageAt: '2027-03-10T00:00:00.000Z',
      cohort: '2027-W10',
      accountType: 'organization',
      channel: 'direct',
      escalated: true,
      lastHandoffStatus: 'claimed',
      // An organization: the criterion's organizationAfter (3 d), not its 7 d, is the threshold that stalled it.
      stall: { id: 'no-first-call', since: 'credential_provisioned', until: 'first_api_call', after: '3d' },
      risk: null,
    });
    expect(byId.e4.stall).toMatchObject({ id: 'not-active', after: '14d' });
    expect(byId.f2.stall).toBeNull(); // first call 03-09: its 14 days have not elapsed
    expect(byId.e3.stall).toBeNull(); // no criterion starts at account_created
    expect(byId.f1.lastHandoffStatus).toBe('snoozed');
    expect(byId.f2.lastHandoffStatus).toBe('open');

    const list = async (query: string) => ids(await api.ok(`/v1/developers?asOf=${AS_OF}&limit=100&${query}`));
    expect(await list('stage=account_created')).toEqual(['e3', 'e7', 'e8', 'f1']);
    // Stalled by the default policy's criteria (no policy applied), as of AS_OF:
    //   no-first-call (key 7 d, organizations 3 d): f3, an organization, key 03-10 → due 03-13 → stalled.
    //   not-active (first call 14 d, organizations 7 d): e4 (01-08), e5 (01-10), e6 (01-12) → stalled; f2 (03-09 01:00
    //     + 14 d = 03-23) is not yet; e1, e2 went on.
    //   not-live (active 30 d, organizations 14 d): e1 active 12-10, production only 03-20 (after AS_OF) → stalled.
    //   e3, e7, e8, f1 never created a key: no criterion starts at account_created.
    expect(await list('stalled=true')).toEqual(['e1', 'e4', 'e5', 'e6', 'f3']);
    expect(await list('stalled=false')).toEqual(['e2', 'e3', 'e7', 'e8', 'f1', 'f2']);
    expect(await list('escalated=true')).toEqual(['e3', 'f1', 'f2', 'f3']);
    expect(await list('escalated=false')).toEqual(['e1', 'e2', 'e4', 'e5', 'e6', 'e7', 'e8']);
    expect(await list('stalled=true&escalated=true')).toEqual(['f3']);
    // As of 03-12 23:59 f3's organization threshold (3 d) has not elapsed; e1 (active 12-10 + 30 d) already had.
    expect(ids(await api.ok('/v1/developers?asOf=2027-03-12T23:59:00Z&stalled=true&cohort=2027-W10'))).toEqual([]);
    expect(await list('cohort=2027-W10')).toEqual(['f1', 'f2', 'f3']);
    expect(await list('cohort=2027-W10&stage=account_created&escalated=true')).toEqual(['f1']);
    expect(await list('cohort=2026-W53&stage=first_api_call&channel=paid')).toEqual(['e4']);
    expect(await list('cohort=2027-W01')).toEqual([]);
    // A funnel bar: reached a stage or a later one; its drop-off: reached the previous one, not it (nor later).
    expect(await list('reached=first_api_call')).toEqual(['e1', 'e2', 'e4', 'e5', 'e6', 'f2']);
    expect(await list('reached=credential_provisioned&notReached=first_api_call')).toEqual(['f3']);
    expect(await list('reached=account_created&notReached=credential_provisioned')).toEqual(['e3', 'e7', 'e8', 'f1']);
    expect(await list('reached=production_deployment')).toEqual(['e2']);
    expect(await list('cohort=2027-W10&reached=first_api_call')).toEqual(['f2']);
    await api.expectBadParameter('/v1/developers?reached=paying', 'reached', /paying/);
    await api.expectBadParameter('/v1/developers?notReached=paying', 'notReached', /paying/);

    // Later: e1 is in production (03-20) with H6 open (03-16); z1 has signed up.
    const later = await api.ok('/v1/developers?asOf=2027-03-21T00:00:00Z&escalated=true');
    expect(ids(later)).toEqual(['e1', 'e3', 'f1', 'f2', 'f3']);
    expect(later.items[0]).toMatchObject({ id: 'e1', stage: 'production_deployment', lastHandoffStatus: 'open' });
    expect(later.items[4]).toMatchObject({ id: 'f3', lastHandoffStatus: 'resolved' });
  });

  it('paginates with an opaque cursor: pages in id order, no overlap, the same filters', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const pages: string[][] = [];
    do {
      const body: { items: { id: string }[]; nextCursor: string | null } = await api.ok(`/v1/developers?asOf=${AS_OF}&limit=4${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(ids(body));
      seen.push(...ids(body));
      cursor = body.nextCursor;
    } while (cursor !== null);
    expect(pages).toEqual([
      ['e1', 'e2', 'e3', 'e4'],
      ['e5', 'e6', 'e7', 'e8'],
      ['f1', 'f2', 'f3'],
    ]);
    expect(new Set(seen).size).toBe(seen.length);

    // Filtered: developers not stalled, 4 at a time.
    const first = await api.ok(`/v1/developers?asOf=${AS_OF}&stalled=false&limit=4`);
    expect(ids(first)).toEqual(['e2', 'e3', 'e7', 'e8']);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await api.ok(`/v1/developers?asOf=${AS_OF}&stalled=false&limit=4&cursor=${first.nextCursor}`);
    expect(ids(second)).toEqual(['f1', 'f2']);
    expect(second.nextCursor).toBeNull();
    // A page that ends exactly at the last developer says so.
    const exact = await api.ok(`/v1/developers?asOf=${AS_OF}&cohort=2027-W10&limit=3`);
    expect(ids(exact)).toEqual(['f1', 'f2', 'f3']);
    expect(exact.nextCursor).toBeNull();
  });

  it('stalled follows the escalation policy in force', async () => {
    const policy = {
      ...escalationPolicyDocument.parse({}),
      criteria: {
        stalls: [{ id: 'no-key', since: 'account_created', until: 'credential_provisioned', after: '7d', organizationAfter: '5d' }],
        supportTicket: { enabled: true },
        errorBurstAfterNudge: { enabled: true },
        noEmailEngagement: { enabled: true },
      },
    };
    await api.db.pool.query(`INSERT INTO escalation_policy_versions (version, document, source, author, reason, diff) VALUES (1, $1, '', 'test', 'test', '')`, [
      JSON.stringify(policy),
    ]);
    try {
      // Only "no key 7 d (organizations 5 d) after signup" now: e3 (12-02), e7 (org, 01-03), e8 (01-03) never created
      // one; f1 signed up exactly 7 d before AS_OF (due = AS_OF: stalled). f3 has a key; everyone else went further.
      expect(ids(await api.ok(`/v1/developers?asOf=${AS_OF}&stalled=true`))).toEqual(['e3', 'e7', 'e8', 'f1']);
      // A minute earlier f1 is not yet.
      expect(ids(await api.ok('/v1/developers?asOf=2027-03-14T23:59:00Z&stalled=true'))).toEqual(['e3', 'e7', 'e8']);
    } finally {
      await api.db.pool.query('DELETE FROM escalation_policy_versions');
    }
  });

  it('reads noEngagementAfterSends from the running rules version', async () => {
    await api.db.pool.query(`INSERT INTO rule_versions (version, document, source, author, reason, diff) VALUES (1, $1, '', 'test', 'test', '')`, [
      JSON.stringify({ rules: [], policy: { noEngagementAfterSends: 2 } }),
    ]);
    const body = await api.ok(`/v1/metrics/engagement?asOf=${AS_OF}`);
    expect(body.noEngagementAfterSends).toBe(2);
    // e4's 2 sends without an open now make it none; e8 (1 send) stays new.
    expect(body.cohorts[1]).toMatchObject({ cohort: '2026-W53', developers: 5, segments: segments(0, 0, 1, 4) });
    expect(body.overall).toEqual({ developers: 11, segments: segments(1, 2, 2, 6) });
  });

  it('answers 400 naming the parameter', async () => {
    const cases: [url: string, path: string, message: RegExp][] = [
      ['/v1/developers?cohort=2026-49', 'cohort', /ISO week/],
      ['/v1/developers?cohort=W49', 'cohort', /ISO week/],
      ['/v1/developers?stage=onboarding', 'stage', /account_created/],
      ['/v1/developers?stalled=yes', 'stalled', /true/],
      ['/v1/developers?escalated=1', 'escalated', /true/],
      ['/v1/developers?limit=0', 'limit', /.+/],
      ['/v1/developers?limit=many', 'limit', /.+/],
      ['/v1/developers?cursor=not-a-cursor', 'cursor', /previous page/],
      ['/v1/developers?asOf=yesterday', 'asOf', /ISO-8601/],
      ['/v1/metrics/engagement?channel=tv', 'channel', /organic_search/],
      ['/v1/metrics/automation?from=2027-02-30', 'from', /YYYY-MM-DD/],
    ];
    for (const [url, path, message] of cases) await api.expectBadParameter(url, path, message);
  });

  it('accepts the admin and the metrics key, and answers 401 to the ingest key and to none', async () => {
    await api.expectMetricsKeysOnly([`/v1/metrics/engagement?asOf=${AS_OF}`, `/v1/metrics/automation?asOf=${AS_OF}`, `/v1/developers?asOf=${AS_OF}`]);
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const response = await api.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const paths = response.json().paths;
    expect(Object.keys(paths)).toEqual(expect.arrayContaining(['/v1/metrics/engagement', '/v1/metrics/automation', '/v1/developers']));
    const parameters = paths['/v1/developers'].get.parameters.map((p: { name: string }) => p.name);
    expect(parameters).toEqual(expect.arrayContaining(['asOf', 'stage', 'stalled', 'escalated', 'cohort', 'limit', 'cursor']));
  });
});
