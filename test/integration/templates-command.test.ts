import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnramp } from '../support/onramp-cli.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

/** `onramp templates validate|preview` as a growth team runs them: child processes, the preview against a live API. */

const keys = { ingest: 'ingest-key-0123456789abcdef', admin: 'admin-key-0123456789abcdef' };
const dir = mkdtempSync(join(tmpdir(), 'onramp-templates-cli-'));
const SHIPPED = fileURLToPath(new URL('../../templates', import.meta.url));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('onramp templates validate', () => {
  it('passes the shipped folder, and names each problem of a broken one with file, line and column (exit 1)', async () => {
    const ok = await runOnramp(['templates', 'validate', SHIPPED]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^ok: 9 templates in /);

    const broken = join(dir, 'broken');
    cpSync(SHIPPED, broken, { recursive: true });
    writeFileSync(join(broken, 'first-call-help', 'html.hbs'), '<p>Hi {{developer.nme}},</p>\n');
    writeFileSync(join(broken, 'email.yaml'), 'brand: { colors: { primary: blue } }\n');
    const run = await runOnramp(['templates', 'validate', broken]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('first-call-help/html.hbs:1:9: unknown variable {{developer.nme}}');
    expect(run.stderr).toMatch(/email\.yaml:1:\d+: brand\.colors\.primary: must be a hex colour/);
    expect(run.stderr).toMatch(/2 problems in /);
    const json = await runOnramp(['templates', 'validate', broken, '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).problems).toHaveLength(2);
  });
});

describe('onramp templates preview', () => {
  let t: TestApp;
  let url: string;
  beforeAll(async () => {
    t = await startTestApp('pglite', { keys, emails: { publicUrl: 'https://onramp.example', docsUrl: 'https://docs.acme.example' } });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const posted = await t.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${keys.ingest}` },
      payload: { events: signupWithKey('dev_chloe', new Date().toISOString(), { accountType: 'individual', acquisitionChannel: 'direct', name: 'Chloé Martin', locale: 'fr' }) },
    });
    expect(posted.statusCode, posted.body).toBe(202);
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  });

  const preview = (...args: string[]) => runOnramp(['templates', 'preview', ...args, '--url', url, '--key', keys.admin]);

  it("renders a template for a real developer: their name, their locale's translation, their links", async () => {
    const html = join(dir, 'preview.html');
    const run = await preview('first-call-help', '--developer', 'dev_chloe', '--html', html);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^From: Onramp <onboarding@onramp\.local>\nSubject: Votre premier appel d'API en cinq minutes\nTemplate: first-call-help \(fr, category onboarding_tips\) for dev_chloe\n\nBonjour Chloé,/,
    );
    expect(run.stdout).toContain('https://docs.acme.example/fr/quickstart');
    expect(run.stdout).toContain('https://onramp.example/v1/preferences?developer=dev_chloe&token=');
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/);
    // Another translation on request; a sample developer without --developer.
    const english = await preview('first-call-help', '--developer', 'dev_chloe', '--locale', 'en', '--json');
    expect(JSON.parse(english.stdout)).toMatchObject({ locale: 'en', subject: 'Make your first API call in five minutes', text: expect.stringMatching(/^Hi Chloé,/) });
    const sample = await preview('explore-the-api', '--json');
    expect(JSON.parse(sample.stdout)).toMatchObject({ developerId: 'dev_sample', text: expect.stringMatching(/^Hi Ada,/) });
  });

  it('exits 1 with the API’s words for an unknown template or developer', async () => {
    const template = await preview('no-such-template');
    expect(template.code).toBe(1);
    expect(template.stderr).toMatch(/no template \\?"no-such-template/);
    const developer = await preview('first-call-help', '--developer', 'nobody');
    expect(developer.code).toBe(1);
    expect(developer.stderr).toMatch(/no developer \\?"nobody/);
  });
});
