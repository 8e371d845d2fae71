import { z } from 'zod';

/**
 * The one schema for every instant the API accepts (event times, query bounds): ISO-8601 with a
 * time zone, in years 0001–9999, and on the first and last of those days written in UTC (so no
 * offset carries it out of the range). That is what `toISOString()` writes without a sign and what
 * PostgreSQL reads back as timestamptz: the ISO pattern alone also admits year 0000 (and an offset
 * can push 0001-01-01 or 9999-12-31 across the edge), which PostgreSQL refused with a 500 half-way
 * through a request. The rule is a pattern, so that the OpenAPI document states it exactly.
 */

export const EARLIEST_INSTANT = '0001-01-01T00:00:00.000Z';
export const LATEST_INSTANT = '9999-12-31T23:59:59.999Z';

const EARLIEST_MS = Date.parse(EARLIEST_INSTANT);
const LATEST_MS = Date.parse(LATEST_INSTANT);

/** For instants that arrive as Dates (options, cursors): inside the range the schemas accept. */
export function isStorableInstant(ms: number): boolean {
  return ms >= EARLIEST_MS && ms <= LATEST_MS;
}

/** Not year 0000; not the first or the last day with an offset other than ±00:00. */
const IN_RANGE = /^(?!0000-|0001-01-01T[^Z]*[+-](?!00:00)|9999-12-31T[^Z]*[+-](?!00:00))/;
const RANGE_MESSAGE = `must lie between ${EARLIEST_INSTANT} and ${LATEST_INSTANT} (on 0001-01-01 and 9999-12-31 written in UTC)`;

/** Only once the format holds: a malformed value gets the format's message alone. */
const formatHeld = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };
const inRange = { allOf: [{ pattern: IN_RANGE.source }] };

/** An ISO-8601 date-time with a zone (`2026-11-01T10:00:00Z`, `…+02:00`), inside the storable range. */
export const isoInstant = z.iso
  .datetime({ offset: true, message: 'must be an ISO-8601 date-time with a time zone, e.g. 2026-11-01T10:00:00Z' })
  .refine((value) => IN_RANGE.test(value), { message: RANGE_MESSAGE, ...formatHeld })
  .meta(inRange);

/** A calendar day (`2026-11-02`, read as UTC), inside the storable range. */
export const isoDay = z.iso
  .date()
  .refine((value) => IN_RANGE.test(value), { message: RANGE_MESSAGE, ...formatHeld })
  .meta(inRange);
