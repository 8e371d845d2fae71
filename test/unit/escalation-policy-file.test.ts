import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { escalationPolicyFormat, type EscalationPolicyFileError } from '../../src/rules/escalation-policy-file.ts';
import { escalationPolicyDocument, frictionsOf } from '../../src/rules/escalation-policy-schema.ts';

const shipped = readFileSync(new URL('../../config/escalation.yaml', import.meta.url), 'utf8');

function errorsOf(source: string): EscalationPolicyFileError[] {
  const result = escalationPolicyFormat.parse(source);
  if (result.ok) throw new Error('expected the source to be rejected');
  return result.errors;
}

const stalls = (...lines: string[]) => ['criteria:', '  stalls:', ...lines.map((line) => `    - ${line}`)].join('\n');

describe('escalationPolicyFormat.parse', () => {
  it('accepts the shipped config/escalation.yaml, which spells out the defaults', () => {
    const result = escalationPolicyFormat.parse(shipped);
    expect(result).toEqual({ ok: true, document: escalationPolicyDocument.parse({}) });
  });

  it('fills in every default from `{}`', () => {
    const result = escalationPolicyFormat.parse('{}\n');
    expect(result.ok && result.document).toMatchObject({ claimSla: '4h', levels: [{ channel: '#onboarding-help' }, expect.anything()], agents: { users: [], userGroups: [] } });
  });

  it('names the stall and the field of a bad duration, with its line', () => {
    const errors = errorsOf(
      stalls(
        '{ id: no-first-call, since: credential_provisioned, until: first_api_call, after: 7d }',
        '{ id: slow, since: first_api_call, until: active_integration, after: soon }',
      ),
    );
    expect(errors).toEqual([{ path: 'criteria.stalls[1].after', stall: 'slow', message: 'must be a positive duration like "90m", "24h" or "3d"', line: 4, column: 76 }]);
    expect(escalationPolicyFormat.formatError(errors[0]!)).toBe('criteria.stalls[1] (slow) after: must be a positive duration like "90m", "24h" or "3d" (line 4, column 76)');
  });

  it('rejects a stage that is no stage id and a duplicate stall id (the order of `since` and `until` is checked against the funnel in force)', () => {
    const errors = errorsOf(stalls('{ id: a, since: first_api_call, until: Intent, after: 3d }', '{ id: a, since: intent, until: account_created, after: 1d }'));
    expect(errors).toEqual([
      expect.objectContaining({ path: 'criteria.stalls[0].until', stall: 'a', message: expect.stringMatching(/^must be a stage id in snake_case/), line: 3 }),
      expect.objectContaining({ path: 'criteria.stalls[1].id', stall: 'a', message: 'duplicate stall id "a"', line: 4 }),
    ]);
  });

  it('reports every error at once: unknown field, empty levels, a bad channel, an outcome that is not one', () => {
    const errors = errorsOf('levels: []\nclaimSla: 0h\nstopNudgesOn: [ghosted]\nprivacy: { showEmail: false, showName: true }\nagents: { users: [alice] }\n');
    expect(errors.map((e) => [e.path, e.line])).toEqual([
      ['levels', 1],
      ['claimSla', 2],
      ['stopNudgesOn[0]', 3],
      ['privacy.showName', 4],
      ['agents.users[0]', 5],
    ]);
    expect(errors.every((e) => e.stall === undefined)).toBe(true);
    expect(escalationPolicyFormat.formatError(errors[3]!)).toBe('privacy.showName: unknown field "showName" (line 4, column 30)');
    expect(errorsOf('levels: [{ channel: onboarding }]\n')[0]).toMatchObject({ path: 'levels[0].channel', message: 'must be a channel id (C0123ABC) or a #name' });
  });

  it('accepts office hours for the policy and a level, holidays as plain YAML dates', () => {
    const result = escalationPolicyFormat.parse(
      [
        'officeHours:',
        '  timeZone: Europe/Paris',
        '  hours: { mon-thu: "09:00-12:00, 13:00-17:00", fri: "09:00-16:00" }',
        '  holidays: [2026-12-25, 2027-01-01]',
        'levels:',
        '  - channel: "#onboarding-help"',
        '  - channel: "#onboarding-us"',
        '    officeHours: { timeZone: America/New_York, hours: { mon-fri: "09:00-17:00" } }',
        '',
      ].join('\n'),
    );
    expect(result.ok && result.document.officeHours).toEqual({
      timeZone: 'Europe/Paris',
      hours: { 'mon-thu': '09:00-12:00, 13:00-17:00', fri: '09:00-16:00' },
      holidays: ['2026-12-25', '2027-01-01'],
    });
    expect(result.ok && result.document.levels[1]!.officeHours).toEqual({ timeZone: 'America/New_York', hours: { 'mon-fri': '09:00-17:00' } });
    expect(escalationPolicyFormat.parse('{}\n')).toMatchObject({ ok: true, document: expect.not.objectContaining({ officeHours: expect.anything() }) });
  });

  it('names each bad part of office hours with its line and column: zone, day, range, holiday, no open hours', () => {
    const errors = errorsOf(
      [
        'officeHours:',
        '  timeZone: Mars/Olympus',
        '  hours: { mon-fri: "09:00-17:00", fri: "10:00-12:00", weekdays: "09:00-17:00", sat: "9-5", sun: "18:00-08:00" }',
        '  holidays: [2026-12-25, 2026-02-30, christmas]',
        '  lunch: "12:00-13:00"',
        'levels:',
        '  - channel: "#onboarding-help"',
        '    officeHours: { timeZone: UTC, hours: {} }',
        '',
      ].join('\n'),
    );
    expect(errors.map((e) => [e.path, e.message, e.line, e.column])).toEqual([
      ['officeHours.timeZone', '"Mars/Olympus" is not an IANA time zone (e.g. Europe/Paris)', 2, 13],
      ['officeHours.hours.fri', 'fri is already given by "mon-fri"', 3, 41],
      ['officeHours.hours.weekdays', 'must be a day (mon … sun) or a day range (mon-fri)', 3, 56], // at the key
      ['officeHours.hours.sat', 'must be HH:MM-HH:MM (several ranges separated by commas)', 3, 86],
      ['officeHours.hours.sun', '"18:00-08:00" ends before it starts (a range stays within one day)', 3, 98],
      ['officeHours.holidays[1]', '"2026-02-30" is not a date (YYYY-MM-DD)', 4, 26],
      ['officeHours.holidays[2]', 'must be a date (YYYY-MM-DD)', 4, 38],
      ['officeHours.lunch', 'unknown field "lunch"', 5, 3],
      ['levels[0].officeHours.hours', 'no open hours: give at least one day, e.g. mon-fri: "09:00-17:00"', 8, 42],
    ]);
  });

  it('takes frictions as ids or ids with labels, and names a bad id, a duplicate and an overlong label', () => {
    const ok = escalationPolicyFormat.parse('frictions: [missing_docs, { id: sdk-gap, label: SDK gap }]\n');
    expect(ok.ok && frictionsOf(ok.document)).toEqual([
      { id: 'missing_docs', label: 'Missing docs' },
      { id: 'sdk-gap', label: 'SDK gap' },
    ]);
    const errors = errorsOf(`frictions:\n  - Missing Docs\n  - rate_limits\n  - { id: rate_limits, label: Rate limits }\n  - { id: x, label: ${'y'.repeat(76)} }\n`);
    expect(errors.map((e) => [e.path, e.line])).toEqual([
      ['frictions[0]', 2],
      ['frictions[2]', 4],
      ['frictions[3].label', 5],
    ]);
    expect(errors[0]!.message).toMatch(/must be an id: lower-case letters, digits, `_` and `-`/);
    expect(errors[1]!.message).toBe('duplicate friction "rate_limits"');
  });

  it('rejects an empty file and a YAML syntax error', () => {
    expect(errorsOf('')).toEqual([{ path: '', message: 'the file is empty: write `{}` for every default' }]);
    expect(errorsOf('levels: [\n')[0]).toMatchObject({ path: '', message: expect.stringMatching(/^YAML syntax: /), line: expect.any(Number) });
  });
});
