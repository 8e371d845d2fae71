import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls to a running Onramp API from the CLI's load tools (simulate): JSON in and out, and the
 * retries a feed needs — a 503 (database down) or 429 waits for its `Retry-After`, a 5xx or a
 * refused connection backs off — so an outage delays the feed and loses nothing. Sending the
 * same events again is harmless: event ids are idempotency keys.
 */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly key: string,
    private readonly options: { attempts?: number; maxBackoffMs?: number } = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  async get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  async post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const attempts = this.options.attempts ?? 12;
    for (let attempt = 1; ; attempt++) {
      let waitMs = Math.min(this.options.maxBackoffMs ?? 10_000, 250 * 2 ** (attempt - 1));
      let failure: string;
      try {
        const response = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${this.key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        if (response.ok) return (text ? JSON.parse(text) : undefined) as T;
        failure = `${method} ${path}: ${response.status} ${text.slice(0, 500)}`;
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable) throw new ApiError(failure, response.status);
        const retryAfter = Number(response.headers.get('retry-after'));
        if (retryAfter > 0) waitMs = retryAfter * 1000;
      } catch (error) {
        if (error instanceof ApiError) throw error;
        failure = unreachableMessage(this.baseUrl, error);
      }
      if (attempt >= attempts) throw new ApiError(attempts === 1 ? failure : `${failure} (gave up after ${attempts} attempts)`, 0);
      await sleep(waitMs);
    }
  }
}

export class ApiError extends Error {
  constructor(
    message: string,
    /** The HTTP status; 0 when the API could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** The one message of every command whose API is out of reach: the URL tried, why, and how to point elsewhere. */
export function unreachableMessage(baseUrl: string, error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const why = cause?.code ?? cause?.message ?? (error as Error).message;
  return `onramp: cannot reach the Onramp API at ${baseUrl} (${why}). Is onramp start running? Set ONRAMP_API_URL or pass --url to call another.`;
}

/** A key from the option, else the environment, else the file the embedded default wrote. */
export function resolveKey(explicit: string | undefined, fromEnv: string | undefined, file: string): string | undefined {
  return explicit ?? fromEnv ?? (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);
}
