import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, ESCALATION_FILE, INGEST_KEY, OnrampHarness, RULES_FILE } from '../support/onramp-harness.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { SHIPPED_FUNNEL_FILE } from '../support/shipped-funnel.ts';
import { FunnelStore } from '../../src/funnel/funnel-store.ts';

const shipped = readFileSync(RULES_FILE, 'utf8');
const changed = shipped.replace('holdoutPercent: 10', 'holdoutPercent: 20');
const shippedPolicy = readFileSync(ESCALATION_FILE, 'utf8');
const changedPolicy = shippedPolicy.replace('resolutionSla: 2d ', 'resolutionSla: 1d ');

/** The nudge rules and the escalation policy: one route plugin serves both (versioned-config-route.ts). */
describe.each(databaseBackends())('the rules API (%s)', (backend) => {
  let harness: OnrampHarness;

  beforeAll(async () => {
    harness = await new OnrampHarness(backend).start();
    // The funnel in force that rules and policies are checked against, as start-up stores it.
    await new FunnelStore(harness.db.pool).ensureInitialVersion(SHIPPED_FUNNEL_FILE);
  });
  afterAll(async () => {
    await harness?.stop();
  });

  function call(method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown, key = ADMIN_KEY) {
    return harness.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  }

  it('answers 401 to the ingest key, a wrong key and no key, on every rules and escalation-policy endpoint', async () => {
    const endpoints: [method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown][] = [
      ['GET', '/v1/rules'],
      ['PUT', '/v1/rules', { source: changed, author: 'mallory', reason: 'x' }],
      ['POST', '/v1/rules/validate', { source: shipped }],
      ['GET', '/v1/rules/history'],
      ['GET', '/v1/rules/versions/1'],
      ['GET', '/v1/escalation-policy'],
      ['PUT', '/v1/escalation-policy', { source: changedPolicy, author: 'mallory', reason: 'x' }],
      ['POST', '/v1/escalation-policy/validate', { source: shippedPolicy }],
      ['GET', '/v1/escalation-policy/history'],
      ['GET', '/v1/escalation-policy/versions/1'],
    ];
    for (const [method, url, body] of endpoints) {
      for (const key of [INGEST_KEY, 'not-the-admin-key-at-all']) {
        const response = await call(method, url, body, key);
        expect(response.statusCode, `${method} ${url}`).toBe(401);
        expect(response.json()).toEqual({ errors: [{ path: 'authorization', message: 'invalid key' }] });
      }
      const anonymous = await harness.app.inject({ method, url, ...(body === undefined ? {} : { payload: body as object }) });
      expect(anonymous.statusCode).toBe(401);
    }
    expect(await harness.count('rule_versions')).toBe(1);
    expect(await harness.count('escalation_policy_versions')).toBe(1);
  });

  it('serves the running version (the shipped file, version 1)', async () => {
    const response = await call('GET', '/v1/rules');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ version: 1, author: 'onramp', reason: `initial rules from ${RULES_FILE}`, source: shipped });
    expect(new Date(body.createdAt).toISOString()).toBe(body.createdAt);
    expect(body.document.policy.holdoutPercent).toBe(10);
    expect(body.document.rules[0]).toMatchObject({ id: 'first-call-help', enabled: true, maxPerDeveloper: 1 });
    expect(body).not.toHaveProperty('diff');
  });

  it('validates without storing', async () => {
    const ok = await call('POST', '/v1/rules/validate', { source: changed });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ valid: true, document: { policy: { holdoutPercent: 20 } } });

    const bad = await call('POST', '/v1/rules/validate', { source: shipped.replace('stage: first_api_call', 'stage: first_call') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      errors: [
        {
          path: 'rules[2].when.stage',
          rule: 'explore-the-api',
          message: expect.stringMatching(/^no stage "first_call" in the funnel \(its stages: intent, /),
          line: expect.any(Number),
          column: expect.any(Number),
        },
      ],
    });

    const syntax = await call('POST', '/v1/rules/validate', { source: 'rules: [\n' });
    expect(syntax.statusCode).toBe(400);
    expect(syntax.json().errors[0]).toMatchObject({ path: '', message: expect.stringMatching(/^YAML syntax/), line: expect.any(Number) });
    expect(await harness.count('rule_versions')).toBe(1);
  });

  it('rejects an invalid PUT whole (400, nothing stored) and a malformed body', async () => {
    const invalid = await call('PUT', '/v1/rules', { source: changed.replace('after: 14d', 'after: two weeks'), author: 'grace', reason: 'slower' });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json()).toEqual({ errors: [expect.objectContaining({ path: 'rules[3].when.after', rule: 'go-live-checklist' })] });

    const noAuthor = await call('PUT', '/v1/rules', { source: changed, reason: 'why' });
    expect(noAuthor.statusCode).toBe(400);
    expect(noAuthor.json().errors).toEqual([expect.objectContaining({ path: 'author' })]);

    expect(await harness.count('rule_versions')).toBe(1);
    expect((await call('GET', '/v1/rules')).json().version).toBe(1);
  });

  it('refuses a rule sending a template that does not exist, in validate and PUT, naming the rule and the line', async () => {
    const typo = shipped.replace('action: { send: go-live-checklist }', 'action: { send: go-live-checklst }');
    const line = typo.split('\n').findIndex((l) => l.includes('go-live-checklst')) + 1;
    const expected = {
      errors: [{ path: 'rules[3].action.send', rule: 'go-live-checklist', message: expect.stringMatching(/^no template "go-live-checklst"/), line, column: expect.any(Number) }],
    };
    const validated = await call('POST', '/v1/rules/validate', { source: typo });
    expect(validated.statusCode).toBe(400);
    expect(validated.json()).toEqual(expected);
    const put = await call('PUT', '/v1/rules', { source: typo, author: 'grace', reason: 'a typo' });
    expect(put.statusCode).toBe(400);
    expect(put.json()).toEqual(expected);
    expect(await harness.count('rule_versions')).toBe(1);
  });

  it('stores a valid PUT as version 2 (201, with the diff) and makes it current', async () => {
    const response = await call('PUT', '/v1/rules', { source: changed, author: 'grace', reason: 'a bigger holdout' });
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ version: 2, author: 'grace', reason: 'a bigger holdout', source: changed, created: true, document: { policy: { holdoutPercent: 20 } } });
    expect(body.diff).toContain('-  holdoutPercent: 10');
    expect(body.diff).toContain('+  holdoutPercent: 20');
    expect((await call('GET', '/v1/rules')).json()).toMatchObject({ version: 2, author: 'grace' });

    const again = await call('PUT', '/v1/rules', { source: changed, author: 'grace', reason: 'once more' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ version: 2, created: false, reason: 'a bigger holdout' });
    expect(await harness.count('rule_versions')).toBe(2);
  });

  it('lists the history newest first and serves old versions', async () => {
    // Version 2 (stored here, or already by the test before: the same source stores nothing new).
    expect((await call('PUT', '/v1/rules', { source: changed, author: 'grace', reason: 'a bigger holdout' })).json()).toMatchObject({ version: 2 });
    const history = await call('GET', '/v1/rules/history');
    expect(history.statusCode).toBe(200);
    const { versions } = history.json();
    expect(versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(versions[0]).toEqual({ version: 2, author: 'grace', reason: 'a bigger holdout', createdAt: expect.any(String), diff: expect.stringContaining('+  holdoutPercent: 20') });

    const first = await call('GET', '/v1/rules/versions/1');
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ version: 1, source: shipped, document: { policy: { holdoutPercent: 10 } } });

    expect((await call('GET', '/v1/rules/versions/99')).statusCode).toBe(404);
    expect((await call('GET', '/v1/rules/versions/abc')).statusCode).toBe(400);
  });

  it('documents the rules endpoints in /openapi.json and serves the JSON Schema', async () => {
    const openapi = (await harness.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(['/v1/rules', '/v1/rules/validate', '/v1/rules/history', '/v1/rules/versions/{version}', '/v1/schemas/rules']),
    );
    expect(Object.keys(openapi.paths['/v1/rules'].put.responses)).toEqual(expect.arrayContaining(['200', '201', '400', '401']));
    const schema = await harness.app.inject({ method: 'GET', url: '/v1/schemas/rules' });
    expect(schema.statusCode).toBe(200);
    expect(schema.json().properties.rules.type).toBe('array');
  });

  describe('the escalation policy endpoints (the same plugin as the rules)', () => {
    it('serve the shipped policy as version 1', async () => {
      const response = await call('GET', '/v1/escalation-policy');
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({
        version: 1,
        author: 'onramp',
        reason: `initial escalation policy from ${ESCALATION_FILE}`,
        source: shippedPolicy,
        document: { resolutionSla: '2d' },
      });
      expect(response.json().document.criteria.stalls.map((s: { id: string }) => s.id)).toEqual(['no-first-call', 'not-active', 'not-live']);
    });

    it('validate without storing, naming the stall, field and line of an error', async () => {
      const ok = await call('POST', '/v1/escalation-policy/validate', { source: changedPolicy });
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toMatchObject({ valid: true, document: { resolutionSla: '1d' } });

      const bad = await call('POST', '/v1/escalation-policy/validate', { source: shippedPolicy.replace('since: first_api_call', 'since: first_call') });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toEqual({
        errors: [
          {
            path: 'criteria.stalls[1].since',
            stall: 'not-active',
            message: expect.stringMatching(/^no stage "first_call" in the funnel \(its stages: intent, /),
            line: expect.any(Number),
            column: expect.any(Number),
          },
        ],
      });
      expect(await harness.count('escalation_policy_versions')).toBe(1);
    });

    it('reject an invalid PUT whole, store a valid one as version 2 with its diff, and keep the history', async () => {
      const rulesVersion = (await call('GET', '/v1/rules')).json().version;
      const invalid = await call('PUT', '/v1/escalation-policy', { source: changedPolicy.replace('claimSla: 4h', 'claimSla: 0h'), author: 'grace', reason: 'oops' });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.json()).toEqual({ errors: [expect.objectContaining({ path: 'claimSla', line: expect.any(Number) })] });
      expect(await harness.count('escalation_policy_versions')).toBe(1);

      const response = await call('PUT', '/v1/escalation-policy', { source: changedPolicy, author: 'grace', reason: 'resolve sooner' });
      expect(response.statusCode).toBe(201);
      expect(response.json()).toMatchObject({ version: 2, author: 'grace', created: true, document: { resolutionSla: '1d' } });
      expect(response.json().diff).toMatch(/^\+resolutionSla: 1d /m);
      expect((await call('GET', '/v1/escalation-policy')).json()).toMatchObject({ version: 2 });

      const history = (await call('GET', '/v1/escalation-policy/history')).json();
      expect(history.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
      expect((await call('GET', '/v1/escalation-policy/versions/1')).json()).toMatchObject({ version: 1, source: shippedPolicy });
      expect((await call('GET', '/v1/escalation-policy/versions/3')).json()).toEqual({ errors: [{ path: 'version', message: 'no escalation policy version 3' }] });
      // The rules are a separate document.
      expect((await call('GET', '/v1/rules')).json().version).toBe(rulesVersion);
    });

    it('are in /openapi.json, and the JSON Schema is served', async () => {
      const openapi = (await harness.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(Object.keys(openapi.paths)).toEqual(
        expect.arrayContaining([
          '/v1/escalation-policy',
          '/v1/escalation-policy/validate',
          '/v1/escalation-policy/history',
          '/v1/escalation-policy/versions/{version}',
          '/v1/schemas/escalation-policy',
        ]),
      );
      const schema = await harness.app.inject({ method: 'GET', url: '/v1/schemas/escalation-policy' });
      expect(schema.statusCode).toBe(200);
      expect(schema.json()).toMatchObject({ title: 'Onramp escalation policy', properties: { levels: { type: 'array' } } });
    });
  });
});
