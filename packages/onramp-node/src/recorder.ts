import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The endpoint of a request no route matched (a 404): its raw path would make a new endpoint of
 * every id a client guesses, and Onramp counts distinct endpoints.
 */
export const UNMATCHED_ENDPOINT = '(unmatched)';

/** The package's version, sent as its User-Agent. */
export const VERSION = '0.1.0';

/** One answered request, as recorded on the request path: plain values, no formatting yet. */
export interface RecordedRequest {
  /** The route's template (`/users/:id`), never the raw path. */
  endpoint: string;
  method: string;
  status: number;
  /** When the request arrived (epoch ms). */
  startedAt: number;
  latencyMs: number;
  mode: 'test' | 'live';
  apiKey?: string | undefined;
  developerId?: string | undefined;
  userAgent?: string | undefined;
}

/** A batch Onramp did not take: `willRetry` false means its events are given up. */
export interface ShipError {
  message: string;
  /** Onramp's HTTP status; undefined for a network error or a timeout. */
  status?: number | undefined;
  events: number;
  willRetry: boolean;
}

export interface RecorderOptions {
  /** Onramp's base URL, e.g. https://onramp.example.com */
  url: string;
  /** An ingest key (`onramp keys create --source middleware`). */
  ingestKey: string;
  /** Requests held in memory at most; when full, new ones are dropped and counted (default 10,000). */
  maxQueue?: number;
  /** Events per POST /v1/events (default 500; at most 1,000, Onramp's limit). A batch over Onramp's 1 MiB body limit is sent in halves. */
  batchSize?: number;
  /** A batch is sent at the latest this long after its first request (default 5,000 ms). */
  flushIntervalMs?: number;
  /** Retries of a batch after a network error, a 429 or a 5xx before it is given up (default 8). */
  maxRetries?: number;
  /** The first retry's delay; each next one doubles, with full jitter, up to maxBackoffMs (defaults 500 ms, 30 s). A 429's or 503's Retry-After wins. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** One attempt's timeout (default 10,000 ms). */
  requestTimeoutMs?: number;
  /** Told of every batch Onramp did not take (default: a process warning for those given up). */
  onError?: (error: ShipError) => void;
}

export interface RecorderStats {
  /** Waiting in memory. */
  queued: number;
  /** In the batch being sent (or waiting for its retry). */
  inFlight: number;
  /** Stored by Onramp, and already stored (a retried batch whose first answer was lost). */
  accepted: number;
  duplicates: number;
  /** Dropped because the queue was full (or recorded after `close`). */
  dropped: number;
  /** Given up: refused by Onramp (a 4xx other than 429) or out of retries. */
  failed: number;
  /** Requests with neither key nor developer id: Onramp could not attribute them, so they are not recorded. */
  unattributed: number;
  retries: number;
  lastError: ShipError | undefined;
}

/** Onramp's limits for POST /v1/events: events, and bytes of a body. */
const MAX_BATCH = 1_000;
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * The queue and the shipper: `record` is O(1) and never waits (a push, or a count when the queue
 * is full); batches go to `POST /v1/events` one at a time, by size or by interval, retried with
 * exponential backoff and jitter on network errors, 429s and 5xx. Each event gets its id when its
 * batch is formed and keeps it through the retries, so a retry whose first answer was lost stores
 * nothing twice (Onramp is idempotent by event id). Memory is bounded by `maxQueue` plus one batch.
 */
export class OnrampRecorder {
  private queue: RecordedRequest[] = [];
  private readonly endpoint: string;
  private readonly options: Required<Omit<RecorderOptions, 'url' | 'ingestKey'>> & { ingestKey: string };
  private readonly timer: NodeJS.Timeout;
  /** The drain in progress: at most one request to Onramp is in flight. */
  private draining: Promise<void> | undefined;
  private sendSoon: NodeJS.Immediate | undefined;
  /** How many of the queue's first requests the drain under way must send whether or not they fill a batch. */
  private due = 0;
  private readonly shutdown = new AbortController();
  private counts = { inFlight: 0, accepted: 0, duplicates: 0, dropped: 0, failed: 0, unattributed: 0, retries: 0 };
  private lastError: ShipError | undefined;

  constructor({ url, ingestKey, ...options }: RecorderOptions) {
    // A base path (Onramp behind a prefix) is kept.
    this.endpoint = `${url.replace(/\/+$/, '')}/v1/events`;
    this.options = {
      ingestKey,
      maxQueue: options.maxQueue ?? 10_000,
      batchSize: Math.min(options.batchSize ?? 500, MAX_BATCH),
      flushIntervalMs: options.flushIntervalMs ?? 5_000,
      maxRetries: options.maxRetries ?? 8,
      minBackoffMs: options.minBackoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      onError: options.onError ?? warnWhenGivenUp,
    };
    // unref'd: the recorder never keeps the host process alive.
    this.timer = setInterval(() => this.drain(true), this.options.flushIntervalMs).unref();
  }

  /** Called by the adapters once a response is finished: a push or a count, nothing else. */
  record(request: RecordedRequest): void {
    if (request.apiKey === undefined && request.developerId === undefined) {
      this.counts.unattributed++;
    } else if (this.queue.length >= this.options.maxQueue || this.shutdown.signal.aborted) {
      this.counts.dropped++;
    } else {
      this.queue.push(request);
      // A full batch is sent after this request's I/O callbacks, never within them.
      if (this.queue.length >= this.options.batchSize && !this.draining) this.sendSoon ??= setImmediate(() => this.drain(false));
    }
  }

  /** Sends everything recorded so far; resolves when it was taken or given up (or `close` ran out of time). */
  async flush(): Promise<void> {
    while (this.draining || (this.queue.length > 0 && !this.shutdown.signal.aborted)) await this.drain(true);
  }

  /** Stops the timer and flushes, giving up what is still unsent after `timeoutMs` (default 10 s). */
  async close(timeoutMs = 10_000): Promise<void> {
    clearInterval(this.timer);
    const deadline = setTimeout(() => this.shutdown.abort(), timeoutMs);
    try {
      await this.flush();
    } finally {
      clearTimeout(deadline);
      this.shutdown.abort();
    }
  }

  stats(): RecorderStats {
    return { queued: this.queue.length, ...this.counts, lastError: this.lastError };
  }

  /**
   * Sends the full batches, and with `everything` what is queued now too (the interval, a flush),
   * unless a drain is under way (which then takes them); the drain in progress. Requests recorded
   * while a batch is sent wait for a full batch or the next tick: steady traffic ships full batches.
   */
  private drain(everything: boolean): Promise<void> {
    clearImmediate(this.sendSoon);
    this.sendSoon = undefined;
    if (everything) this.due = this.queue.length;
    if (!this.draining && this.queue.length > 0 && !this.shutdown.signal.aborted) {
      this.draining = this.sendQueue().finally(() => {
        this.draining = undefined;
      });
    }
    return this.draining ?? Promise.resolve();
  }

  private async sendQueue(): Promise<void> {
    while (!this.shutdown.signal.aborted && (this.queue.length >= this.options.batchSize || (this.due > 0 && this.queue.length > 0))) {
      const batch = this.queue.splice(0, this.options.batchSize);
      this.due = Math.max(0, this.due - batch.length);
      await this.ship(batch);
    }
  }

  /** One batch until Onramp takes it, refuses it, or the retries run out; over Onramp's body limit, its halves one after the other. */
  private async ship(batch: RecordedRequest[]): Promise<void> {
    const body = JSON.stringify({ events: batch.map(toEvent) });
    if (batch.length > 1 && Buffer.byteLength(body) > MAX_BODY_BYTES) {
      const half = Math.ceil(batch.length / 2);
      await this.ship(batch.slice(0, half));
      await this.ship(batch.slice(half));
      return;
    }
    this.counts.inFlight = batch.length;
    try {
      for (let attempt = 0; ; attempt++) {
        const outcome = await this.attempt(body, batch.length);
        if ('accepted' in outcome) {
          this.counts.accepted += outcome.accepted;
          this.counts.duplicates += outcome.duplicates;
          return;
        }
        const willRetry = outcome.retryable && attempt < this.options.maxRetries && !this.shutdown.signal.aborted;
        this.report({ message: outcome.message, status: outcome.status, events: batch.length, willRetry });
        if (!willRetry) {
          this.counts.failed += batch.length;
          return;
        }
        this.counts.retries++;
        const backoff = Math.random() * Math.min(this.options.maxBackoffMs, this.options.minBackoffMs * 2 ** attempt);
        try {
          await sleep(outcome.retryAfterMs ?? backoff, undefined, { signal: this.shutdown.signal });
        } catch {
          // closing ran out of time: the next attempt fails at once and the batch is given up
        }
      }
    } finally {
      this.counts.inFlight = 0;
    }
  }

  private async attempt(
    body: string,
    events: number,
  ): Promise<{ accepted: number; duplicates: number } | { retryable: boolean; message: string; status?: number | undefined; retryAfterMs?: number | undefined }> {
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.options.ingestKey}`,
          'content-type': 'application/json',
          'user-agent': `onramp-node/${VERSION}`,
          // Onramp counts these batches as the `middleware` source in GET /v1/sources.
          'x-onramp-source': 'middleware',
        },
        body,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.requestTimeoutMs), this.shutdown.signal]),
      });
    } catch (error) {
      return { retryable: true, message: error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : String(error) };
    }
    const text = await response.text().catch(() => '');
    if (response.ok) {
      // Taken; the counts as Onramp answers them (all accepted when something else answered 2xx).
      const answer = parseJson(text) as { accepted?: unknown; duplicates?: unknown } | undefined;
      return typeof answer?.accepted === 'number' && typeof answer.duplicates === 'number'
        ? { accepted: answer.accepted, duplicates: answer.duplicates }
        : { accepted: events, duplicates: 0 };
    }
    return {
      retryable: response.status === 429 || response.status >= 500,
      status: response.status,
      message: `${response.status} ${firstError(text)}`.trim(),
      retryAfterMs: retryAfter(response.headers.get('retry-after'), this.options.maxBackoffMs),
    };
  }

  private report(error: ShipError): void {
    this.lastError = error;
    try {
      this.options.onError(error);
    } catch {
      // the host's hook must not stop the shipper
    }
  }
}

/** The `api.request` event of a recorded request (docs/reference/events.md), with a fresh id. */
function toEvent(r: RecordedRequest) {
  return {
    id: `mw:${randomUUID()}`,
    type: 'api.request',
    occurredAt: new Date(r.startedAt).toISOString(),
    ...(r.developerId === undefined ? {} : { developerId: r.developerId }),
    properties: {
      ...(r.apiKey === undefined ? {} : { apiKey: r.apiKey }),
      endpoint: r.endpoint.slice(0, 512),
      method: r.method.slice(0, 16),
      status: r.status,
      ...(r.userAgent === undefined ? {} : { userAgent: r.userAgent.slice(0, 1024) }),
      mode: r.mode,
      latencyMs: Math.round(r.latencyMs * 1000) / 1000,
    },
  };
}

/** Retry-After in seconds or as an HTTP date, in ms, at most `cap`; undefined when absent or unreadable. */
function retryAfter(header: string | null, cap: number): number | undefined {
  if (header === null) return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) ? Math.min(Math.max(ms, 0), cap) : undefined;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function firstError(text: string): string {
  const errors = (parseJson(text) as { errors?: unknown } | null | undefined)?.errors;
  const first = Array.isArray(errors) ? (errors[0] as { path?: string; message?: string } | undefined) : undefined;
  return first ? `${first.path ? `${first.path}: ` : ''}${first.message ?? ''}` : '';
}

function warnWhenGivenUp(error: ShipError): void {
  if (!error.willRetry) process.emitWarning(`onramp: ${error.events} request events given up: ${error.message}`, 'OnrampWarning');
}
