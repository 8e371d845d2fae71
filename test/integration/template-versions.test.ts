import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNudgeActivities } from '../../src/activities/nudge-activities.ts';
import { ensureDocumentsInForce } from '../../src/cli/config-files.ts';
import { loadConfig } from '../../src/config.ts';
import { smtpMailer, type Mailer } from '../../src/mail/mailer.ts';
import { readTemplateFolder, templateFilesHash } from '../../src/mail/template-files.ts';
import { TemplateStore } from '../../src/mail/template-store.ts';
import { TemplatesInForceCache } from '../../src/mail/templates-in-force.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { rulesInForceCache } from '../../src/rules/rules-in-force.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';
import { testNudgeDeps } from '../support/nudge-deps.ts';
import { runOnramp } from '../support/onramp-cli.ts';
import { sendDecision } from '../support/send-decision.ts';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.ts';
import { shippedFunnelInForce } from '../support/shipped-funnel.ts';
import { signupWithKey } from '../support/signup-events.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * Templates versions end to end: the folder applied through the CLI (a child process against the
 * API), edited and applied again, a broken edit refused with its file and line, emails sent through
 * a local SMTP server from the version in force (never the folder), and a rollback.
 */

const keys = { ingest: 'ingest-key-0123456789abcdef', admin: 'admin-key-0123456789abcdef' };
const SHIPPED = fileURLToPath(new URL('../../templates', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'onramp-template-versions-'));
const dir = join(root, 'templates');
const SUBJECT = join(dir, 'first-call-help', 'subject.hbs');

let smtp: SmtpSink;

beforeAll(async () => {
  cpSync(SHIPPED, dir, { recursive: true });
  smtp = await startSmtpSink();
});
afterAll(async () => {
  await smtp?.close();
  rmSync(root, { recursive: true, force: true });
});

describe.each(databaseBackends().slice(0, 1))('templates versions (%s)', (backend) => {
  let t: TestApp;
  let url: string;
  let mailer: Mailer;

  beforeAll(async () => {
    t = await startTestApp(backend, { keys, templatesDir: dir });
    url = await t.app.listen({ host: '127.0.0.1', port: 0 });
    mailer = smtpMailer(`smtp://127.0.0.1:${smtp.port}`);
  }, 60_000);
  afterAll(async () => {
    mailer?.close();
    await t?.close();
  });

  const onramp = (args: string[]) => runOnramp([...args, '--url', url, '--key', keys.admin], { ONRAMP_DATA_DIR: join(root, 'data') });
  const api = async (method: 'GET' | 'PUT', path: string, payload?: object) => {
    const response = await t.app.inject({ method, url: path, headers: { authorization: `Bearer ${keys.admin}` }, ...(payload === undefined ? {} : { payload }) });
    return { status: response.statusCode, body: response.json() };
  };
  const versions = async () => (await api('GET', '/v1/templates/history')).body.versions as { version: number; reason: string; diff: string; contentHash: string }[];

  /** A signed-up developer sent first-call-help by the worker's send activity: the email received and its row. */
  async function send(id: string) {
    const signup = { events: signupWithKey(id, new Date().toISOString(), { accountType: 'individual', acquisitionChannel: 'organic_search' }) };
    const signedUp = await t.app.inject({ method: 'POST', url: '/v1/events', headers: { authorization: `Bearer ${keys.ingest}` }, payload: signup });
    expect(signedUp.statusCode, signedUp.body).toBe(202);
    const templates = new TemplatesInForceCache(t.db.pool, dir, 0);
    const activities = createNudgeActivities({
      ...testNudgeDeps(t.db.pool, { mailer }),
      pool: t.db.pool,
      rulesInForce: rulesInForceCache(t.db.pool, 0),
      funnelInForce: shippedFunnelInForce,
      templatesInForce: () => templates.read(),
    });
    await activities.sendNudge({ type: 'sendNudge', developerId: id, decision: sendDecision(id, 'first-call-help'), template: 'first-call-help', stage: null });
    const mail = smtp.received.find((m) => (m.to as { text: string }).text === `${id}@example.com`);
    const [row] = (await t.db.pool.query<{ subject: string; template_version: number }>('SELECT subject, template_version FROM emails WHERE developer_id = $1', [id])).rows;
    return { mail: mail!, row: row! };
  }

  const shippedSubject = readFileSync(join(SHIPPED, 'first-call-help', 'subject.hbs'), 'utf8');

  it('applies the folder as version 1, the same start-up does; applying it again stores nothing', async () => {
    const run = await onramp(['templates', 'apply', dir, '--author', 'ana', '--reason', 'first version']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^applied ${dir} as templates version 1 \\(ana: first version\\)\\n`));
    expect(await new TemplateStore(t.db.pool).ensureInitialVersion(dir)).toMatchObject({ version: 1, author: 'ana', contentHash: templateFilesHash(readTemplateFolder(dir)) });
    const again = await onramp(['templates', 'apply', dir, '--author', 'ana', '--reason', 'again']);
    expect(again).toMatchObject({ code: 0, stdout: `${dir} is identical to the templates version in force (1): nothing applied\n` });
    expect(await versions()).toHaveLength(1);
  });

  it('an edited template is version 2, with the diff of that file only, audited', async () => {
    writeFileSync(SUBJECT, 'Version two: make your first call{{#if developer.firstName}}, {{developer.firstName}}{{/if}}\n');
    const diff = await onramp(['templates', 'diff', dir]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('+Version two: make your first call');
    const run = await onramp(['templates', 'apply', dir, '--author', 'ana', '--reason', 'a clearer subject']);
    expect(run.code).toBe(0);
    const [v2] = await versions();
    expect(v2).toMatchObject({ version: 2, reason: 'a clearer subject' });
    expect(v2!.diff).toContain('+++ templates v2/first-call-help/subject.hbs');
    expect(v2!.diff).toContain(`-${shippedSubject.trimEnd()}`);
    expect(v2!.diff.match(/^\+\+\+ /gm)).toHaveLength(1);
    const audit = (await api('GET', '/v1/audit?action=templates.applied')).body.entries as { subject: string; actor: string; diff: string }[];
    expect(audit.map((e) => [e.subject, e.actor])).toEqual([
      ['templates v2', 'ana'],
      ['templates v1', 'ana'],
    ]);
    expect(audit[0]!.diff).toBe(v2!.diff);
  });

  it('refuses a broken template whole, naming the file, line and column; nothing is stored', async () => {
    const broken = { ...readTemplateFolder(dir), 'first-call-help/html.hbs': '<p>Hi,</p>\n<p>{{developr.name}}</p>\n' };
    const response = await api('PUT', '/v1/templates', { files: broken, author: 'ana', reason: 'typo' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      {
        path: 'files["first-call-help/html.hbs"]',
        file: 'first-call-help/html.hbs',
        line: 2,
        column: 6,
        message: expect.stringMatching(/^unknown variable \{\{developr\.name\}\}/),
      },
    ]);
    writeFileSync(join(dir, 'first-call-help', 'html.hbs'), broken['first-call-help/html.hbs']);
    const run = await onramp(['templates', 'apply', dir, '--author', 'ana', '--reason', 'typo']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^first-call-help\/html\.hbs:2:6: unknown variable \{\{developr\.name\}\}/);
    expect(run.stderr).toContain('nothing applied');
    const unknownPath = await api('PUT', '/v1/templates', { files: { ...broken, '../secrets/subject.hbs': 'x' }, author: 'ana', reason: 'escape' });
    expect(unknownPath.status).toBe(400);
    expect(unknownPath.body.errors[0].path).toMatch(/^files/);
    expect(await versions()).toHaveLength(2);
  });

  it('refuses to drop a template the rules in force send', async () => {
    expect((await new RuleStore(t.db.pool).ensureInitialVersion(fileURLToPath(new URL('../../config/rules.yaml', import.meta.url)))).version).toBe(1);
    const files = Object.fromEntries(Object.entries(readTemplateFolder(SHIPPED)).filter(([path]) => !path.startsWith('go-live-checklist/')));
    const response = await api('PUT', '/v1/templates', { files, author: 'ana', reason: 'cleanup' });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([
      expect.objectContaining({ path: 'files', message: expect.stringMatching(/^the rules in force \(v1\) at rules\[\d+\]\.action\.send: no template "go-live-checklist"/) }),
    ]);
    expect(await versions()).toHaveLength(2);
  });

  it('sends from the version in force, not the folder (edited, unapplied), and records the version', async () => {
    writeFileSync(SUBJECT, 'Version three, never applied\n');
    const { mail, row } = await send(`${backend}_after_v2`);
    expect(mail.subject).toBe('Version two: make your first call');
    expect(row).toEqual({ subject: mail.subject, template_version: 2 });
    const listed = await api('GET', '/v1/templates');
    expect(listed.body).toMatchObject({ version: 2, problems: [] });
  });

  it('rolls back to version 1 as version 3 with version 1’s files; the next send uses them, and the timeline marks every version', async () => {
    const run = await onramp(['templates', 'rollback', '1', '--author', 'ben', '--reason', 'v2 converted worse']);
    expect(run.stderr).toBe('');
    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^applied templates v1 as templates version 3 \(ben: rollback to v1: v2 converted worse\)\n/) });
    const [v3, , v1] = await versions();
    expect(v3).toMatchObject({ version: 3, contentHash: v1!.contentHash });
    expect((await api('GET', '/v1/templates/versions/3')).body.files).toEqual((await api('GET', '/v1/templates/versions/1')).body.files);
    const { mail, row } = await send(`${backend}_after_rollback`);
    expect(mail.subject).toBe((await api('GET', '/v1/templates/first-call-help/preview')).body.subject);
    expect(mail.subject).not.toContain('Version');
    expect(row.template_version).toBe(3);
    const outbox = (await api('GET', `/v1/emails?developerId=${backend}_after_rollback`)).body.emails as { templateVersion: number }[];
    expect(outbox.map((e) => e.templateVersion)).toEqual([3]);
    const changes = (await api('GET', '/v1/changes')).body.changes as { kind: string; id: string }[];
    expect(changes.filter((c) => c.kind === 'templates').map((c) => c.id)).toEqual(['1', '2', '3']);
    const history = await onramp(['templates', 'history']);
    expect(history.stdout.split('\n').map((line) => line.split('  ')[0])).toEqual(['v3', 'v2', 'v1', '']);
    expect((await api('GET', '/v1/templates/versions/9')).status).toBe(404);
  });
});

describe.each(databaseBackends().slice(0, 1))('templates at start-up (%s)', (backend) => {
  let database: MigratedDatabase;
  const folder = join(root, 'startup-templates');

  beforeAll(async () => {
    cpSync(SHIPPED, folder, { recursive: true });
    database = await openMigratedDatabase(backend);
  }, 60_000);
  afterAll(() => database?.close());

  it('stores the folder as version 1 before the rules are checked against it; an edited folder is only noted, nothing stored', async () => {
    const config = loadConfig({ ONRAMP_TEMPLATES_DIR: folder });
    const first = await ensureDocumentsInForce(database.db.pool, config);
    expect(first.templates).toMatchObject({ version: 1, author: 'onramp', reason: `initial templates from ${folder}` });
    expect(first.rules.version).toBe(1);
    expect(first.templatesFolderDiffers).toBe(false);
    writeFileSync(join(folder, 'first-call-help', 'subject.hbs'), 'Edited, not applied\n');
    const second = await ensureDocumentsInForce(database.db.pool, config);
    expect(second.templates.version).toBe(1);
    expect(second.templatesFolderDiffers).toBe(true);
    expect((await database.db.pool.query('SELECT version FROM template_versions')).rowCount).toBe(1);
  });
});
