import { InvalidArgumentError } from 'commander';
import { EARLIEST_INSTANT, isStorableInstant, LATEST_INSTANT } from '../events/instant.ts';

/** commander option parsers shared by the commands: each names the option in its error. */

export const positiveInt = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
  return n;
};

/** An integer from min to max: `--limit` of the list commands, as the API bounds it. */
export const intInRange = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

/** An ISO-8601 date or instant (`2026-11-01`, `2026-11-01T09:00:00Z`). */
export const instant = (name: string) => (value: string) => {
  const at = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at.getTime())) throw new InvalidArgumentError(`${name} must be an ISO-8601 date or instant, e.g. 2026-11-01`);
  if (!isStorableInstant(at.getTime())) throw new InvalidArgumentError(`${name} must lie between ${EARLIEST_INSTANT} and ${LATEST_INSTANT}`);
  return at;
};
