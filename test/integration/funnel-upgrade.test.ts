import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureConfigInForce, type ConfigFiles } from '../../src/funnel/config-in-force.ts';
import { SHIPPED_FUNNEL_FILE } from '../../src/funnel/funnel-file.ts';
import { EmailTemplates } from '../../src/mail/email-templates.ts';
import { CUSTOM_FUNNEL, CUSTOM_POLICY, CUSTOM_RULES } from '../support/custom-funnel-documents.ts';
import { openMigratedDatabase, type MigratedDatabase } from '../support/migrated-database.ts';
import { databaseBackends } from '../support/test-databases.ts';

/**
 * ONRAMP_FUNNEL_FILE at the first start with funnel versions: on a new installation the file is
 * version 1; on one upgraded from before funnel versions, whose stored stages are the shipped
 * funnel's (version 1 in their rows), the shipped funnel is version 1 and the file version 2,
 * recomputed for everyone.
 */
describe.each(databaseBackends())('the first funnel file (%s)', (backend) => {
  let dir: string;
  let files: ConfigFiles;
  const opened: MigratedDatabase[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onramp-funnel-upgrade-'));
    files = {
      funnelFile: join(dir, 'funnel.yaml'),
      rulesFile: join(dir, 'rules.yaml'),
      escalationFile: join(dir, 'escalation.yaml'),
      templates: new EmailTemplates(resolve(import.meta.dirname, '../../templates')),
    };
    await writeFile(files.funnelFile, CUSTOM_FUNNEL);
    await writeFile(files.rulesFile, CUSTOM_RULES);
    await writeFile(files.escalationFile, CUSTOM_POLICY);
  });
  afterAll(async () => {
    await Promise.all(opened.map((database) => database.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function database() {
    const database = await openMigratedDatabase(backend);
    opened.push(database);
    return database.db.pool;
  }
  const versions = async (pool: Awaited<ReturnType<typeof database>>) =>
    (await pool.query<{ version: number; source: string; author: string }>('SELECT version, source, author FROM funnel_versions ORDER BY version')).rows;
  const recomputations = async (pool: Awaited<ReturnType<typeof database>>) =>
    (await pool.query<{ funnel_version: number; status: string }>('SELECT funnel_version, status FROM funnel_recomputations')).rows;

  it('is version 1 of a new installation, nothing to recompute', async () => {
    const pool = await database();
    const { funnel } = await ensureConfigInForce(pool, files);
    expect(funnel.version).toBe(1);
    expect(await versions(pool)).toEqual([{ version: 1, source: CUSTOM_FUNNEL, author: 'onramp' }]);
    expect(await recomputations(pool)).toEqual([]);
  });

  it('comes in as version 2 over the shipped funnel where stages were recorded before, recomputed; once', async () => {
    const pool = await database();
    await pool.query(`INSERT INTO journey_stages (developer_id, stage, reached_at, cause_event_id) VALUES ('dev_before', 'credential_provisioned', now(), 'k1')`);
    const { funnel, rules } = await ensureConfigInForce(pool, files);
    expect(funnel).toMatchObject({ version: 2, source: CUSTOM_FUNNEL });
    expect(rules.source).toBe(CUSTOM_RULES);
    const shipped = await readFile(SHIPPED_FUNNEL_FILE, 'utf8');
    expect(await versions(pool)).toEqual([
      { version: 1, source: shipped, author: 'onramp' },
      { version: 2, source: CUSTOM_FUNNEL, author: 'onramp' },
    ]);
    expect(await recomputations(pool)).toEqual([{ funnel_version: 2, status: 'running' }]);
    const audit = await pool.query<{ subject: string }>(`SELECT subject FROM audit_log WHERE action = 'funnel.applied' ORDER BY id`);
    expect(audit.rows.map((r) => r.subject)).toEqual(['funnel v1', 'funnel v2']);

    // The next start changes nothing.
    expect((await ensureConfigInForce(pool, files)).funnel.version).toBe(2);
    expect(await versions(pool)).toHaveLength(2);
  });

  it('applies the file at the next start when a start stopped after storing the shipped funnel', async () => {
    const pool = await database();
    await pool.query(`INSERT INTO stage_evidence (developer_id, stage, occurred_at, event_id) VALUES ('dev_before', 'account_created', now(), 's1')`);
    // The first start's first step only: the shipped funnel as version 1, as the upgrade stores it.
    await ensureConfigInForce(pool, {
      ...files,
      funnelFile: SHIPPED_FUNNEL_FILE,
      rulesFile: resolve(import.meta.dirname, '../../config/rules.yaml'),
      escalationFile: resolve(import.meta.dirname, '../../config/escalation.yaml'),
    });
    await pool.query(`DELETE FROM rule_versions; DELETE FROM escalation_policy_versions`);
    expect(await versions(pool)).toHaveLength(1);
    const { funnel } = await ensureConfigInForce(pool, files);
    expect(funnel).toMatchObject({ version: 2, source: CUSTOM_FUNNEL });
  });
});
