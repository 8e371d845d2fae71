import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { funnelFormat } from '../../src/funnel/funnel-file.ts';
import { configJsonSchemaText } from '../../src/rules/config-json-schema.ts';
import { escalationPolicyFormat } from '../../src/rules/escalation-policy-file.ts';
import { rulesFormat } from '../../src/rules/rules-file.ts';
import { emailSettingsFormat } from '../../src/mail/email-settings.ts';
import { templateMetaFormat } from '../../src/mail/email-templates.ts';
import { alertsFormat } from '../../src/rules/alerts-file.ts';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

function validator(schemaText: string) {
  return new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(schemaText));
}

describe.each([
  { schemaFile: 'rules.schema.json', configFile: 'config/rules.yaml', format: rulesFormat },
  { schemaFile: 'escalation-policy.schema.json', configFile: 'config/escalation.yaml', format: escalationPolicyFormat },
  { schemaFile: 'funnel.schema.json', configFile: 'config/funnel.yaml', format: funnelFormat },
  { schemaFile: 'email.schema.json', configFile: 'templates/email.yaml', format: emailSettingsFormat },
  { schemaFile: 'template.schema.json', configFile: 'templates/first-call-help/template.yaml', format: templateMetaFormat },
  { schemaFile: 'alerts.schema.json', configFile: 'config/alerts.yaml', format: alertsFormat },
])('schemas/$schemaFile', ({ schemaFile, configFile, format }) => {
  const checkedIn = read(`schemas/${schemaFile}`);
  const shipped = read(configFile);

  it('is what the zod schema produces (run `npm run rules:schema` after changing it)', () => {
    expect(checkedIn).toBe(configJsonSchemaText(format));
  });

  it(`accepts ${configFile}`, () => {
    const validate = validator(checkedIn);
    const valid = validate(parse(shipped));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it(`points ${configFile} at itself`, () => {
    const up = '../'.repeat(configFile.split('/').length - 1);
    expect(shipped.split('\n')[0]).toBe(`# yaml-language-server: $schema=${up}schemas/${schemaFile}`);
  });
});

describe('what editors should flag', () => {
  it('rules: a stage that is no stage id (the funnel in force says which exist), an unknown field, a malformed duration', () => {
    const validate = validator(read('schemas/rules.schema.json'));
    const rule = { id: 'x', when: { stage: 'intent', after: '3d' }, action: { send: 'x' } };
    expect(validate({ rules: [rule] })).toBe(true);
    expect(validate({ rules: [{ ...rule, when: { stage: 'Onboarded', after: '3d' } }] })).toBe(false);
    expect(validate({ rules: [{ ...rule, priority: 1 }] })).toBe(false);
    expect(validate({ rules: [{ ...rule, when: { stage: 'intent', after: 'soon' } }] })).toBe(false);
  });

  it('escalation policy: a stage that is no stage id, an unknown field, a malformed duration, a bad channel, office hours with a bad day or range', () => {
    const validate = validator(read('schemas/escalation-policy.schema.json'));
    const stall = { id: 'x', since: 'intent', until: 'account_created', after: '3d' };
    expect(validate({})).toBe(true);
    expect(validate({ criteria: { stalls: [stall] }, claimSla: '1h' })).toBe(true);
    expect(validate({ criteria: { stalls: [{ ...stall, since: 'Onboarded' }] } })).toBe(false);
    expect(validate({ criteria: { stalls: [stall] }, escalateTo: 'x' })).toBe(false);
    expect(validate({ claimSla: 'soon' })).toBe(false);
    expect(validate({ levels: [{ channel: 'onboarding' }] })).toBe(false);
    const officeHours = { timeZone: 'Europe/Paris', hours: { 'mon-fri': '09:00-17:00' }, holidays: ['2026-12-25'] };
    expect(validate({ officeHours, levels: [{ channel: '#help', officeHours }] })).toBe(true);
    expect(validate({ officeHours: { ...officeHours, hours: { weekdays: '09:00-17:00' } } })).toBe(false);
    expect(validate({ officeHours: { ...officeHours, hours: { mon: '9-5' } } })).toBe(false);
  });
});
