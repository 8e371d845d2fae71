import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureConfigInForce } from '../../src/funnel/config-in-force.ts';
import { stageReferenceErrors } from '../../src/funnel/funnel-references.ts';
import { FunnelStore } from '../../src/funnel/funnel-store.ts';
import { funnelInForceCache } from '../../src/funnel/funnel-in-force-cache.ts';
import { EmailTemplates } from '../../src/mail/email-templates.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { CUSTOM_FUNNEL, CUSTOM_POLICY, CUSTOM_RULES } from '../support/custom-funnel-documents.ts';
import { eventually } from '../support/eventually.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';
import { databaseBackends } from '../support/test-databases.ts';

/** The funnel as a versioned document (funnel-route.ts, funnel-change.ts), and its cross-checks with the rules and the escalation policy. */

const config = (file: string) => resolve(import.meta.dirname, '../../config', file);
const FILES = { funnelFile: config('funnel.yaml'), rulesFile: config('rules.yaml'), escalationFile: config('escalation.yaml') };
const shippedFunnel = readFileSync(FILES.funnelFile, 'utf8');
const shippedRules = readFileSync(FILES.rulesFile, 'utf8');
const relabelled = shippedFunnel.replace('label: First API call', 'label: First successful call');
const keys = { ingest: 'funnel-api-ingest-key-012345', admin: 'funnel-api-admin-key-0123456' };

describe('GET /v1/schemas/funnel', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(databaseBackends()[0]!, { keys });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('serves schemas/funnel.schema.json without a key, and is in the OpenAPI document', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/v1/schemas/funnel' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(JSON.parse(readFileSync(new URL('../../schemas/funnel.schema.json', import.meta.url), 'utf8')));
    const paths = Object.keys((t.app.swagger() as { paths: Record<string, unknown> }).paths);
    expect(paths).toEqual(expect.arrayContaining(['/v1/schemas/funnel', '/v1/funnel', '/v1/funnel/validate', '/v1/funnel/history', '/v1/funnel/versions/{version}']));
  });
});

describe.each(databaseBackends())('the funnel API (%s)', (backend) => {
  let t: TestApp;

  // Each test on a database as start-up leaves it: the shipped funnel, rules and policy as version 1.
  beforeEach(async () => {
    t = await startTestApp(backend, { keys });
    await ensureConfigInForce(t.db.pool, { ...FILES, templates: new EmailTemplates(resolve(import.meta.dirname, '../../templates')) });
  });
  afterEach(async () => {
    await t?.close();
  });

  function call(method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown, key = keys.admin) {
    return t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
  }
  const count = async (table: string) => Number((await t.db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  const versions = async () => ({
    funnel: await count('funnel_versions'),
    rules: await count('rule_versions'),
    policy: await count('escalation_policy_versions'),
    audit: await count('audit_log'),
  });
  const as = { author: 'grace', reason: 'our own funnel' };

  it('answers 401 to the ingest key, a wrong key and no key on every funnel endpoint but the JSON Schema', async () => {
    const endpoints: [method: 'GET' | 'PUT' | 'POST', url: string, body?: unknown][] = [
      ['GET', '/v1/funnel'],
      ['PUT', '/v1/funnel', { source: relabelled, author: 'mallory', reason: 'x' }],
      ['POST', '/v1/funnel/validate', { source: relabelled }],
      ['GET', '/v1/funnel/history'],
      ['GET', '/v1/funnel/versions/1'],
    ];
    for (const [method, url, body] of endpoints) {
      for (const key of [keys.ingest, 'not-the-admin-key-at-all']) {
        const response = await call(method, url, body, key);
        expect(response.statusCode, `${method} ${url}`).toBe(401);
        expect(response.json()).toEqual({ errors: [{ path: 'authorization', message: 'invalid key' }] });
      }
      expect((await t.app.inject({ method, url, ...(body === undefined ? {} : { payload: body as object }) })).statusCode).toBe(401);
    }
    expect(await count('funnel_versions')).toBe(1);
  });

  it('serves the funnel in force (the shipped file, version 1), stores a change with its diff and audit row, and nothing for an identical source', async () => {
    const running = await call('GET', '/v1/funnel');
    expect(running.statusCode).toBe(200);
    expect(running.json()).toMatchObject({ version: 1, author: 'onramp', reason: `initial funnel from ${FILES.funnelFile}`, source: shippedFunnel });
    expect(running.json().document.stages.map((s: { id: string }) => s.id)).toContain('first_api_call');

    const put = await call('PUT', '/v1/funnel', { source: relabelled, author: ' grace ', reason: 'clearer label' });
    expect(put.statusCode).toBe(201);
    const body = put.json();
    expect(body).toMatchObject({ version: 2, author: 'grace', reason: 'clearer label', created: true, source: relabelled });
    expect(body).not.toHaveProperty('rules');
    expect(body.diff).toContain('--- funnel v1');
    expect(body.diff).toContain('+++ funnel v2');
    expect(body.diff).toContain('-    label: First API call');
    expect(body.diff).toContain('+    label: First successful call');

    const { rows: audit } = await t.db.pool.query('SELECT actor, action, subject, reason, diff FROM audit_log WHERE action = $1 ORDER BY id', ['funnel.applied']);
    expect(audit).toEqual([
      { actor: 'onramp', action: 'funnel.applied', subject: 'funnel v1', reason: `initial funnel from ${FILES.funnelFile}`, diff: expect.any(String) },
      { actor: 'grace', action: 'funnel.applied', subject: 'funnel v2', reason: 'clearer label', diff: body.diff },
    ]);

    const again = await call('PUT', '/v1/funnel', { source: relabelled, author: 'grace', reason: 'again' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ version: 2, created: false });

    const history = await call('GET', '/v1/funnel/history');
    expect(history.json().versions.map((v: { version: number; author: string }) => [v.version, v.author])).toEqual([
      [2, 'grace'],
      [1, 'onramp'],
    ]);
    expect((await call('GET', '/v1/funnel/versions/1')).json()).toMatchObject({ version: 1, source: shippedFunnel, diff: expect.stringContaining('+++ funnel v1') });
    expect((await call('GET', '/v1/funnel/versions/3')).statusCode).toBe(404);
    // The assembly's cache reads the new version.
    expect((await funnelInForceCache(t.db.pool, 0)()).version).toBe(2);
  });

  it('refuses an invalid funnel with the field, stage, line and column of each error, storing nothing', async () => {
    const invalid = shippedFunnel.replace('request: { status: 2xx, distinctEndpoints: 2, within: 24h }', 'request: { status: 2xx, within: 24h }');
    const before = await versions();
    for (const [method, url] of [
      ['POST', '/v1/funnel/validate'],
      ['PUT', '/v1/funnel'],
    ] as const) {
      const response = await call(method, url, { source: invalid, ...(method === 'PUT' ? as : {}) });
      expect(response.statusCode, url).toBe(400);
      expect(response.json()).toEqual({
        errors: [
          {
            document: 'funnel',
            path: expect.stringMatching(/^stages\[\d+\]\.evidence\[0\]\.request\.within$/),
            stage: 'active_integration',
            message: '`within` needs a threshold: `count` or `distinctEndpoints`',
            line: expect.any(Number),
            column: expect.any(Number),
          },
        ],
      });
    }
    expect(await versions()).toEqual(before);
  });

  it('refuses a funnel that would orphan rules and stalls in force, naming each with its line in the version in force', async () => {
    const before = await versions();
    for (const [method, url] of [
      ['POST', '/v1/funnel/validate'],
      ['PUT', '/v1/funnel'],
    ] as const) {
      const response = await call(method, url, { source: CUSTOM_FUNNEL, ...(method === 'PUT' ? as : {}) });
      expect(response.statusCode, url).toBe(400);
      const { errors } = response.json() as { errors: { document: string; version?: number; rule?: string; stall?: string; path: string; message: string; line?: number }[] };
      expect(errors).toContainEqual({
        document: 'rules',
        version: 1,
        path: 'rules[0].when.stage',
        rule: 'first-call-help',
        message: 'no stage "credential_provisioned" in the funnel (its stages: account_created, first_api_call, paying)',
        line: shippedRules.split('\n').findIndex((l) => l.includes('stage: credential_provisioned')) + 1,
        column: expect.any(Number),
      });
      expect(errors).toContainEqual(
        expect.objectContaining({ document: 'escalation policy', version: 1, path: 'criteria.stalls[0].since', stall: 'no-first-call', line: expect.any(Number) }),
      );
      expect(errors).toContainEqual(
        expect.objectContaining({
          document: 'escalation policy',
          version: 1,
          path: 'criteria.stalls[2].until',
          stall: 'not-live',
          message: expect.stringContaining('"production_deployment"'),
        }),
      );
      expect(errors.every((e) => e.rule !== undefined || e.stall !== undefined)).toBe(true);
    }
    expect(await versions()).toEqual(before);
  });

  it('stores a funnel with the rules and policy that fit it in one change: one version and one audit row each', async () => {
    const before = await versions();
    const validate = await call('POST', '/v1/funnel/validate', { source: CUSTOM_FUNNEL, rules: { source: CUSTOM_RULES }, escalationPolicy: { source: CUSTOM_POLICY } });
    expect(validate.statusCode).toBe(200);
    expect(await versions()).toEqual(before);

    const put = await call('PUT', '/v1/funnel', { source: CUSTOM_FUNNEL, ...as, rules: { source: CUSTOM_RULES }, escalationPolicy: { source: CUSTOM_POLICY } });
    expect(put.statusCode).toBe(201);
    expect(put.json()).toMatchObject({
      version: 2,
      created: true,
      rules: { version: 2, created: true, diff: expect.stringContaining('+  - id: pay-up') },
      escalationPolicy: { version: 2, created: true, diff: expect.stringContaining('+    - { id: not-paying') },
    });
    expect(await versions()).toEqual({ funnel: 2, rules: 2, policy: 2, audit: before.audit + 3 });
    const { rows } = await t.db.pool.query('SELECT actor, action, subject, reason FROM audit_log ORDER BY id DESC LIMIT 3');
    expect(rows.map((r) => r.subject).sort()).toEqual(['escalation policy v2', 'funnel v2', 'rules v2']);
    expect(rows.every((r) => r.actor === 'grace' && r.reason === 'our own funnel')).toBe(true);

    // Re-applying all three stores nothing; the rules and policy alone fit the funnel in force.
    const again = await call('PUT', '/v1/funnel', { source: CUSTOM_FUNNEL, ...as, rules: { source: CUSTOM_RULES } });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, rules: { version: 2, created: false } });
  });

  it('stores nothing of a change whose rules are invalid, or whose policy in force the funnel would orphan', async () => {
    const before = await versions();
    const broken = await call('PUT', '/v1/funnel', {
      source: CUSTOM_FUNNEL,
      ...as,
      rules: { source: CUSTOM_RULES.replace('after: 7d', 'after: a week') },
      escalationPolicy: { source: CUSTOM_POLICY },
    });
    expect(broken.statusCode).toBe(400);
    expect(broken.json()).toEqual({
      errors: [{ document: 'rules', path: 'rules[1].when.after', rule: 'pay-up', message: expect.stringMatching(/^must be a positive duration/), line: 6, column: 43 }],
    });
    // Valid rules, but the policy in force still names stages the funnel drops.
    const orphan = await call('PUT', '/v1/funnel', { source: CUSTOM_FUNNEL, ...as, rules: { source: CUSTOM_RULES } });
    expect(orphan.statusCode).toBe(400);
    expect(orphan.json().errors.map((e: { document: string }) => e.document)).toEqual(['escalation policy', 'escalation policy', 'escalation policy', 'escalation policy']);
    expect(await versions()).toEqual(before);
  });

  it('refuses rules naming a stage the funnel in force lacks, and a policy whose until is not after since in it', async () => {
    await call('PUT', '/v1/funnel', { source: CUSTOM_FUNNEL, ...as, rules: { source: CUSTOM_RULES }, escalationPolicy: { source: CUSTOM_POLICY } });
    const before = await versions();

    const rules = await call('PUT', '/v1/rules', { source: CUSTOM_RULES.replace('stage: first_api_call', 'stage: active_integration'), ...as });
    expect(rules.statusCode).toBe(400);
    expect(rules.json()).toEqual({
      errors: [
        {
          path: 'rules[1].when.stage',
          rule: 'pay-up',
          message: 'no stage "active_integration" in the funnel (its stages: account_created, first_api_call, paying)',
          line: 6,
          column: 20,
        },
      ],
    });
    const validate = await call('POST', '/v1/rules/validate', { source: shippedRules });
    expect(validate.statusCode).toBe(400);

    const backwards = CUSTOM_POLICY.replace('since: first_api_call, until: paying', 'since: paying, until: first_api_call');
    const policy = await call('PUT', '/v1/escalation-policy', { source: backwards, ...as });
    expect(policy.statusCode).toBe(400);
    expect(policy.json()).toEqual({
      errors: [
        {
          path: 'criteria.stalls[1].until',
          stall: 'not-paying',
          message: '`until` must be a later stage than `since` in the funnel ("first_api_call" is not after "paying")',
          line: 4,
          column: expect.any(Number),
        },
      ],
    });
    expect(await versions()).toEqual(before);
    // The same stall is fine the right way round.
    expect((await call('PUT', '/v1/escalation-policy', { source: CUSTOM_POLICY.replace('after: 30d', 'after: 21d'), ...as })).statusCode).toBe(201);
  });

  it('stops start-up when the rules in force name a stage the funnel in force lacks', async () => {
    // Stored behind the checks' back, as a database from before the funnel was versioned could hold.
    await t.db.pool.query(`UPDATE funnel_versions SET document = $1::jsonb`, [
      JSON.stringify({ stages: (await new FunnelStore(t.db.pool).current()).document.stages.filter((s) => s.id !== 'credential_provisioned') }),
    ]);
    await expect(ensureConfigInForce(t.db.pool, { ...FILES, templates: new EmailTemplates(resolve(import.meta.dirname, '../../templates')) })).rejects.toThrow(
      /name stages the funnel in force does not have[\s\S]*\n {2}rules v1 \(in force\): rules\[0\] \(first-call-help\) when\.stage: no stage "credential_provisioned"/,
    );
  });

  it('stops start-up when the funnel file applied as version 1 would orphan the rules already stored', async () => {
    // A database from before the funnel was versioned: rules and policy, no funnel; ONRAMP_FUNNEL_FILE names a custom one.
    await t.db.pool.query('DELETE FROM funnel_versions');
    const dir = mkdtempSync(join(tmpdir(), 'onramp-funnel-'));
    const funnelFile = join(dir, 'funnel.yaml');
    writeFileSync(funnelFile, CUSTOM_FUNNEL);
    try {
      await expect(ensureConfigInForce(t.db.pool, { ...FILES, funnelFile, templates: new EmailTemplates(resolve(import.meta.dirname, '../../templates')) })).rejects.toThrow(
        /funnel\.yaml does not fit the documents in force:\n {2}rules v1 \(in force\): rules\[0\] \(first-call-help\) when\.stage: no stage "credential_provisioned" in the funnel \(its stages: account_created, first_api_call, paying\) \(line \d+, column \d+\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(await count('funnel_versions')).toBe(0);
  });

  it.runIf(backend === 'postgres')('never leaves an orphan when a funnel dropping a stage and rules naming it are applied at once', async () => {
    // In force: rules and a policy that name no credential_provisioned, so either change alone is accepted.
    const rulesWithout = CUSTOM_RULES;
    const policyWithout = CUSTOM_POLICY.replace(/ {4}- \{ id: not-paying.*\n/, '');
    expect((await call('PUT', '/v1/rules', { source: rulesWithout, ...as })).statusCode).toBe(201);
    expect((await call('PUT', '/v1/escalation-policy', { source: policyWithout, ...as })).statusCode).toBe(201);
    const funnelWithout = shippedFunnel.replace(/ {2}- id: credential_provisioned\n(?: {4}.*\n)+/, '');
    const rulesWith = `${CUSTOM_RULES}  - id: key-help\n    when: { stage: credential_provisioned, after: 24h }\n    action: { send: first-call-help }\n`;

    // Hold the first config table's lock so both changes queue behind it, then let them race.
    const holder = new pg.Client({ connectionString: t.database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE rule_versions IN SHARE ROW EXCLUSIVE MODE');
      const funnel = call('PUT', '/v1/funnel', { source: funnelWithout, ...as });
      const rules = call('PUT', '/v1/rules', { source: rulesWith, ...as });
      await eventually(
        async () => {
          const { rows } = await holder.query<{ n: string }>(`SELECT count(*) AS n FROM pg_locks WHERE NOT granted AND relation = 'rule_versions'::regclass`);
          expect(Number(rows[0]!.n)).toBe(2);
        },
        { describe: 'both changes waiting for the config lock' },
      );
      await holder.query('COMMIT');
      const statuses = [(await funnel).statusCode, (await rules).statusCode].sort();
      expect(statuses).toEqual([201, 400]);
    } finally {
      await holder.end();
    }
    const inForce = {
      funnel: await new FunnelStore(t.db.pool).current(),
      rules: await new RuleStore(t.db.pool).current(),
      policy: await new EscalationPolicyStore(t.db.pool).current(),
    };
    expect(stageReferenceErrors(inForce.funnel.document, { rules: inForce.rules, policy: inForce.policy })).toEqual([]);
  });
});
