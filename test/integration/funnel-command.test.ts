import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConfigInForce } from '../../src/funnel/config-in-force.ts';
import { EmailTemplates } from '../../src/mail/email-templates.ts';
import { CUSTOM_FUNNEL, CUSTOM_POLICY, CUSTOM_RULES } from '../support/custom-funnel-documents.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/** `onramp funnel validate|show|history|apply` as a user runs them: a child process, against a live API for all but validate. */

const dir = mkdtempSync(join(tmpdir(), 'onramp-funnel-cli-'));
const config = (file: string) => resolve(import.meta.dirname, '../../config', file);
const shipped = readFileSync(config('funnel.yaml'), 'utf8');
const keys = { ingest: 'funnel-cli-ingest-key-0123456', admin: 'funnel-cli-admin-key-01234567' };

const onramp = (args: string[]) => runOnramp(args, { ONRAMP_DATA_DIR: join(dir, 'data') });

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('onramp funnel validate', () => {
  it('exits 0 for the shipped file, with its stages and roles', async () => {
    const run = await onramp(['funnel', 'validate', 'config/funnel.yaml']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^config\/funnel\.yaml: valid \(7 stages: intent → .* → production_deployment; first_call: first_api_call, production: production_deployment\)\n$/);
  });
});

describe('onramp funnel show / history / apply (through the API)', () => {
  let t: TestApp;
  let url: string;
  const apply = (path: string, reason: string, ...more: string[]) => onramp(['funnel', 'apply', path, '--url', url, '--author', 'ada', '--reason', reason, ...more]);

  beforeAll(async () => {
    t = await startTestApp('pglite', { keys });
    await ensureConfigInForce(t.db.pool, {
      funnelFile: config('funnel.yaml'),
      rulesFile: config('rules.yaml'),
      escalationFile: config('escalation.yaml'),
      templates: new EmailTemplates(resolve(import.meta.dirname, '../../templates')),
    });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    // The embedded default's key file, found without --key.
    mkdirSync(join(dir, 'data'));
    file('data/admin-key', `${keys.admin}\n`);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('shows the running version: a header line, then the YAML; --json the raw answer', async () => {
    const run = await onramp(['funnel', 'show', '--url', url]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^# funnel v1 \(running\), \S+, onramp: initial funnel from .*funnel\.yaml\n/);
    expect(run.stdout.slice(run.stdout.indexOf('\n') + 1)).toBe(shipped.endsWith('\n') ? shipped : `${shipped}\n`);
    const json = await onramp(['funnel', 'show', '--url', url, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ version: 1, author: 'onramp', document: { stages: expect.any(Array) } });
  });

  it('refuses a funnel that orphans the rules and policy in force, one line per error naming the document, item, line and column', async () => {
    const run = await apply(file('custom.yaml', CUSTOM_FUNNEL), 'our own funnel');
    expect(run.code).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^rules v1 \(in force\): rules\[0\] \(first-call-help\) when\.stage: no stage "credential_provisioned" in the funnel \(its stages: account_created, first_api_call, paying\) \(line \d+, column \d+\)$/,
      ),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^escalation policy v1 \(in force\): criteria\.stalls\[0\] \(no-first-call\) since: no stage "credential_provisioned" .*\(line \d+, column \d+\)$/),
    );
    expect(run.stderr).toContain('rejected: nothing applied');
    expect(run.stderr).toContain('send their new versions with it (--rules <file>, --policy <file>)');
    expect((await onramp(['funnel', 'history', '--url', url])).stdout.trimEnd().split('\n')).toHaveLength(1);
  });

  it('applies a funnel with the rules and policy that fit it, printing each diff, then the history', async () => {
    const invalidRules = await apply(file('custom.yaml', CUSTOM_FUNNEL), 'our own funnel', '--rules', file('bad-rules.yaml', CUSTOM_RULES.replace('after: 7d', 'after: a week')));
    expect(invalidRules.code).toBe(1);
    expect(invalidRules.stdout).toMatch(/^rules: rules\[1\] \(pay-up\) when\.after: must be a positive duration .*\(line 6, column 43\)$/m);

    const run = await apply(join(dir, 'custom.yaml'), 'our own funnel', '--rules', file('rules.yaml', CUSTOM_RULES), '--policy', file('policy.yaml', CUSTOM_POLICY));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^applied .*custom\.yaml as version 2 \(ada: our own funnel\)$/m);
    expect(run.stdout).toContain('+  - id: paying');
    expect(run.stdout).toMatch(/^rules: applied .*rules\.yaml as version 2$/m);
    expect(run.stdout).toMatch(/^escalation policy: applied .*policy\.yaml as version 2$/m);

    const again = await apply(join(dir, 'custom.yaml'), 'again');
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining('identical to the running version 2') });

    const history = await onramp(['funnel', 'history', '--url', url]);
    expect(history.code).toBe(0);
    const lines = history.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^v2 {2}\S+ {2}ada {2}our own funnel$/);
    expect(lines[1]).toMatch(/^v1 {2}\S+ {2}onramp {2}initial funnel from /);
    const json = JSON.parse((await onramp(['funnel', 'history', '--url', url, '--json'])).stdout);
    expect(json.map((v: { version: number }) => v.version)).toEqual([2, 1]);

    const old = await onramp(['funnel', 'show', '--url', url, '--version', '1']);
    expect(old.stdout).toMatch(/^# funnel v1, /);
    const missing = await onramp(['funnel', 'show', '--url', url, '--version', '9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^404: version: no funnel version 9/);
  }, 180_000); // seven `onramp` processes, each compiling the CLI with tsx: over a minute when the suite loads both cores
});
