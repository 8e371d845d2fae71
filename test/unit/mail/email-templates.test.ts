import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { caniemail } from 'caniemail';
import { attributes } from '../../support/html-attributes.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { EmailTemplates, TemplateNotSendable } from '../../../src/mail/email-templates.ts';
import { renderNudgeEmail, type NudgeEmailInput } from '../../../src/mail/nudge-email.ts';
import { TEMPLATE_VARIABLES, templateSourceProblems } from '../../../src/mail/template-variables.ts';

const SHIPPED = fileURLToPath(new URL('../../../templates', import.meta.url));
const links = { publicUrl: 'https://onramp.example', signingSecret: 's'.repeat(32), docsUrl: 'https://docs.example.com' };
const input = (template: string, recipient: Partial<NudgeEmailInput['recipient']> = {}): NudgeEmailInput => ({
  recipient: { id: 'dev_1', name: 'Ada Lovelace', locale: null, accountType: 'individual', channel: 'direct', ...recipient },
  template,
  stage: 'credential_provisioned',
  stageLabel: 'Credential provisioned',
  burst: { endpoint: '/v1/charges', status: 400, count: 6 },
  emailId: `dev_1/${template}:1`,
});

/** The links as a mail client's HTML parser reads them. */
const hrefs = (html: string) => attributes(html, 'a', 'href');

const folders: string[] = [];
/** A copy of the shipped templates to break. */
function scratchTemplates(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onramp-templates-'));
  folders.push(dir);
  cpSync(SHIPPED, dir, { recursive: true });
  return dir;
}
afterEach(() => {
  for (const dir of folders.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * What the layout's HTML uses that caniemail.com lists as unsupported in some major client, and why
 * each is harmless there: MJML's output degrades by design. Anything else (a template adding
 * `display:flex`, `position`, a background image…) fails the lint.
 */
const DEGRADES_GRACEFULLY: Record<string, string> = {
  '<style> element': 'the head styles are progressive: every style that matters is inlined',
  '@media': 'the responsive columns; clients without media queries show the fluid 600 px layout',
  'Chaining selectors': 'in the media queries only',
  'Class selector': 'in the media queries only',
  'ID selector': "MJML's Outlook reset (#outlook a)",
  'Type selector': 'resets (body, table, img); the inline styles stand without them',
  'Descendant combinator': 'resets; the inline styles stand without them',
  'display:none': 'the hidden preheader: a client that shows it shows one line of text',
  opacity: 'the hidden preheader',
  'height property': 'fixed heights of spacer cells; min-height (Yahoo) renders the same',
  overflow: 'the hidden preheader',
  cursor: 'the button: no pointer cursor where unsupported',
  'target attribute': 'clients that force target=_blank open links in a new tab anyway',
  transform: "caniemail reads the button's `text-transform:none` as `transform`",
  'aria-label attribute': 'accessibility hint only',
  'role attribute': 'accessibility hint only (role=presentation on layout tables)',
  'word-break': 'long words wrap differently, nothing hidden',
  '<body> element': 'clients that strip <body> keep its content; the background colour is repeated on the wrapper',
  outline: 'reset of link outlines',
  'word-spacing': "MJML's Outlook reset",
  'border-radius': 'square corners in Outlook for Windows',
};

describe('the shipped templates', () => {
  const templates = new EmailTemplates(SHIPPED);

  it('have no problems: every part present, every variable known, every category in email.yaml', () => {
    expect(templates.problems()).toEqual([]);
    expect(templates.names().size).toBeGreaterThanOrEqual(9);
  });

  it.each([...new EmailTemplates(SHIPPED).names()])('%s: a subject, a greeting by name, a call to action in both parts, and the footer links', async (name) => {
    const email = await renderNudgeEmail(templates, input(name), links);
    expect(email.subject.length).toBeGreaterThan(10);
    expect(email.text).toMatch(/^Hi Ada,\n/);
    expect(email.html).toContain('Hi Ada,');
    expect(hrefs(email.html)).toEqual(expect.arrayContaining([expect.stringMatching(/^https:\/\/docs\.example\.com\//), email.preferencesUrl, email.unsubscribeUrl]));
    expect(email.text).toContain(`Unsubscribe: ${email.unsubscribeUrl}`);
    expect(email.text).toMatch(/\n[^\n]+: https:\/\/docs\.example\.com\/\S+\n/); // the call to action
    expect(email.html).not.toContain('{{');
  });

  it.each([...new EmailTemplates(SHIPPED).names()])('%s: uses no HTML or CSS the major clients lack beyond what degrades gracefully (caniemail)', async (name) => {
    const { html } = await renderNudgeEmail(templates, input(name), links);
    const { issues } = caniemail({ clients: ['gmail.*', 'outlook.*', 'apple-mail.*', 'yahoo.*'], html });
    const unsupported = new Set([...issues.errors.values()].flatMap((found) => found.map((issue) => issue.title)));
    expect([...unsupported].filter((title) => !(title in DEGRADES_GRACEFULLY))).toEqual([]);
  });

  it('lists every template variable in templates/README.md', () => {
    const readme = readFileSync(join(SHIPPED, 'README.md'), 'utf8');
    for (const variable of TEMPLATE_VARIABLES) expect(readme).toContain(`\`${variable}\``);
  });
});

describe('localisation', () => {
  it("picks the developer's locale, then its language, then the default; the layout's words follow", async () => {
    const templates = new EmailTemplates(SHIPPED);
    for (const locale of ['fr', 'fr-CA']) {
      const email = await renderNudgeEmail(templates, input('first-call-help', { locale }), links);
      expect(email.locale).toBe('fr');
      expect(email.text).toMatch(/^Bonjour Ada,/);
      expect(email.text).toContain('Se désabonner: ');
    }
    const german = await renderNudgeEmail(templates, input('first-call-help', { locale: 'de' }), links);
    expect(german.locale).toBe('en');
    expect(german.text).toMatch(/^Hi Ada,/);
  });
});

describe('brand', () => {
  it('puts the product, logo, colours and postal address of email.yaml in every email, and its sender', async () => {
    const dir = scratchTemplates();
    writeFileSync(
      join(dir, 'email.yaml'),
      `brand:
  productName: Acme Payments
  logoUrl: https://acme.example/logo.png
  colors: { primary: "#0a7d33" }
  postalAddress: Acme Inc., 1 Main Street, Springfield
  from: Acme <onboarding@acme.example>
`,
    );
    const templates = new EmailTemplates(dir);
    const email = await renderNudgeEmail(templates, input('first-call-help'), links);
    expect(email.html).toContain('src="https://acme.example/logo.png"');
    expect(email.html).toContain('alt="Acme Payments"');
    expect(email.html).toMatch(/background:#0a7d33/);
    expect(email.text).toContain('\nAcme Payments\nAcme Inc., 1 Main Street, Springfield\nYou get this email because you signed up for Acme Payments.\n');
    expect(templates.settings().brand.from).toBe('Acme <onboarding@acme.example>');
  });

  it('reports an invalid email.yaml with the field and line, and refuses to render with it', async () => {
    const dir = scratchTemplates();
    writeFileSync(join(dir, 'email.yaml'), 'brand:\n  colors: { primary: red }\n');
    const templates = new EmailTemplates(dir);
    expect(templates.problems()).toContainEqual(expect.objectContaining({ file: 'email.yaml', message: expect.stringContaining('brand.colors.primary'), line: 2 }));
    await expect(renderNudgeEmail(templates, input('first-call-help'), links)).rejects.toThrow(TemplateNotSendable);
  });
});

describe('template problems', () => {
  it('names an unknown variable with its file, line and column', () => {
    const dir = scratchTemplates();
    writeFileSync(join(dir, 'first-call-help', 'html.hbs'), '<p>Hi,</p>\n<p>{{developr.name}}</p>\n');
    expect(new EmailTemplates(dir).problems(['first-call-help'])).toEqual([
      { file: 'first-call-help/html.hbs', line: 2, column: 6, message: expect.stringMatching(/^unknown variable \{\{developr\.name\}\} \(known: developer\.id/) },
    ]);
  });

  it('checks the call to action, the category and translations too', () => {
    const dir = scratchTemplates();
    writeFileSync(join(dir, 'first-call-help', 'template.yaml'), 'category: newsletters\ncta: { label: Go, url: "{{docUrl}}/x" }\n');
    mkdirSync(join(dir, 'first-call-help', 'de'));
    writeFileSync(join(dir, 'first-call-help', 'de', 'subject.hbs'), 'Hallo');
    const problems = new EmailTemplates(dir).problems(['first-call-help']);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'first-call-help/template.yaml', message: expect.stringContaining('category "newsletters" is not in email.yaml') }),
        expect.objectContaining({ file: 'first-call-help/template.yaml', message: expect.stringContaining('cta.url: unknown variable {{docUrl}}') }),
        expect.objectContaining({ file: 'first-call-help/de/text.hbs', message: 'missing' }),
      ]),
    );
  });

  it('accepts the shipped helpers and scoped paths, refuses other helpers and partials', () => {
    expect(templateSourceProblems('{{#if developer.firstName}}{{developer.firstName}}{{else}}there{{/if}} {{#each developer}}{{this}}{{/each}} {{lookup developer "id"}}')).toEqual(
      [],
    );
    expect(templateSourceProblems('{{shout developer.name}}').map((p) => p.message)).toEqual([expect.stringContaining('unknown helper "shout"')]);
    expect(templateSourceProblems('{{> footer}}').map((p) => p.message)).toEqual([expect.stringContaining('partials')]);
    expect(templateSourceProblems('{{#if}}').map((p) => p.message)).toEqual([expect.stringContaining('Handlebars syntax')]);
  });
});
