import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, ESCALATION_FILE, INGEST_KEY, OnrampHarness, RULES_FILE } from '../support/onramp-harness.ts';
import { runOnramp } from '../support/onramp-cli.ts';

/** `onramp rules …` and `onramp policy …` (the same code) as a user runs them: a child process; diff/apply/history against a live API. */

const dir = mkdtempSync(join(tmpdir(), 'onramp-rules-cli-'));
const shipped = readFileSync(RULES_FILE, 'utf8');
const shippedPolicy = readFileSync(ESCALATION_FILE, 'utf8');

const onramp = (args: string[], env: Record<string, string> = {}) => runOnramp(args, { ONRAMP_DATA_DIR: join(dir, 'data'), ...env });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('onramp --version', () => {
  it("prints the package's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(await onramp(['--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('onramp rules validate', () => {
  it('exits 0 for the shipped file', async () => {
    const run = await onramp(['rules', 'validate', 'config/rules.yaml']);
    expect(run).toMatchObject({ code: 0, stdout: 'config/rules.yaml: valid (7 rules, 7 enabled)\n' });
  });

  it('exits 1 and prints one error per line naming the rule and field', async () => {
    const broken = file(
      'broken.yaml',
      shipped
        .replace('when: { stage: credential_provisioned, after: 24h }', 'when: { stage: credential_provisioned, after: tomorrow }')
        .replace('action: { send: explore-the-api }', 'action: { send: explore-the-api }\n    priority: 1'),
    );
    const run = await onramp(['rules', 'validate', broken]);
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^rules\[0\] \(first-call-help\) when\.after: must be a positive duration like "90m", "24h" or "3d" \(line \d+, column \d+\)$/),
      expect.stringMatching(/^rules\[2\] \(explore-the-api\) priority: unknown field "priority" \(line \d+, column \d+\)$/),
    ]);
    expect(run.stderr).toContain('2 errors');
  });

  it('exits 1 for a template the templates folder does not have, naming the rule and line', async () => {
    const run = await onramp(['rules', 'validate', file('typo.yaml', shipped.replace('action: { send: go-live-checklist }', 'action: { send: go-live-checklst }'))]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^rules\[3\] \(go-live-checklist\) action\.send: no template "go-live-checklst" .*\(line \d+, column \d+\)$/m);
  });

  it('exits 1 on a YAML syntax error, with its line', async () => {
    const run = await onramp(['rules', 'validate', file('syntax.yaml', 'rules:\n  - id: a\n    when: { stage: intent\n')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^file: YAML syntax: .*\(line \d+, column \d+\)$/m);
  });

  it('exits 2 for a missing file', async () => {
    const run = await onramp(['rules', 'validate', join(dir, 'missing.yaml')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no such file');
  });
});

describe('onramp alerts validate', () => {
  it('exits 0 for the shipped file, saying what is watched and where it goes', async () => {
    const run = await onramp(['alerts', 'validate', 'config/alerts.yaml']);
    expect(run).toMatchObject({
      code: 0,
      stdout: 'config/alerts.yaml: valid (4 of 4 kinds watched: conversionBelowBand, ttfacTail, endpointErrorSpike, sourceSilent; Slack #onboarding-alerts, webhooks)\n',
    });
  });

  it('exits 1 naming each wrong field and its line', async () => {
    const run = await onramp(['alerts', 'validate', file('alerts.yaml', 'webhooks: false\nsourceSilent: { enabled: false, after: never }\n')]);
    expect(run).toMatchObject({ code: 1, stdout: 'sourceSilent.after: must be a positive duration like "90m", "24h" or "3d" (line 2, column 40)\n' });
  });
});

describe('onramp policy validate', () => {
  it('exits 0 for the shipped file', async () => {
    const run = await onramp(['policy', 'validate', 'config/escalation.yaml']);
    expect(run).toMatchObject({ code: 0, stdout: 'config/escalation.yaml: valid (3 stalls, 2 levels, claim SLA 4h, resolution SLA 2d)\n' });
  });

  it('says in whose office hours the SLAs run, and points at a bad range by line and column', async () => {
    const hours = 'officeHours: { timeZone: Europe/Paris, hours: { mon-fri: "09:00-17:00" } }\n';
    const valid = file(
      'office-hours-policy.yaml',
      `${hours}levels:\n  - channel: "#onboarding-help"\n  - channel: "#onboarding-us"\n    officeHours: { timeZone: America/New_York, hours: { mon-fri: "09:00-17:00" } }\n`,
    );
    expect(await onramp(['policy', 'validate', valid])).toMatchObject({
      code: 0,
      stdout: `${valid}: valid (3 stalls, 2 levels, claim SLA 4h, resolution SLA 2d, in office hours: level 1 Europe/Paris, level 2 America/New_York)\n`,
    });
    const broken = file('closed-policy.yaml', hours.replace('09:00-17:00', '17:00-09:00'));
    expect(await onramp(['policy', 'validate', broken])).toMatchObject({
      code: 1,
      stdout: expect.stringContaining('officeHours.hours["mon-fri"]: "17:00-09:00" ends before it starts (a range stays within one day) (line 1, column 58)'),
    });
  });

  it('exits 1 and prints one error per line naming the stall and field', async () => {
    const broken = file(
      'broken-policy.yaml',
      shippedPolicy.replace('until: first_api_call, after: 7d', 'until: first_api_call, after: a week').replace('claimSla: 4h', 'claimSla: 4h\nescalateAfter: 1h'),
    );
    const run = await onramp(['policy', 'validate', broken]);
    expect(run.code).toBe(1);
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^criteria\.stalls\[0\] \(no-first-call\) after: must be a positive duration like "90m", "24h" or "3d" \(line \d+, column \d+\)$/),
      expect.stringMatching(/^escalateAfter: unknown field "escalateAfter" \(line \d+, column 1\)$/),
    ]);
    expect(run.stderr).toContain('2 errors');
  });
});

describe('onramp rules diff / apply / history (through the API)', () => {
  let harness: OnrampHarness;
  let url: string;

  beforeAll(async () => {
    harness = await new OnrampHarness('pglite').start();
    url = await harness.app.listen({ host: '127.0.0.1', port: 0 });
    // The embedded default's key file, found without --key.
    mkdirSync(join(dir, 'data'));
    file('data/admin-key', `${ADMIN_KEY}\n`);
  }, 180_000);
  afterAll(async () => {
    await harness?.stop();
  });

  const changed = shipped.replace('holdoutPercent: 10', 'holdoutPercent: 15');
  /** `onramp rules apply` or `onramp policy apply` of a file against the API, as ada. */
  const apply = (command: 'rules' | 'policy', path: string, reason: string) => onramp([command, 'apply', path, '--url', url, '--author', 'ada', '--reason', reason]);

  it('diffs a file against the running version', async () => {
    const run = await onramp(['rules', 'diff', file('changed.yaml', changed), '--url', url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--- rules v1 (running)');
    expect(run.stdout).toContain('-  holdoutPercent: 10');
    expect(run.stdout).toContain('+  holdoutPercent: 15');
  });

  it('rejects the ingest key', async () => {
    const run = await onramp(['rules', 'history', '--url', url, '--key', INGEST_KEY]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^401/);
  });

  it('applies a file with author and reason, and refuses an invalid one', async () => {
    const invalid = await apply('rules', file('invalid.yaml', changed.replace('after: 14d', 'after: 0d')), 'oops');
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^rules\[3\] \(go-live-checklist\) when\.after: must be a positive duration/);
    const typo = await apply('rules', file('typo-apply.yaml', changed.replace('action: { send: go-live-checklist }', 'action: { send: go-live-checklst }')), 'oops');
    expect(typo.code).toBe(1);
    expect(typo.stdout).toMatch(/^rules\[3\] \(go-live-checklist\) action\.send: no template "go-live-checklst" .*\(line \d+, column \d+\)$/m);
    expect(await harness.count('rule_versions')).toBe(1);

    const run = await apply('rules', join(dir, 'changed.yaml'), 'bigger holdout');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^applied .*changed\.yaml as version 2 \(ada: bigger holdout\)$/m);
    expect(run.stdout).toContain('+  holdoutPercent: 15');

    const again = await apply('rules', join(dir, 'changed.yaml'), 'again');
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('identical to the running version 2') });
    expect(await harness.count('rule_versions')).toBe(2);
  });

  it('prints the history newest first', async () => {
    const run = await onramp(['rules', 'history', '--url', url]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^v2 {2}\S+ {2}ada {2}bigger holdout$/);
    expect(lines[1]).toMatch(/^v1 {2}\S+ {2}onramp {2}initial rules from /);
  });

  it('policy: diffs, applies (refusing an invalid file) and lists the history of the escalation policy', async () => {
    const changedPolicy = file('changed-policy.yaml', shippedPolicy.replace('claimSla: 4h ', 'claimSla: 1h '));
    const diff = await onramp(['policy', 'diff', changedPolicy, '--url', url]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('--- escalation policy v1 (running)');
    expect(diff.stdout).toMatch(/^\+claimSla: 1h /m);

    const invalid = await apply('policy', file('invalid-policy.yaml', shippedPolicy.replace('stopNudgesOn: [not-a-fit]', 'stopNudgesOn: [ghosted]')), 'oops');
    expect(invalid.code).toBe(1);
    expect(invalid.stdout).toMatch(/^stopNudgesOn\[0\]: "ghosted" is not one of the outcomes \(line \d+, column \d+\)$/m);
    expect(await harness.count('escalation_policy_versions')).toBe(1);

    const run = await apply('policy', changedPolicy, 'claim sooner');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^applied .*changed-policy\.yaml as version 2 \(ada: claim sooner\)$/m);

    const history = await onramp(['policy', 'history', '--url', url]);
    expect(history.code).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^v2 {2}\S+ {2}ada {2}claim sooner$/);
    expect(lines[1]).toMatch(/^v1 {2}\S+ {2}onramp {2}initial escalation policy from /);
    expect(await harness.count('rule_versions')).toBe(2);
  });

  it('rolls back: an earlier version applied again as the next one, with its reason; refused for a version that does not exist', async () => {
    const run = await onramp(['rules', 'rollback', '1', '--url', url, '--author', 'ada', '--reason', 'holdout too big']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^rolled back to v1: applied as version 3 \(ada: rollback to v1: holdout too big\)$/m);
    expect(run.stdout).toContain('-  holdoutPercent: 15');
    const read = async (path: string) => (await harness.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
    expect((await read('/v1/rules')).source).toBe((await read('/v1/rules/versions/1')).source);

    const again = await onramp(['rules', 'rollback', '1', '--url', url, '--author', 'ada', '--reason', 'twice']);
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('the running version 3 already has the source of v1: nothing applied') });
    const missing = await onramp(['rules', 'rollback', '9', '--url', url, '--author', 'ada', '--reason', 'no such']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^404/);
    const bad = await onramp(['policy', 'rollback', 'two', '--url', url, '--author', 'ada', '--reason', 'x']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('<version> must be a positive integer');
    expect(await harness.count('rule_versions')).toBe(3);
  });

  it("promotes an experiment's winner: the rule sends that variant only (its delay as the rule's wait), applied and audited as a rules version", async () => {
    const experiment = shipped.replace(
      /action:\n\s+send: first-call-help\n\s+variants:\n(?:\s+- when: .*\n\s+send: .*\n)+/,
      `action:
      experiment:   # which first email gets a first call
        id: subject-test
        goal: first_api_call
        window: 7d
        variants:
          - { id: a, send: first-call-help, weight: 50 }
          - { id: b, send: first-call-guided, after: 48h, weight: 50 }
`,
    );
    expect((await apply('rules', file('experiment.yaml', experiment), 'test the guided email')).code).toBe(0);
    const unknown = await onramp(['rules', 'promote', 'subject-test', 'c', '--url', url, '--author', 'ada', '--reason', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('experiment "subject-test" has no variant "c" (variants: a, b): nothing applied, the running version 4 is unchanged\n');
    const noExperiment = await onramp(['rules', 'promote', 'nope', 'a', '--url', url, '--author', 'ada', '--reason', 'x']);
    expect(noExperiment.stderr).toMatch(/^no experiment "nope" in the rules in force \(experiments: subject-test\)/);
    expect(await harness.count('rule_versions')).toBe(4);

    const run = await onramp(['rules', 'promote', 'subject-test', 'b', '--url', url, '--author', 'ada', '--reason', 'b converts better (p = 0.01)']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^applied as version 5 \(ada: promote subject-test\/b: b converts better \(p = 0.01\)\)$/m);
    const read = async (path: string) => (await harness.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json();
    const running = await read('/v1/rules');
    // Only the promotion changed: the action and the rule's wait; every other line (comments too) as it was.
    expect(running.source).toBe(
      experiment
        .replace(/action:\n\s+experiment:[^]*?weight: 50 }\n(?=\n)/, 'action: { send: first-call-guided }\n')
        .replace('when: { stage: credential_provisioned, after: 24h }', 'when: { stage: credential_provisioned, after: 48h }'),
    );
    expect(running.document.rules[0]).toMatchObject({ id: 'first-call-help', when: { stage: 'credential_provisioned', after: '48h' }, action: { send: 'first-call-guided' } });
    const audit = await read('/v1/audit?action=rules.applied&limit=1');
    expect(audit.entries[0]).toMatchObject({ actor: 'ada', subject: 'rules v5', reason: 'promote subject-test/b: b converts better (p = 0.01)' });
    expect(audit.entries[0].diff).toContain('+    action: { send: first-call-guided }');
    const again = await onramp(['rules', 'promote', 'subject-test', 'b', '--url', url, '--author', 'ada', '--reason', 'twice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^no experiment "subject-test" in the rules in force/);
  });
});
