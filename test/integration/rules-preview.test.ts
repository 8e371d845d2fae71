import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import type { IngestEvent } from '../../src/events/event-schemas.ts';
import { EventIngestor } from '../../src/ingest/event-ingestor.ts';
import { holdoutBucket } from '../../src/journey/nudging.ts';
import { runRulePreview, type PreviewResult } from '../../src/preview/rule-preview.ts';
import { SHIPPED_FUNNEL_FILE, shippedFunnel } from '../../src/funnel/funnel-file.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { CUSTOM_FUNNEL, CUSTOM_POLICY, CUSTOM_RULES } from '../support/custom-funnel-documents.ts';
import { createMigratedTestDatabase } from '../support/migrated-database.ts';
import { seedRiskCohort } from '../support/risk-cohort.ts';
import { databaseBackends, type TestDatabase } from '../support/test-databases.ts';

/**
 * `onramp rules preview`: candidate rules against a cohort in the sandbox. The history mode runs
 * on a hand-written history whose every send and case is counted by hand below; the synthetic
 * mode and the errors go through the CLI as a user runs it.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const root = fileURLToPath(new URL('../..', import.meta.url));
const shippedRules = readFileSync(join(root, 'config/rules.yaml'), 'utf8');
const shippedPolicy = readFileSync(join(root, 'config/escalation.yaml'), 'utf8');
const ruleIds = (source: string): string[] => parse(source).rules.map((r: { id: string }) => r.id);

/** The first id with this prefix in (or out of) the 10% holdout. */
function idFor(prefix: string, holdout: boolean): string {
  for (let n = 0; ; n++) if (holdoutBucket(`${prefix}${n}`) < 1000 === holdout) return `${prefix}${n}`;
}

// UTC midnight 20 days ago: the history is laid out in hours of those days (all developers UTC,
// quiet hours 21:00–08:00). The preview moves it by whole weeks, so the hours stay the same.
const day0 = Math.floor((Date.now() - 20 * DAY) / DAY) * DAY;
const at = (day: number, hour: number) => new Date(day0 + day * DAY + hour * HOUR).toISOString();
const dev = {
  stalled: idFor('dev_stalled_', false), // key at 10:30, never calls
  night: idFor('dev_night_', false), // key at 22:00, never calls: both nudges fall in quiet hours
  caller: idFor('dev_caller_', false), // one call 10 minutes after the key, nothing more
  holdout: idFor('dev_holdout_', true), // as stalled, but in the holdout
  before: 'dev_before_window', // signed up 40 days ago: not in the window
};

function signup(id: string, occurredAt: string): IngestEvent {
  return {
    id: `${id}.signup`,
    type: 'developer.signed_up',
    developerId: id,
    occurredAt,
    properties: { email: `${id}@example.com`, accountType: 'individual', acquisitionChannel: 'paid', timezone: 'UTC' },
  };
}
const key = (id: string, occurredAt: string): IngestEvent => ({
  id: `${id}.key`,
  type: 'api_key.created',
  developerId: id,
  occurredAt,
  properties: { apiKey: `key_${id}`, mode: 'test' },
});
const call = (id: string, occurredAt: string): IngestEvent => ({
  id: `${id}.call`,
  type: 'api.request',
  developerId: id,
  occurredAt,
  properties: { apiKey: `key_${id}`, endpoint: '/v1/charges', method: 'POST', status: 200, userAgent: 'curl/8.5.0', mode: 'test' },
});

const history: IngestEvent[] = [
  signup(dev.stalled, at(0, 10)),
  key(dev.stalled, at(0, 10.5)),
  signup(dev.night, at(0, 21.5)),
  key(dev.night, at(0, 22)),
  signup(dev.caller, at(0, 11)),
  key(dev.caller, at(0, 11 + 1 / 6)),
  call(dev.caller, at(0, 11 + 2 / 6)),
  signup(dev.holdout, at(0, 12)),
  key(dev.holdout, at(0, 12.5)),
  signup(dev.before, at(-20, 10)),
  key(dev.before, at(-20, 10.5)),
];

const SOURCE_TABLES = ['developers', 'events', 'emails', 'nudge_decisions', 'handoffs', 'outbox_signals', 'rule_versions'];

let database: TestDatabase;
let db: Database;

beforeAll(async () => {
  database = await createMigratedTestDatabase(databaseBackends()[0]!);
  db = openDatabase(database.url, { max: database.maxConnections });
  await new EventIngestor(db.pool).ingest(history);
  // What the running rules actually did: one email, under an older version of first-call-help.
  await db.pool.query(
    `INSERT INTO emails (id, developer_id, rule_id, rule_version, template, to_address, subject, text, html, transport, status, sent_at)
     VALUES ($1, $2, 'first-call-help', 1, 'first-call-help', 'x@example.com', 's', 't', 'h', 'outbox', 'sent', now())`,
    [`${dev.stalled}/first-call-help#1`, dev.stalled],
  );
  // The curves the risk criteria learn from: a cohort before the window, in the stage rows only.
  await seedRiskCohort(db.pool, day0 - 20 * DAY);
  // PGlite serves one connection: the preview's own must find it free.
  if (database.maxConnections === 1) await db.close();
}, 120_000);

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

async function sourceCounts(): Promise<Record<string, number>> {
  const reader = database.maxConnections === 1 ? openDatabase(database.url, { max: 1 }) : db;
  try {
    const counts: Record<string, number> = {};
    for (const table of SOURCE_TABLES) counts[table] = Number((await reader.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    return counts;
  } finally {
    if (reader !== db) await reader.close();
  }
}

function preview(rulesSource: string): Promise<PreviewResult> {
  return runRulePreview({
    funnel: { source: readFileSync(SHIPPED_FUNNEL_FILE, 'utf8'), document: shippedFunnel().document },
    rulesSource,
    ruleIds: ruleIds(rulesSource),
    policySource: shippedPolicy,
    templatesDir: join(root, 'templates'),
    mailFrom: 'Onramp <onboarding@onramp.test>',
    docsUrl: 'https://docs.example.com',
    cohort: { kind: 'history', databaseUrl: database.url, from: new Date(day0 - DAY), to: new Date(day0 + DAY) },
  });
}

const line = (result: PreviewResult, rule: string) => result.outcome.rules.find((l) => l.rule === rule)!;

describe('rules preview on the real history (mode c)', () => {
  it('replays the window’s developers under the shipped rules: every send, deferral, holdout skip and case as counted by hand; the source is untouched', async () => {
    const before = await sourceCounts();
    const result = await preview(shippedRules);
    expect(await sourceCounts()).toEqual(before);

    expect(result.history).toMatchObject({ developers: 4, events: 9, skipped: 0 });
    expect(result.history!.actual).toEqual({ emailsByRule: { 'first-call-help': 1 }, casesByCriterion: {} });
    expect(result.outcome.developers).toBe(4);
    // 24 h after the key: stalled (10:30) and night (22:00 → deferred to 08:00); holdout skipped.
    expect(line(result, 'first-call-help')).toMatchObject({ sent: 2, templates: { 'first-call-help': 2 }, deferred: 1, skipped: { holdout: 1 }, escalated: 0 });
    // 72 h after the key: the same two (the cap allows 2 in 7 days).
    expect(line(result, 'first-call-second-nudge')).toMatchObject({ sent: 2, templates: { 'first-call-second': 2 }, deferred: 1, skipped: { holdout: 1 } });
    // The caller: 3 days after the first call, no second endpoint.
    expect(line(result, 'explore-the-api')).toMatchObject({ sent: 1, templates: { 'explore-the-api': 1 }, deferred: 0, skipped: {} });
    for (const rule of ['go-live-checklist', 'authentication-help', 'required-parameters', 'rate-limit-guidance'])
      expect(line(result, rule)).toMatchObject({ sent: 0, deferred: 0, skipped: {}, cancelled: {} });
    expect(result.outcome.emails).toBe(5);
    expect(result.outcome.effects).toEqual({ frequencyCap: 0, holdout: 2, quietHours: { deferred: 2, thenSent: 2, thenCancelled: 0, stillWaiting: 0 } });
    // 7 days with a key and no call (stalled, night, holdout); 14 days after the caller's first call.
    expect(result.outcome.escalations).toEqual({ 'stall:no-first-call': 3, 'stall:not-active': 1 });
    expect(result.outcome.developersEscalated).toBe(4);
    expect(result.outcome.stages).toEqual({ credential_provisioned: 3, first_api_call: 1 });
  });

  it("a risk rule acts on today's curves of the real history (the replayed window alone has too few developers for a risk)", async () => {
    const rules = parse(shippedRules);
    rules.rules.unshift({ id: 'key-at-risk', when: { stage: 'credential_provisioned', risk: { above: 0.8 } }, action: { send: 'first-call-guided' } });
    const result = await preview(stringify(rules));
    // 12 h after the key: stalled (22:30 → deferred to 08:00) and night (10:00); the holdout skipped; the caller had called.
    expect(line(result, 'key-at-risk')).toMatchObject({ sent: 2, templates: { 'first-call-guided': 2 }, deferred: 1, skipped: { holdout: 1 } });
  });

  it('a tighter frequency cap (1 in 7 days): the second nudges are held back by the cap, the others unchanged', async () => {
    const rules = parse(shippedRules);
    rules.policy.frequencyCap = { max: 1, per: '7d' };
    const result = await preview(stringify(rules));
    expect(line(result, 'first-call-help')).toMatchObject({ sent: 2, deferred: 1 });
    expect(line(result, 'first-call-second-nudge')).toMatchObject({ sent: 0, skipped: { frequency_cap: 2, holdout: 1 } });
    expect(line(result, 'explore-the-api')).toMatchObject({ sent: 1 });
    expect(result.outcome.effects.frequencyCap).toBe(2);
    expect(result.outcome.effects.quietHours).toEqual({ deferred: 1, thenSent: 1, thenCancelled: 0, stillWaiting: 0 });
  });
});

describe('onramp rules preview compared with the rules in force, and --fail-if (CLI, on the same history)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-preview-compare-'));
  // The candidate: the shipped rules with a cap of 1 nudge in 7 days. In force: the shipped rules (ONRAMP_RULES_FILE).
  const candidate = join(dir, 'cap-1.yaml');
  const rules = parse(shippedRules);
  rules.policy.frequencyCap = { max: 1, per: '7d' };
  writeFileSync(candidate, stringify(rules));
  const window = ['--history', '--from', new Date(day0 - DAY).toISOString(), '--to', new Date(day0 + DAY).toISOString()];
  const run = (args: string[]) => runOnramp(['rules', 'preview', candidate, ...window, ...args], { DATABASE_URL: database.url });

  it('compares per figure, rule and template, lists the developers whose treatment changes, and exits 3 when a threshold trips', async () => {
    const result = await run(['--json', '--fail-if', 'sends < -30%', '--fail-if', 'changed-developers > 2']);
    expect(result.code, result.stderr).toBe(3);
    // Counted by hand (see the first test): in force 5 sends; the cap holds back both second nudges (stalled, night): 3.
    expect(result.stderr).toContain("onramp: --fail-if 'sends < -30%' tripped: sends: 5 → 3 (-2, -40.0%)");
    expect(result.stderr).not.toContain('changed-developers > 2');
    const report = JSON.parse(result.stdout); // stdout holds the JSON and nothing else
    const c = report.comparison;
    expect(c.against).toBe('config/rules.yaml');
    expect(c.totals).toMatchObject({
      sends: { baseline: 5, candidate: 3 },
      'frequency-cap': { baseline: 0, candidate: 2 },
      'quiet-hours': { baseline: 2, candidate: 1 },
      holdout: { baseline: 2, candidate: 2 },
      escalations: { baseline: 4, candidate: 4 },
      'changed-developers': { baseline: 0, candidate: 2 },
    });
    expect(c.rules.find((r: { rule: string }) => r.rule === 'first-call-second-nudge')).toMatchObject({
      sends: { baseline: 2, candidate: 0 },
      frequencyCap: { baseline: 0, candidate: 2 },
      quietHours: { baseline: 1, candidate: 0 },
    });
    expect(c.templates).toContainEqual({ template: 'first-call-second', sends: { baseline: 2, candidate: 0 } });
    expect(c.changedDevelopers.map((d: { developerId: string }) => d.developerId).sort()).toEqual([dev.night, dev.stalled].sort());
    const stalled = c.changedDevelopers.find((d: { developerId: string }) => d.developerId === dev.stalled);
    expect(stalled).toEqual({
      developerId: dev.stalled,
      inForceOnly: ['first-call-second-nudge#1 sent → first-call-second'],
      candidateOnly: ['first-call-second-nudge#1 skipped (frequency_cap) → first-call-second'],
    });
    expect(report.failIf).toEqual([
      { threshold: 'sends < -30%', tripped: true, baseline: 5, candidate: 3 },
      { threshold: 'changed-developers > 2', tripped: false, baseline: 0, candidate: 2 },
    ]);
  }, 180_000);

  it('thresholds that do not hold: exit 0, the comparison and each threshold in the text report', async () => {
    const result = await run(['--fail-if', 'sends < -50%', '--fail-if', 'escalations > +0']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('compared with the rules in force (config/rules.yaml)');
    expect(result.stdout).toMatch(/^sends +5 +3 +-2, -40\.0%$/m);
    expect(result.stdout).toMatch(/^ {2}first-call-second-nudge +2 → 0 +0 +0 → 2 +1 → 0 +1$/m);
    expect(result.stdout).toContain('developers whose treatment changes: 2');
    expect(result.stdout).toContain(`    + first-call-second-nudge#1 skipped (frequency_cap) → first-call-second`);
    expect(result.stdout).toMatch(/^ {2}ok +sends < -50% +sends: 5 → 3 \(-2, -40\.0%\)$/m);
    expect(result.stdout).toMatch(/^ {2}ok +escalations > \+0 +escalations: 4 → 4 \(no change\)$/m);
  }, 180_000);

  it('a malformed threshold is a usage error (exit 2) naming the problem, before any sandbox', async () => {
    const malformed = await run(['--fail-if', 'sends > 20%']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toBe("--fail-if 'sends > 20%': a percentage is a change from the rules in force: write +20% or -20%\n");
    const unknown = await run(['--fail-if', 'emails > +5']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown figure "emails"; one of sends, escalations');
    const alone = await run(['--no-compare', '--fail-if', 'sends > +5']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('drop --no-compare');
  });
});

describe('onramp rules preview (CLI)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-preview-'));

  it('against a synthetic cohort: a JSON report whose sends add up, for the rules in the file only', async () => {
    const rules = parse(shippedRules);
    for (const rule of rules.rules) rule.enabled = rule.id === 'first-call-help';
    const file = join(dir, 'one-rule.yaml');
    writeFileSync(file, stringify(rules));
    const run = await runOnramp(['rules', 'preview', file, '--developers', '40', '--days', '4', '--seed', '7', '--json']);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.cohort).toEqual({ kind: 'synthetic', developers: 40, days: 4, seed: 7 });
    expect(report.outcome.developers).toBe(40);
    const byRule = Object.fromEntries(report.outcome.rules.map((l: { rule: string; sent: number }) => [l.rule, l.sent]));
    expect(byRule['first-call-help']).toBeGreaterThan(0);
    expect(report.outcome.emails).toBe(byRule['first-call-help']);
    for (const [rule, sent] of Object.entries(byRule)) if (rule !== 'first-call-help') expect(sent).toBe(0);
    // Compared with the shipped rules (ONRAMP_RULES_FILE) on the same 40 developers: the other six rules' sends are gone.
    expect(report.comparison.against).toBe('config/rules.yaml');
    expect(report.comparison.totals.sends.candidate).toBe(report.outcome.emails);
    const inForceElsewhere = report.comparison.rules
      .filter((r: { rule: string }) => r.rule !== 'first-call-help')
      .reduce((n: number, r: { sends: { baseline: number } }) => n + r.sends.baseline, 0);
    expect(inForceElsewhere).toBeGreaterThan(0);
    expect(report.comparison.totals['changed-developers'].candidate).toBe(report.comparison.changedDevelopers.length);
  }, 180_000);

  it('under a funnel of your own (--funnel): rules and a policy naming its stages, a cohort going through it, its stages by their labels', async () => {
    const [funnel, rules, policy] = ['funnel', 'rules', 'policy'].map((name) => join(dir, `custom-${name}.yaml`)) as [string, string, string];
    writeFileSync(funnel, CUSTOM_FUNNEL);
    writeFileSync(rules, CUSTOM_RULES);
    writeFileSync(policy, CUSTOM_POLICY);
    // Under the shipped funnel the policy names a stage it lacks: refused before any sandbox, saying where.
    const refused = await runOnramp(['rules', 'preview', rules, '--policy', policy]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('escalation policy: criteria.stalls[1] (not-paying) until: no stage "paying" in the funnel');
    expect(refused.stderr).toContain('(another: --funnel <file>); nothing previewed');

    const run = await runOnramp(['rules', 'preview', rules, '--policy', policy, '--funnel', funnel, '--developers', '30', '--days', '9', '--seed', '3']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`escalation policy from ${policy}, funnel from ${funnel}`);
    // The rules in force (the shipped ones) name stages this funnel lacks: the candidate runs alone, and stderr says why.
    expect(run.stderr).toContain('the candidate alone is previewed (another: --against <file>)');
    expect(run.stdout).not.toContain('compared with the rules in force');
    // The synthetic developers go through the custom stages: its first rule nudges those who did not call.
    expect(Number(/^first-call-help +(\d+)/m.exec(run.stdout)?.[1])).toBeGreaterThan(0);
    const stages = /^stages reached: (.*)$/m.exec(run.stdout)?.[1];
    expect(stages).toMatch(/^(Account created \d+, )?First API call \d+, Paying \d+$/);
  }, 180_000);

  it('an invalid rules file: exit 1 with the error named, and no sandbox', async () => {
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, shippedRules.replace('after: 24h', 'after: soon'));
    const run = await runOnramp(['rules', 'preview', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('when.after');
    expect(run.stderr).toContain('nothing previewed');
  });

  it('a missing file: exit 2; --history without DATABASE_URL: exit 2, saying so', async () => {
    expect((await runOnramp(['rules', 'preview', join(dir, 'missing.yaml')])).code).toBe(2);
    const run = await runOnramp(['rules', 'preview', join(root, 'config/rules.yaml'), '--history'], { DATABASE_URL: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('DATABASE_URL');
  });
});
