import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.ts';
import { NoRulesError, RuleStore } from '../../src/rules/rule-store.ts';
import { databaseBackends } from '../support/test-databases.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';

const rulesFile = fileURLToPath(new URL('../../config/rules.yaml', import.meta.url));
const shipped = readFileSync(rulesFile, 'utf8');
const changed = shipped.replace('when: { stage: first_api_call, after: 3d }', 'when: { stage: first_api_call, after: 2d }');
const invalid = shipped.replace('when: { stage: first_api_call, after: 3d }', 'when: { stage: first_api_call, after: someday }');

describe.each(databaseBackends())('RuleStore on %s', (backend) => {
  let database: MigratedDatabase;
  let db: Database;
  let other: Database;
  let store: RuleStore;

  beforeAll(async () => {
    database = await openMigratedDatabase(backend);
    ({ db } = database);
    // A second process's pool; PGlite serves one connection at a time, so there it is the same.
    other = backend === 'postgres' ? openDatabase(database.url, { max: database.maxConnections }) : db;
    store = new RuleStore(db.pool);
  });

  afterAll(async () => {
    if (other !== db) await other?.close();
    await database?.close();
  });

  // Each test starts from no version and stores the ones it needs.
  beforeEach(async () => {
    await db.pool.query('DELETE FROM rule_versions');
  });
  /** The shipped file as version 1, `changed` as version 2. */
  async function atVersion2() {
    await store.ensureInitialVersion(rulesFile);
    expect(await store.apply({ source: changed, author: 'grace', reason: 'developers stall sooner' })).toMatchObject({ ok: true, version: { version: 2 } });
  }
  /** Versions 3 to 7 after `atVersion2`, each a different holdout. */
  const holdoutChanges = [1, 2, 3, 4, 5].map((n) => changed.replace('holdoutPercent: 10', `holdoutPercent: ${10 + n}`));

  it('has no current version before the first', async () => {
    await expect(store.current()).rejects.toBeInstanceOf(NoRulesError);
    expect(await store.history()).toEqual([]);
  });

  it('refuses an invalid rules file as version 1, naming the rule, and stores nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onramp-rules-'));
    try {
      const file = join(dir, 'rules.yaml');
      writeFileSync(file, invalid);
      await expect(store.ensureInitialVersion(file)).rejects.toThrow(/rules\[2\] \(explore-the-api\) when\.after: must be a positive duration/);
      expect(await store.history()).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores the rules file as version 1 once, even when two processes start together', async () => {
    const [a, b] = await Promise.all([store.ensureInitialVersion(rulesFile), new RuleStore(other.pool).ensureInitialVersion(rulesFile)]);
    expect(a.version).toBe(1);
    expect(b.version).toBe(1);
    expect(await store.ensureInitialVersion(rulesFile)).toMatchObject({ version: 1 });
    const current = await store.current();
    expect(current).toMatchObject({ version: 1, author: 'onramp', reason: `initial rules from ${rulesFile}`, source: shipped });
    expect(current.document.rules.find((r) => r.id === 'explore-the-api')?.when).toEqual({ stage: 'first_api_call', after: '3d' });
    expect(current.diff).toContain('+  - id: first-call-help');
    expect(await store.history()).toHaveLength(1);
  });

  it('applies a change as version 2 with author, reason and the diff against version 1', async () => {
    await store.ensureInitialVersion(rulesFile);
    const result = await store.apply({ source: changed, author: 'grace', reason: 'developers stall sooner' });
    expect(result).toMatchObject({ ok: true, created: true, version: { version: 2, author: 'grace', reason: 'developers stall sooner', source: changed } });
    const current = await store.current();
    expect(current.version).toBe(2);
    expect(current.createdAt).toBeInstanceOf(Date);
    expect(current.document.rules.find((r) => r.id === 'explore-the-api')?.when).toEqual({ stage: 'first_api_call', after: '2d' });
    expect(current.diff).toMatch(/^--- rules v1\n\+\+\+ rules v2\n/m);
    expect(current.diff).toContain('-    when: { stage: first_api_call, after: 3d }');
    expect(current.diff).toContain('+    when: { stage: first_api_call, after: 2d }');
  });

  it('rejects an invalid source whole and leaves the running version', async () => {
    await atVersion2();
    const result = await store.apply({ source: invalid, author: 'grace', reason: 'typo' });
    expect(result).toEqual({ ok: false, errors: [expect.objectContaining({ path: 'rules[2].when.after', rule: 'explore-the-api' })] });
    expect((await store.current()).version).toBe(2);
    expect(await store.history()).toHaveLength(2);
  });

  it('stores nothing for a source identical to the running one', async () => {
    await atVersion2();
    const result = await store.apply({ source: changed, author: 'grace', reason: 'again' });
    expect(result).toMatchObject({ ok: true, created: false, version: { version: 2, reason: 'developers stall sooner' } });
    expect(await store.history()).toHaveLength(2);
  });

  it('gives concurrent applies distinct versions, each diffed against the one before it', async () => {
    await atVersion2();
    const stores = [store, new RuleStore(other.pool)];
    const results = await Promise.all(holdoutChanges.map((source, i) => stores[i % 2]!.apply({ source, author: `author-${i}`, reason: `change ${i}` })));
    const versions = results.map((r) => (r.ok ? r.version.version : 0)).sort((a, b) => a - b);
    expect(versions).toEqual([3, 4, 5, 6, 7]);
    const history = await store.history();
    for (const entry of history.slice(0, 5)) {
      const source = (await store.get(entry.version))!.source;
      const previous = (await store.get(entry.version - 1))!.source;
      const percent = (text: string) => /holdoutPercent: (\d+)/.exec(text)![1];
      expect(entry.diff).toContain(`-  holdoutPercent: ${percent(previous)}`);
      expect(entry.diff).toContain(`+  holdoutPercent: ${percent(source)}`);
    }
  });

  it('lists history newest first and keeps old versions readable', async () => {
    await atVersion2();
    for (const [i, source] of holdoutChanges.entries()) await store.apply({ source, author: `author-${i}`, reason: `change ${i}` });
    const history = await store.history();
    expect(history.map((h) => h.version)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(history.at(-1)).toMatchObject({ version: 1, author: 'onramp' });
    expect(history[0]).toEqual({ version: 7, author: expect.any(String), reason: expect.any(String), createdAt: expect.any(Date), diff: expect.any(String) });
    const first = await store.get(1);
    expect(first).toMatchObject({ version: 1, source: shipped });
    expect(first!.document.rules).toHaveLength(7);
    expect(await store.get(99)).toBeUndefined();
  });
});
