import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { openDatabase, type Database } from '../db/database.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../db/embedded-postgres.ts';
import { applyMigrations } from '../db/migrate.ts';
import { migratedCluster } from '../db/migrated-cluster.ts';
import type { IngestEvent } from '../events/event-schemas.ts';
import { outboxMailer } from '../mail/mailer.ts';
import { FunnelStore } from '../funnel/funnel-store.ts';
import { EscalationPolicyStore } from '../rules/escalation-policy-store.ts';
import { RuleStore } from '../rules/rule-store.ts';
import { startTimeSkippingServer } from '../temporal/time-skipping-server.ts';
import { assembleOnramp } from '../assembly/assemble-onramp.ts';
import type { RiskCrossings } from '../journey/risk-crossings.ts';

/**
 * A throwaway copy of Onramp for the rule preview: an in-memory PostgreSQL (PGlite) with the
 * migrations, the funnel, the candidate rules and an escalation policy; the time-skipping Temporal test
 * server running the real journey workflow and activities; the real ingestor and outbox
 * dispatcher. Emails go to the sandbox's own outbox table (nothing leaves the process) and there
 * is no Slack: cases live in the sandbox's tables. Everything is gone after `close()`.
 */

export interface SandboxOptions {
  /** The funnel the journeys follow (YAML, already validated by the caller): the one in force, or a candidate. */
  funnelSource: string;
  /** The candidate rules (YAML, already validated by the caller). */
  rulesSource: string;
  /** The escalation policy (YAML). */
  policySource: string;
  /** The templates folder (the sandbox stores no templates version: the folder is read). */
  templatesDir: string;
  mailFrom?: string;
  docsUrl: string;
  /** The risk criteria's crossings, measured on the real history (default: on the sandbox's own). */
  riskCrossings?: RiskCrossings;
}

export interface PreviewSandbox {
  db: Database;
  env: TestWorkflowEnvironment;
  /** Sandbox time (the test server's clock), ms since the epoch. */
  now(): Promise<number>;
  /** Advances sandbox time by `ms`: timers fire, and it waits for the work they cause. */
  advance(ms: number): Promise<void>;
  /** Ingests events as a live feed would, then hands every signal they queued to the journeys. */
  ingest(events: IngestEvent[]): Promise<void>;
  close(): Promise<void>;
}

const BATCH = 1000;

export async function startPreviewSandbox(options: SandboxOptions): Promise<PreviewSandbox> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const closeOne of closers.reverse()) await closeOne().catch(() => {});
  };
  try {
    // In memory, from the migrated cluster: the migrations then find nothing to do.
    const postgres: EmbeddedPostgres = await startEmbeddedPostgres({ loadDataDir: await migratedCluster() });
    closers.push(() => postgres.stop());
    await applyMigrations(postgres.url);
    const db = openDatabase(postgres.url, { max: 1 });
    closers.push(() => db.close());
    // The funnel first: the rules and the policy are checked against it.
    for (const [store, source, what] of [
      [new FunnelStore(db.pool), options.funnelSource, 'funnel'],
      [new RuleStore(db.pool), options.rulesSource, 'rules'],
      [new EscalationPolicyStore(db.pool), options.policySource, 'escalation policy'],
    ] as const) {
      const applied = await store.apply({ source, author: 'onramp rules preview', reason: 'preview' });
      if (!applied.ok) throw new Error(`the ${what} could not be stored in the sandbox: ${applied.errors.map((e) => e.message).join('; ')}`);
    }

    const env = await startTimeSkippingServer();
    closers.push(() => env.teardown());
    const onramp = await assembleOnramp({
      db,
      temporal: env.client,
      // Rounds are delivered by `ingest`, which waits for them.
      dispatcher: { run: false },
      worker: {
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        nudges: {
          mailer: outboxMailer(),
          templatesDir: options.templatesDir,
          from: options.mailFrom,
          publicUrl: 'http://onramp.preview',
          // Links in sandbox emails are never followed: any secret signs them.
          signingSecret: randomBytes(32).toString('base64url'),
          // Nobody opens a sandbox email: its HTML stays as the template rendered it.
          tracking: { html: false, text: false },
          docsUrl: options.docsUrl,
        },
        handoffs: { publicUrl: 'http://onramp.preview' },
        ...(options.riskCrossings ? { riskCrossings: options.riskCrossings } : {}),
      },
    });
    closers.push(() => onramp.stop());
    const { ingestor, dispatcher } = onramp;
    return {
      db,
      env,
      now: () => env.currentTimeMs(),
      advance: (ms) => (ms > 0 ? env.sleep(ms) : Promise.resolve()),
      async ingest(events) {
        for (let i = 0; i < events.length; i += BATCH) await ingestor.ingest(events.slice(i, i + BATCH));
        while ((await dispatcher.deliverOnce()) > 0);
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
