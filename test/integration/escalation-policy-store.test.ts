import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { NoConfigVersionError } from '../../src/rules/versioned-config-store.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';

/** The escalation policy goes through the same versioned store as the rules (rule-store.test.ts covers locking and concurrency). */

const policyFile = fileURLToPath(new URL('../../config/escalation.yaml', import.meta.url));
const shipped = readFileSync(policyFile, 'utf8');
const changed = shipped.replace('claimSla: 4h ', 'claimSla: 2h ');
const notActiveLine = shipped.split('\n').findIndex((line) => line.includes('id: not-active')) + 1;
const invalid = shipped.replace('until: active_integration, after: 14d', 'until: active_integration, after: fortnight');

describe.each(databaseBackends())('EscalationPolicyStore on %s', (backend) => {
  let database: MigratedDatabase;
  let db: Database;
  let store: EscalationPolicyStore;

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    ({ db } = database);
    store = new EscalationPolicyStore(db.pool);
  });

  afterAll(async () => {
    await database?.close();
  });

  // Each test starts from no version and stores the ones it needs.
  beforeEach(async () => {
    await db.pool.query('DELETE FROM escalation_policy_versions');
  });
  /** The shipped file as version 1, `changed` as version 2. */
  async function atVersion2() {
    await store.ensureInitialVersion(policyFile);
    expect(await store.apply({ source: changed, author: 'grace', reason: 'claim sooner' })).toMatchObject({ ok: true, version: { version: 2 } });
  }

  it('has no version before the first', async () => {
    await expect(store.current()).rejects.toBeInstanceOf(NoConfigVersionError);
    await expect(store.current()).rejects.toThrow('no escalation policy version stored yet');
    expect(await store.active()).toBeUndefined();
  });

  it('refuses an invalid file as version 1, naming the stall, the field and the line, and stores nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-policy-'));
    try {
      const file = join(dir, 'escalation.yaml');
      writeFileSync(file, invalid);
      await expect(store.ensureInitialVersion(file)).rejects.toThrow(
        /is not a valid escalation policy file:\n {2}criteria\.stalls\[1\] \(not-active\) after: must be a positive duration .*\(line \d+, column \d+\)/,
      );
      expect(await store.history()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores the shipped file as version 1 once, in its own table', async () => {
    expect(await store.ensureInitialVersion(policyFile)).toMatchObject({ version: 1, author: 'onramp', reason: `initial escalation policy from ${policyFile}`, source: shipped });
    expect(await store.ensureInitialVersion(policyFile)).toMatchObject({ version: 1 });
    const active = await store.active();
    expect(active).toMatchObject({
      version: 1,
      document: { claimSla: '4h', levels: [{ channel: '#onboarding-help' }, { channel: '#onboarding-escalations', mention: ['S0ONBOARDING'] }] },
    });
    expect((await store.current()).diff).toMatch(/^--- escalation policy \(none\)\n\+\+\+ escalation policy v1\n/m);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM rule_versions')).rows[0].n).toBe(0);
  });

  it('applies a change as version 2 with author, reason and the diff against version 1', async () => {
    await store.ensureInitialVersion(policyFile);
    const result = await store.apply({ source: changed, author: 'grace', reason: 'claim sooner' });
    expect(result).toMatchObject({ ok: true, created: true, version: { version: 2, author: 'grace', reason: 'claim sooner', source: changed } });
    const current = await store.current();
    expect(current.document.claimSla).toBe('2h');
    expect(current.diff).toMatch(/^--- escalation policy v1\n\+\+\+ escalation policy v2\n/m);
    expect(current.diff).toMatch(/^-claimSla: 4h /m);
    expect(current.diff).toMatch(/^\+claimSla: 2h /m);
    expect(await store.active()).toEqual({ version: 2, document: current.document });
  });

  it('rejects an invalid source whole, with field, stall and line, and leaves the running version', async () => {
    await atVersion2();
    const result = await store.apply({ source: invalid, author: 'grace', reason: 'typo' });
    expect(result).toEqual({
      ok: false,
      errors: [
        { path: 'criteria.stalls[1].after', stall: 'not-active', message: expect.stringMatching(/^must be a positive duration/), line: notActiveLine, column: expect.any(Number) },
      ],
    });
    expect((await store.current()).version).toBe(2);
  });

  it('stores nothing for a source identical to the running one, and lists history newest first', async () => {
    await atVersion2();
    expect(await store.apply({ source: changed, author: 'grace', reason: 'again' })).toMatchObject({ ok: true, created: false, version: { version: 2 } });
    const history = await store.history();
    expect(history.map((h) => [h.version, h.author])).toEqual([
      [2, 'grace'],
      [1, 'onramp'],
    ]);
    expect(await store.get(1)).toMatchObject({ version: 1, source: shipped });
    expect(await store.get(3)).toBeUndefined();
  });
});
