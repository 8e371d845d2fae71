import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';

export interface EventuallyOptions<T> {
  /** What the test waits for, for the failure message: "journey dev_1 reached first_api_call" (a function: computed at the failure, e.g. with logs). */
  describe: string | (() => string);
  /** How long to keep trying, in ms (default 30 s). */
  timeout?: number;
  /** Between attempts, in ms (default 100). */
  interval?: number;
  /** When given, `fn`'s value must also satisfy it (otherwise only not throwing counts). */
  until?: (value: T) => boolean;
}

/**
 * Calls `fn` until it returns without throwing (and its value satisfies `until`, if given), and
 * returns that value. `fn` may assert with `expect`. On timeout it fails with `describe` and what
 * the last attempt saw (its error or its value), so no wait gives up silently.
 */
export async function eventually<T>(fn: () => T | Promise<T>, { describe, timeout = 30_000, interval = 100, until }: EventuallyOptions<T>): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    let seen: string;
    let cause: unknown;
    try {
      const value = await fn();
      if (!until || until(value)) return value;
      seen = inspect(value, { depth: 6, breakLength: Infinity });
    } catch (error) {
      cause = error;
      seen = error instanceof Error ? error.message : inspect(error, { depth: 6 });
    }
    if (Date.now() >= deadline) throw new Error(`not within ${timeout / 1000} s: ${typeof describe === 'function' ? describe() : describe}\nlast seen: ${seen}`, { cause });
    await sleep(interval);
  }
}
