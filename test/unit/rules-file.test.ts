import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EmailTemplates } from '../../src/mail/email-templates.ts';
import { formatRulesError, parseRulesSource, rulesFormatWithTemplates, type RulesFileError } from '../../src/rules/rules-file.ts';

const shipped = readFileSync(new URL('../../config/rules.yaml', import.meta.url), 'utf8');

/** A valid file with one rule replaced by `rule` (YAML lines, indented under `rules:`). */
function withRule(rule: string): string {
  return ['rules:', '  - id: first-call-help', '    when: { stage: credential_provisioned, after: 24h }', '    action: { send: first-call-help }', rule].join('\n');
}

function errorsOf(source: string): RulesFileError[] {
  const result = parseRulesSource(source);
  if (result.ok) throw new Error('expected the source to be rejected');
  return result.errors;
}

describe('parseRulesSource', () => {
  it('accepts the shipped config/rules.yaml and fills in defaults', () => {
    const result = parseRulesSource(shipped);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.document.rules.map((r) => r.id)).toContain('first-call-help');
    expect(result.document.rules.every((r) => r.enabled && r.maxPerDeveloper === 1)).toBe(true);
    expect(result.document.policy.frequencyCap).toEqual({ max: 2, per: '7d' });
  });

  it('names the rule and the field of a stage that is no stage id, with its line (which stages exist, the funnel in force says)', () => {
    const errors = errorsOf(withRule('  - id: stalled\n    when: { stage: Onboarded, after: 3d }\n    action: { send: nudge }'));
    expect(errors).toEqual([{ path: 'rules[1].when.stage', rule: 'stalled', message: expect.stringMatching(/^must be a stage id in snake_case/), line: 6, column: 20 }]);
    expect(formatRulesError(errors[0]!)).toMatch(/^rules\[1\] \(stalled\) when\.stage: must be a stage id in snake_case/);
  });

  it('rejects a bad duration', () => {
    const errors = errorsOf(withRule('  - id: later\n    when: { stage: first_api_call, after: soon }\n    action: { send: nudge }'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ path: 'rules[1].when.after', rule: 'later', message: 'must be a positive duration like "90m", "24h" or "3d"', line: 6 });
    expect(formatRulesError(errors[0]!)).toBe('rules[1] (later) when.after: must be a positive duration like "90m", "24h" or "3d" (line 6, column 43)');
  });

  it('rejects a zero duration in the policy, naming no rule', () => {
    const errors = errorsOf(`policy:\n  frequencyCap: { max: 2, per: 0d }\n${withRule('')}`);
    expect(errors).toEqual([expect.objectContaining({ path: 'policy.frequencyCap.per', line: 2 })]);
    expect(errors[0]!.rule).toBeUndefined();
  });

  it('rejects a duplicate id, even alongside other errors', () => {
    const errors = errorsOf(withRule('  - id: first-call-help\n    when: { signal: unauthorized_burst }\n    action: { send: auth-help }'));
    expect(errors).toEqual([{ path: 'rules[1].id', rule: 'first-call-help', message: 'duplicate rule id "first-call-help"', line: 5, column: 9 }]);

    const both = errorsOf(withRule('  - id: first-call-help\n    when: { signal: unauthorized_burst }\n    action: { send: Auth Help }'));
    expect(both.map((e) => e.path)).toEqual(['rules[1].id', 'rules[1].action.send']);
  });

  it('rejects an unknown field, pointing at the key', () => {
    const errors = errorsOf(withRule('  - id: prio\n    when: { signal: unauthorized_burst }\n    action: { send: auth-help }\n    priority: 3'));
    expect(errors).toEqual([{ path: 'rules[1].priority', rule: 'prio', message: 'unknown field "priority"', line: 8, column: 5 }]);
    expect(formatRulesError(errors[0]!)).toBe('rules[1] (prio) priority: unknown field "priority" (line 8, column 5)');
  });

  it('reports the trigger the author meant: a signal rule with a bad signal', () => {
    const errors = errorsOf(withRule('  - id: burst\n    when: { signal: server_errors }\n    action: { send: auth-help }'));
    expect(errors).toEqual([
      expect.objectContaining({ path: 'rules[1].when.signal', rule: 'burst', message: 'must be one of unauthorized_burst, bad_request_burst, rate_limited_burst' }),
    ]);
  });

  it('reports a missing field of a rule without an id by its index only', () => {
    const errors = errorsOf(withRule('  - when: { stage: intent }\n    action: { escalate: { reason: stuck } }'));
    expect(errors.map((e) => [e.path, e.rule, e.message])).toEqual([
      ['rules[1].id', undefined, 'is required'],
      ['rules[1].when.after', undefined, 'is required, unless the rule gives `risk`'],
    ]);
    expect(formatRulesError(errors[0]!)).toBe('rules[1] id: is required (line 5, column 5)');
  });

  it('reports every error of the file at once', () => {
    const errors = errorsOf(
      withRule(
        '  - id: a\n    when: { stage: No-where, after: 1d }\n    action: { send: x }\n  - id: b\n    when: { stage: intent, after: -1h }\n    action: { send: x }\n    maxPerDeveloper: 0',
      ),
    );
    expect(errors.map((e) => `${e.rule} ${e.path}`)).toEqual(['a rules[1].when.stage', 'b rules[2].when.after', 'b rules[2].maxPerDeveloper']);
  });

  it('gives line and column of a YAML syntax error', () => {
    const errors = errorsOf('rules:\n  - id: a\n    when: { stage: intent, after: 1d\n    action: { send: x }\n');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ path: '', message: expect.stringMatching(/^YAML syntax: /), line: expect.any(Number), column: expect.any(Number) });
    expect(errors[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('rejects duplicate keys as a YAML error', () => {
    const errors = errorsOf('rules: []\nrules: []\n');
    expect(errors).toEqual([expect.objectContaining({ path: '', line: 2, column: 1 })]);
    expect(errors[0]!.message).toMatch(/unique/);
  });

  it('rejects an empty file and a file that is not a map', () => {
    expect(errorsOf('')[0]!.message).toMatch(/empty/);
    expect(errorsOf('- a\n- b\n')).toEqual([expect.objectContaining({ path: '', message: 'must be an object (got a list)' })]);
    expect(errorsOf('rules: 3\n')).toEqual([expect.objectContaining({ path: 'rules', message: 'must be an array (got number)' })]);
  });

  it('refuses an alias bomb (aliases of aliases) at its first alias, instead of throwing', () => {
    const levels = 'abcdefghij';
    const bomb = [`a: &a [${Array(9).fill('lol').join(', ')}]`, ...[...levels.slice(1)].map((l, i) => `${l}: &${l} [${Array(9).fill(`*${levels[i]}`).join(', ')}]`)].join('\n');
    expect(errorsOf(bomb)).toEqual([{ path: '', message: expect.stringMatching(/^YAML aliases expand to too many nodes/), line: 2, column: 8 }]);
  });

  it('refuses YAML nested deeper than 64 levels, flow or block, with the line of the level that is too deep', () => {
    expect(errorsOf('['.repeat(65))).toEqual([{ path: '', message: 'YAML nested deeper than 64 levels', line: 1, column: 65 }]);
    expect(errorsOf(`rules:\n${'- '.repeat(70)}x`)).toEqual([{ path: '', message: 'YAML nested deeper than 64 levels', line: 2, column: 127 }]);
    expect(errorsOf('['.repeat(64) + ']'.repeat(64)).every((e) => !e.message.includes('nested'))).toBe(true);
  });

  it('survives deep documents sent one after another (a stack overflow in the YAML composer left V8 unable to compile regular expressions: the next one killed the process)', () => {
    const script = `import { parseRulesSource } from './src/rules/rules-file.ts';
for (let i = 0; i < 3; i++) { const r = parseRulesSource('['.repeat(1000)); if (r.ok) process.exit(2); }
console.log('alive');`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr.slice(0, 500)).not.toMatch(/FATAL|out of memory/);
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('alive');
  }, 60_000);
});

describe('the rules format with the templates folder', () => {
  const templates = new EmailTemplates(fileURLToPath(new URL('../../templates', import.meta.url)));
  const format = rulesFormatWithTemplates(templates);

  it('knows the shipped templates, and accepts the shipped rules', () => {
    expect([...templates.names()]).toEqual(expect.arrayContaining(['first-call-help', 'go-live-checklist', 'first-call-guided']));
    expect(format.parse(shipped).ok).toBe(true);
  });

  it("refuses a template the folder does not have, in `send` and in a variant's, naming the rule and the line", () => {
    const source = shipped.replace('action: { send: go-live-checklist }', 'action: { send: go-live-checklst }').replace(/send: first-call-guided/, 'send: first-call-guidd');
    const result = format.parse(source);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const lines = source.split('\n');
    expect(result.errors).toEqual([
      {
        path: expect.stringMatching(/^rules\[0\]\.action\.variants\[\d\]\.send$/),
        rule: 'first-call-help',
        message: expect.stringMatching(/^no template "first-call-guidd" \(templates: .*first-call-guided/),
        line: lines.findIndex((l) => l.includes('first-call-guidd')) + 1,
        column: expect.any(Number),
      },
      {
        path: 'rules[3].action.send',
        rule: 'go-live-checklist',
        message: expect.stringMatching(/^no template "go-live-checklst"/),
        line: lines.findIndex((l) => l.includes('go-live-checklst')) + 1,
        column: expect.any(Number),
      },
    ]);
    expect(format.formatError(result.errors[1]!)).toMatch(/^rules\[3\] \(go-live-checklist\) action\.send: no template "go-live-checklst" .*\(line \d+, column \d+\)$/);
    // The format without the folder cannot know: the schema alone accepts any well-formed name.
    expect(parseRulesSource(source).ok).toBe(true);
  });

  it('refuses a rule sending a template that cannot be sent (an unknown variable), naming the file and line in the template', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-templates-'));
    try {
      cpSync(fileURLToPath(new URL('../../templates', import.meta.url)), dir, { recursive: true });
      writeFileSync(join(dir, 'go-live-checklist', 'text.hbs'), 'Hi {{developer.frstName}},\n');
      const result = rulesFormatWithTemplates(new EmailTemplates(dir)).parse(shipped);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.errors).toEqual([
        expect.objectContaining({
          path: 'rules[3].action.send',
          rule: 'go-live-checklist',
          message: expect.stringMatching(/^template "go-live-checklist" cannot be sent: go-live-checklist\/text\.hbs:1:6: unknown variable \{\{developer\.frstName\}\}/),
        }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
