import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { EmailTemplates } from '../../../src/mail/email-templates.ts';
import { renderNudgeEmail } from '../../../src/mail/nudge-email.ts';
import { diffTemplateFiles, filesSource, readTemplateFolder, TEMPLATE_FILE_PATH, templateFilesHash } from '../../../src/mail/template-files.ts';

const SHIPPED = fileURLToPath(new URL('../../../templates', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'onramp-template-files-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const links = { publicUrl: 'http://onramp.test', signingSecret: 's'.repeat(32), docsUrl: 'https://docs.example.com' };
const input = (template: string, locale: string | null = null) => ({
  recipient: { id: 'dev_1', name: 'Ada Lovelace', locale, accountType: 'individual', channel: 'organic_search' },
  template,
  stage: 'credential_provisioned',
  stageLabel: 'Credential provisioned',
  emailId: 'dev_1/n:1',
});

describe('a snapshot of the templates folder', () => {
  it('holds email.yaml and every template file and translation, not the README; renders exactly as the folder does', async () => {
    const files = readTemplateFolder(SHIPPED);
    expect(files['email.yaml']).toBeDefined();
    expect(files['first-call-help/fr/html.hbs']).toBeDefined();
    expect(files['README.md']).toBeUndefined();
    expect(Object.keys(files).every((path) => TEMPLATE_FILE_PATH.test(path))).toBe(true);
    const folder = new EmailTemplates(SHIPPED);
    const snapshot = new EmailTemplates(filesSource(files, 'templates v1'));
    expect(snapshot.names()).toEqual(folder.names());
    expect(snapshot.locales('first-call-help')).toEqual(folder.locales('first-call-help'));
    expect(snapshot.problems()).toEqual([]);
    for (const locale of [null, 'fr'])
      expect(await renderNudgeEmail(snapshot, input('first-call-help', locale), links)).toEqual(await renderNudgeEmail(folder, input('first-call-help', locale), links));
  });

  it('finds the same problems in a snapshot as in the folder, a misnamed translation included', () => {
    const dir = join(scratch, 'broken');
    cpSync(SHIPPED, dir, { recursive: true });
    writeFileSync(join(dir, 'first-call-help', 'html.hbs'), '<p>{{developr.name}}</p>\n');
    mkdirSync(join(dir, 'first-call-help', 'fr_FR'));
    writeFileSync(join(dir, 'first-call-help', 'fr_FR', 'subject.hbs'), 'Bonjour');
    const problems = new EmailTemplates(dir).problems();
    expect(problems.map((p) => p.file)).toEqual(expect.arrayContaining(['first-call-help/html.hbs', 'first-call-help/fr_FR']));
    expect(new EmailTemplates(filesSource(readTemplateFolder(dir), 'candidate')).problems()).toEqual(problems);
  });

  it('hashes paths and texts whatever their order; the diff names each changed, added and removed file', () => {
    const a = { 'email.yaml': 'x: 1\n', 'a/subject.hbs': 'Hi\n', 'b/subject.hbs': 'Bye\n' };
    const reordered = { 'b/subject.hbs': 'Bye\n', 'a/subject.hbs': 'Hi\n', 'email.yaml': 'x: 1\n' };
    expect(templateFilesHash(reordered)).toBe(templateFilesHash(a));
    expect(templateFilesHash({ ...a, 'a/subject.hbs': 'Hi!\n' })).not.toBe(templateFilesHash(a));
    const { 'b/subject.hbs': _removed, ...rest } = a;
    const diff = diffTemplateFiles({ label: 'templates v1', files: a }, { label: 'templates v2', files: { ...rest, 'a/subject.hbs': 'Hello\n', 'c/text.hbs': 'New\n' } });
    expect(diff.match(/^\+\+\+ .*$/gm)).toEqual(['+++ templates v2/a/subject.hbs', '+++ templates v2 (no b/subject.hbs)', '+++ templates v2/c/text.hbs']);
    expect(diff).toContain('-Hi\n+Hello');
    expect(diffTemplateFiles({ label: 'v1', files: a }, { label: 'v2', files: reordered })).toBe('');
  });

  it('takes only the paths a templates folder has: no way out of it', () => {
    for (const path of ['email.yaml', 'first-call-help/html.hbs', 'first-call-help/pt-BR/template.yaml']) expect(TEMPLATE_FILE_PATH.test(path)).toBe(true);
    for (const path of ['../x/html.hbs', 'a/../html.hbs', 'a/b/c/html.hbs', 'README.md', 'a/notes.txt', '/etc/html.hbs', 'a/./html.hbs', 'A/html.hbs'])
      expect(TEMPLATE_FILE_PATH.test(path), path).toBe(false);
  });
});
