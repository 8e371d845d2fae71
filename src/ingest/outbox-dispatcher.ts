import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { JourneyEvent } from '../journey/journey-event.ts';
import { feedJourney } from '../temporal/journey-client.ts';
import { workflowTaskBacklog } from '../temporal/task-queue-backlog.ts';
import { TASK_QUEUE } from '../../workflows/journey-messages.ts';
import { forEachConcurrently, PollingLoop } from '../db/polling-loop.ts';
import { outboxSignalsDelivered } from '../metrics/process-metrics.ts';

export interface OutboxDispatcherOptions {
  prisma: PrismaClient;
  temporal: Client;
  logger: Logger;
  /** Rows claimed per round. */
  batchSize?: number;
  /** signalWithStart calls in flight at once. */
  concurrency?: number;
  /** Idle poll interval; `wake()` cuts it short after an ingest commits. */
  pollIntervalMs?: number;
  /** How long a claimed row stays invisible to other dispatchers. */
  leaseSeconds?: number;
  /**
   * Workflow tasks waiting in the journeys' task queue at which no more rows are claimed until
   * the workers have taken some (default 200; 0: no limit). See `OutboxDispatcher`.
   */
  maxTaskBacklog?: number;
}

/** How long a dispatcher that found the task queue full waits before it asks again. */
const FULL_BACKOFF_MS = 500;
/**
 * Journeys signalled in one round from which the next round asks the task queue first. Live
 * traffic delivers a few at a time and never asks (no round trip added to an event's way to its
 * journey); a backlog delivers hundreds a round and asks every round.
 */
const ASK_AFTER_JOURNEYS = 50;

/**
 * Claims up to $1 pending rows for $2 seconds, skipping those of a developer after its first row
 * this claim cannot take: a row another dispatcher holds (claimed, or being claimed: locked) or
 * one backing off. Without that, a developer's later signal claimed here could reach the journey
 * before earlier ones another API process is still delivering, and the journey, which advances
 * its stage in the order it hears proofs, would record the earlier stages as late instead of as
 * transitions. The rows stay pending until the older ones are delivered (deleted). `held` looks
 * each candidate's developer up in the (developer_id, id) index, not a scan of a backlog.
 */
const CLAIM = `
WITH candidates AS MATERIALIZED (
  SELECT id, developer_id FROM outbox_signals WHERE available_at <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
), held AS (
  SELECT developer_id, min(id) AS first_id FROM outbox_signals
  WHERE developer_id IN (SELECT developer_id FROM candidates) AND id NOT IN (SELECT id FROM candidates)
  GROUP BY developer_id
)
UPDATE outbox_signals SET available_at = now() + make_interval(secs => $2), attempts = attempts + 1
WHERE id IN (SELECT c.id FROM candidates c LEFT JOIN held h USING (developer_id) WHERE h.first_id IS NULL OR c.id < h.first_id)
RETURNING id, developer_id, payload, attempts`;

interface ClaimedSignal {
  id: bigint;
  developer_id: string;
  payload: JourneyEvent;
  attempts: number;
}

/**
 * Delivers the outbox to Temporal: claims pending rows (SKIP LOCKED, so several API processes can
 * run one each), signals each developer's journey with its events (signalWithStart), deletes what
 * was delivered and backs off what failed. At-least-once: the journey ignores ids it has seen.
 * In order per developer, whichever process claims: a row is claimed only with every older row of
 * its developer (see CLAIM).
 *
 * Paced by the journeys' workers: each signalWithStart of a journey not yet running creates it
 * and queues its first workflow task, and the Temporal server shares its time between the calls in
 * flight. With a backlog of thousands in the outbox, 32 starts in flight against the few pollers a
 * worker has on the task queue gave the server's time to creating journeys, not to running them:
 * the workflow tasks queued by the thousand (a minute and more from start to first task) and the
 * journeys started at a fraction of the rate the same server runs them at (bench/RESULTS.md, the
 * backlog start). So a round claims nothing while the task queue holds `maxTaskBacklog` workflow
 * tasks or more (the server's approximate count): the outbox, not Temporal, holds the backlog, and
 * journeys start as fast as the workers run them. When the server cannot say, the round goes on.
 * It asks only after a round that signalled ASK_AFTER_JOURNEYS journeys or more (or while full).
 */
export class OutboxDispatcher {
  private readonly loop: PollingLoop;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly maxTaskBacklog: number;
  private fullUntil = 0;
  /** Whether the next round asks the task queue first: the first round, after a large round, or while it was full (not after an empty one). */
  private askFirst = true;
  /** Rounds that claimed nothing because the task queue was full. */
  pausedRounds = 0;

  constructor(private readonly options: OutboxDispatcherOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.concurrency = options.concurrency ?? 32;
    this.leaseSeconds = options.leaseSeconds ?? 60;
    this.maxTaskBacklog = options.maxTaskBacklog ?? 200;
    this.loop = new PollingLoop(
      () => this.deliverOnce(),
      options.pollIntervalMs ?? 1000,
      (error) => options.logger.warn({ err: error }, 'outbox round failed; retrying'),
    );
  }

  start(): void {
    this.loop.start();
  }

  /** Stops after the round in flight; undelivered rows stay in the outbox for the next start. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  wake(): void {
    this.loop.wake();
  }

  /** One round: returns how many signals were delivered. */
  async deliverOnce(): Promise<number> {
    const { prisma } = this.options;
    if (this.askFirst && (await this.taskQueueFull())) return 0;
    const claimed = await prisma.$queryRawUnsafe<ClaimedSignal[]>(CLAIM, this.batchSize, this.leaseSeconds);
    // An idle outbox asks nothing next round: a dispatcher polls every second, and the task queue's
    // count is a round trip to Temporal for each poll otherwise.
    if (claimed.length === 0) {
      this.askFirst = false;
      return 0;
    }
    // RETURNING has no order: restore arrival order, so each journey hears its events as sent.
    claimed.sort((a, b) => (a.id < b.id ? -1 : 1));
    const byDeveloper = new Map<string, ClaimedSignal[]>();
    for (const row of claimed) {
      const rows = byDeveloper.get(row.developer_id) ?? [];
      rows.push(row);
      byDeveloper.set(row.developer_id, rows);
    }
    this.askFirst = byDeveloper.size >= ASK_AFTER_JOURNEYS;
    const delivered: bigint[] = [];
    const failed: { rows: ClaimedSignal[]; error: string }[] = [];
    await forEachConcurrently([...byDeveloper.entries()], this.concurrency, async ([developerId, rows]) => {
      try {
        await feedJourney(
          this.options.temporal,
          developerId,
          rows.map((r) => r.payload),
        );
        delivered.push(...rows.map((r) => r.id));
      } catch (error) {
        failed.push({ rows, error: error instanceof Error ? error.message : String(error) });
      }
    });
    if (delivered.length > 0) {
      await prisma.$executeRawUnsafe(`DELETE FROM outbox_signals WHERE id = ANY($1::bigint[])`, delivered);
      outboxSignalsDelivered.inc(delivered.length);
    }
    for (const { rows, error } of failed) {
      // Exponential backoff from 1 s to 5 min; the row stays until it is delivered.
      const delay = Math.min(300, 2 ** Math.min(rows[0]!.attempts, 9));
      await prisma.$executeRawUnsafe(
        `UPDATE outbox_signals SET available_at = now() + make_interval(secs => $2), last_error = $3 WHERE id = ANY($1::bigint[])`,
        rows.map((r) => r.id),
        delay,
        error.slice(0, 2000),
      );
    }
    if (failed.length > 0) {
      this.options.logger.warn({ developers: failed.length, error: failed[0]!.error }, 'journey signals not delivered; will retry');
    }
    return delivered.length;
  }

  /** Whether the journeys' task queue holds maxTaskBacklog workflow tasks or more (asked at most every FULL_BACKOFF_MS while it does). */
  private async taskQueueFull(): Promise<boolean> {
    if (this.maxTaskBacklog <= 0) return false;
    if (Date.now() < this.fullUntil) {
      this.pausedRounds++;
      return true;
    }
    let backlog: number | undefined;
    try {
      backlog = await workflowTaskBacklog(this.options.temporal, TASK_QUEUE);
    } catch {
      return false; // Temporal unreachable: the round finds out and backs its rows off
    }
    if (backlog === undefined || backlog < this.maxTaskBacklog) return false;
    this.askFirst = true;
    this.fullUntil = Date.now() + FULL_BACKOFF_MS;
    this.pausedRounds++;
    return true;
  }
}
