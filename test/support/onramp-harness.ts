import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import type { OnrampApp } from '../../src/api/build-app.ts';
import { openDatabase, type Database } from '../../src/db/database.ts';
import type { PrismaClient } from '../../src/generated/prisma/client.ts';
import type { OutboxDispatcher } from '../../src/ingest/outbox-dispatcher.ts';
import { EscalationPolicyStore } from '../../src/rules/escalation-policy-store.ts';
import { RuleStore } from '../../src/rules/rule-store.ts';
import { SHIPPED_FUNNEL_FILE } from '../../src/funnel/funnel-file.ts';
import { FunnelStore } from '../../src/funnel/funnel-store.ts';
import { startTemporalDevServer } from '../../src/temporal/dev-server.ts';
import { startProductionTemporal, type ProductionTemporal } from '../../src/temporal/production-server.ts';
import { assembleOnramp, type AssemblyOptions } from '../../src/assembly/assemble-onramp.ts';
import { eventually } from './eventually.ts';
import { freePort } from '../../src/temporal/free-port.ts';
import { createMigratedTestDatabase } from './migrated-database.ts';
import type { DatabaseBackend, TestDatabase } from './test-databases.ts';
import type { SlackGateway } from '../../src/slack/slack-gateway.ts';
import { testHandoffDeps } from './handoff-deps.ts';
import { SIGNING_SECRET, testNudgeDeps } from './nudge-deps.ts';
import { journeyWorkflowBundle } from './workflow-bundle.ts';
import { journeyWorkflowId } from '../../workflows/journey-messages.ts';

export const INGEST_KEY = 'test-ingest-key-0123456789';
export const ADMIN_KEY = 'test-admin-key-0123456789';
export const AGENT_KEY = 'test-agent-key-0123456789';
/** The shipped rules, stored as version 1 by `start()` (after the shipped funnel). */
export const RULES_FILE = fileURLToPath(new URL('../../config/rules.yaml', import.meta.url));
/** The shipped escalation policy, stored as version 1 by `start()`. */
export const ESCALATION_FILE = fileURLToPath(new URL('../../config/escalation.yaml', import.meta.url));

/**
 * `ONRAMP_TEST_TEMPORAL=production` runs the harness's suites on the production Temporal server
 * (PostgreSQL persistence, built by setup into .tools/go; its databases on TEST_DATABASE_URL's
 * server) instead of the dev server: `.ci/run` runs the integration suites both ways.
 */
const temporalFlavour = process.env.ONRAMP_TEST_TEMPORAL === 'production' ? 'production' : 'dev';

/** Where the harness's Temporal runs: stop and start keep its data and its port. */
interface TemporalServer {
  address: string;
  stop(): Promise<void>;
}

/**
 * The whole system for integration tests, from real parts: a Temporal server (the dev server, or
 * the production one: `temporalFlavour`), a fresh
 * database on the given backend with the migrations applied, the worker running the bundled
 * workflow, the dispatcher and the HTTP app (driven through `app.inject`).
 */
export class OnrampHarness {
  app!: OnrampApp;
  db!: Database;
  prisma!: PrismaClient;
  temporal!: Client;
  dispatcher!: OutboxDispatcher;
  private temporalServer!: TemporalServer;
  private production: ProductionTemporal | undefined;
  private database!: TestDatabase;
  private stopWorker!: () => Promise<void>;
  private stopIngest!: () => Promise<void>;
  private nativeConnection!: NativeConnection;
  private connection!: Connection;
  private readonly temporalDir = mkdtempSync(join(tmpdir(), 'onramp-temporal-'));
  private temporalPort = 0;

  constructor(
    readonly backend: DatabaseBackend,
    /** Slack for the handoff: the signing secret the API verifies, the client the worker and API use. */
    private readonly slack: { signingSecret?: string; gateway?: SlackGateway } = {},
    /** The API's and the dispatcher's logger (default: silent); the webhook dispatcher's options. */
    private readonly options: { logger?: Logger; webhooks?: AssemblyOptions['webhooks'] } = {},
  ) {}

  async start(): Promise<this> {
    this.database = await createMigratedTestDatabase(this.backend);
    this.db = openDatabase(this.database.url, { max: this.database.maxConnections });
    this.prisma = this.db.prisma;
    await new FunnelStore(this.db.pool).ensureInitialVersion(SHIPPED_FUNNEL_FILE);
    await new RuleStore(this.db.pool).ensureInitialVersion(RULES_FILE);
    await new EscalationPolicyStore(this.db.pool).ensureInitialVersion(ESCALATION_FILE);
    // A free port is free only when asked: until the server binds it, an outgoing connection of a
    // test running beside this one may take it (the same ephemeral range). Then a fresh port.
    for (let attempt = 1; ; attempt++) {
      this.temporalPort = await freePort();
      try {
        await this.startTemporal();
        break;
      } catch (error) {
        if (attempt === 3 || !/already in use/.test(String(error))) throw error;
      }
    }
    // One client for the whole run: its gRPC channel reconnects when the server comes back.
    this.connection = await Connection.connect({ address: this.temporalServer.address });
    this.temporal = new Client({ connection: this.connection });
    const logger = this.options.logger ?? pino({ level: 'silent' });
    const onramp = await assembleOnramp({
      db: this.db,
      logger,
      temporal: this.temporal,
      dispatcher: { pollIntervalMs: 200 },
      webhooks: { pollIntervalMs: 100, ...this.options.webhooks },
      api: { ingestKeys: [INGEST_KEY], adminKeys: [ADMIN_KEY], agentKeys: [AGENT_KEY], signingSecret: SIGNING_SECRET, slack: this.slack },
    });
    this.app = onramp.app;
    this.dispatcher = onramp.dispatcher;
    this.stopIngest = onramp.stop;
    return this;
  }

  /** Starts (or restarts, on the same data and port) the Temporal server and the worker. */
  async startTemporal(): Promise<void> {
    this.temporalServer =
      temporalFlavour === 'production'
        ? await this.startProductionTemporal()
        : await startTemporalDevServer({ dataDir: this.temporalDir, port: this.temporalPort, uiPort: await freePort() });
    this.nativeConnection = await NativeConnection.connect({ address: this.temporalServer.address });
    const onramp = await assembleOnramp({
      db: this.db,
      worker: {
        connection: this.nativeConnection,
        namespace: 'default',
        nudges: testNudgeDeps(this.db.pool),
        handoffs: testHandoffDeps(this.db.pool, this.slack.gateway ? { slack: this.slack.gateway } : {}),
        rulesTtlMs: 0,
        workflowBundle: journeyWorkflowBundle(),
      },
    });
    this.stopWorker = onramp.stop;
  }

  private async startProductionTemporal(): Promise<TemporalServer> {
    if (this.production) {
      await this.production.start();
      return this.production;
    }
    const admin = process.env.TEST_DATABASE_URL;
    if (!admin) throw new Error("ONRAMP_TEST_TEMPORAL=production needs TEST_DATABASE_URL (a PostgreSQL server for Temporal's databases)");
    const url = new URL(admin);
    this.production = await startProductionTemporal({
      postgres: { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) },
      databasePrefix: `harness_${process.pid}_${this.temporalPort}`,
      dir: this.temporalDir,
      // Three test files side by side, each with its own server, on one PostgreSQL (100 connections).
      maxConnections: 6,
    });
    return this.production;
  }

  async stopTemporal(): Promise<void> {
    await this.stopWorker();
    await this.nativeConnection.close();
    await this.temporalServer.stop();
  }

  post(body: unknown, headers: Record<string, string> = {}) {
    return this.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${INGEST_KEY}`, 'content-type': 'application/json', ...headers },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
  }

  /** The form POST of an unsubscribe link (`url`: its path and query); by default the one-click one (RFC 8058). */
  unsubscribe(url: string, payload = 'List-Unsubscribe=One-Click') {
    return this.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });
  }

  async journey(developerId: string) {
    const response = await this.app.inject({ method: 'GET', url: `/v1/developers/${encodeURIComponent(developerId)}/journey`, headers: { authorization: `Bearer ${INGEST_KEY}` } });
    return { status: response.statusCode, body: response.json() };
  }

  /** Polls the journey until `done` holds (the path is asynchronous: outbox → Temporal → activity). */
  waitForJourney(developerId: string, done: (journey: any) => boolean, timeout = 30_000) {
    return eventually(() => this.journey(developerId), { until: ({ status, body }) => status === 200 && done(body), timeout, describe: `journey ${developerId} settled` }).then(
      ({ body }) => body,
    );
  }

  /**
   * Waits until the journey has nothing left to do now: its signals delivered from the outbox and
   * no activity pending in Temporal (a positive sign that no send, post or record is still coming).
   */
  async waitForIdle(developerId: string, timeout = 30_000): Promise<void> {
    await this.waitForJourney(developerId, (j) => j.pendingSignals === 0, timeout);
    const handle = this.temporal.workflow.getHandle(journeyWorkflowId(developerId));
    await eventually(async () => (await handle.describe()).raw.pendingActivities ?? [], {
      until: (pending) => pending.length === 0,
      timeout,
      describe: `journey ${developerId} has no activity pending`,
    });
  }

  async count(table: string): Promise<number> {
    const rows = await this.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM ${table}`);
    return Number(rows[0]!.n);
  }

  async stop(): Promise<void> {
    await this.stopIngest?.();
    await this.stopTemporal().catch(() => undefined);
    await this.connection?.close();
    await this.db?.close();
    await this.database?.drop();
    await this.production?.drop();
    rmSync(this.temporalDir, { recursive: true, force: true });
  }
}
