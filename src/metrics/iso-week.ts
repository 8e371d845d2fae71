/** ISO-8601 weeks in UTC, as the signup cohorts name them (`2026-W49`: metrics-query.ts's signupCohortSql, progress-query.ts's cohortOfWeek). */

const DAY_MS = 86_400_000;

/** The Monday 00:00 UTC that starts the ISO week `2026-W49`. */
export function isoWeekStart(week: string): Date {
  const [, year, number] = /^(\d{4})-W(\d{2})$/.exec(week) ?? [];
  if (year === undefined || number === undefined) throw new Error(`not an ISO week: ${week}`);
  const jan4 = Date.UTC(Number(year), 0, 4);
  const week1Monday = jan4 - ((new Date(jan4).getUTCDay() + 6) % 7) * DAY_MS;
  return new Date(week1Monday + (Number(number) - 1) * 7 * DAY_MS);
}

/** The ISO week an instant falls in (UTC). */
export function isoWeekOf(at: Date): string {
  const day = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  // The week belongs to the year its Thursday is in.
  const thursday = new Date(day + (3 - ((new Date(day).getUTCDay() + 6) % 7)) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const number = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / DAY_MS / 7) + 1;
  return `${year}-W${String(number).padStart(2, '0')}`;
}

/** `YYYY-MM-DD` of an instant (UTC): the dashboard's date filters. */
export const dayOf = (at: Date) => at.toISOString().slice(0, 10);

/** The first and last day of an ISO week, as the dashboard's `from` and `to` take them. */
export function weekDays(week: string): { from: string; to: string } {
  const start = isoWeekStart(week);
  return { from: dayOf(start), to: dayOf(new Date(start.getTime() + 6 * DAY_MS)) };
}
