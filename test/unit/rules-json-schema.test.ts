import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { rulesJsonSchemaText } from '../../src/rules/rules-json-schema.ts';

const checkedIn = readFileSync(new URL('../../schemas/rules.schema.json', import.meta.url), 'utf8');
const shipped = readFileSync(new URL('../../config/rules.yaml', import.meta.url), 'utf8');

function validator() {
  return new Ajv2020({ allErrors: true, strict: false }).compile(JSON.parse(checkedIn));
}

describe('schemas/rules.schema.json', () => {
  it('is what the zod schema produces (run `npm run rules:schema` after changing it)', () => {
    expect(checkedIn).toBe(rulesJsonSchemaText());
  });

  it('accepts config/rules.yaml', () => {
    const validate = validator();
    const valid = validate(parse(shipped));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('points config/rules.yaml at itself', () => {
    expect(shipped.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/rules.schema.json');
  });

  it('rejects what editors should flag: an unknown stage, an unknown field, a malformed duration', () => {
    const validate = validator();
    const rule = { id: 'x', when: { stage: 'intent', after: '3d' }, action: { send: 'x' } };
    expect(validate({ rules: [rule] })).toBe(true);
    expect(validate({ rules: [{ ...rule, when: { stage: 'onboarded', after: '3d' } }] })).toBe(false);
    expect(validate({ rules: [{ ...rule, priority: 1 }] })).toBe(false);
    expect(validate({ rules: [{ ...rule, when: { stage: 'intent', after: 'soon' } }] })).toBe(false);
  });
});
