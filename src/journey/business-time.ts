/**
 * Business time: office hours (local wall-clock hours per weekday in a time zone, and holidays)
 * and the instant a duration of open time ends. Pure and deterministic (the journey workflow runs
 * it: no I/O, no clock); time zones through `Intl.DateTimeFormat`, so across a DST change a working
 * day stays 09:00–17:00 local and counts the hours it really has.
 */

/** Office hours as a policy writes them (config/escalation.yaml `officeHours`). */
export interface OfficeHours {
  /** An IANA time zone, e.g. `Europe/Paris`. */
  timeZone: string;
  /** Day (`mon`) or day range (`mon-fri`) → `HH:MM-HH:MM`, several ranges comma-separated. */
  hours: Record<string, string>;
  /** Local dates (`YYYY-MM-DD`) with no open hours. */
  holidays?: string[];
}

/** Office hours compiled: minute ranges per weekday (0 = Monday), holidays as a set. */
export interface BusinessSchedule {
  timeZone: string;
  week: [start: number, end: number][][];
  holidays: ReadonlySet<string>;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const DAY_KEY = /^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$/;
const RANGE = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** A problem in office hours: the path below `officeHours` and what is wrong. */
export interface OfficeHoursProblem {
  path: (string | number)[];
  message: string;
}

/** Compiles office hours, or says precisely what is wrong with them (the policy schema reports these). */
export function compileOfficeHours(officeHours: OfficeHours): { schedule: BusinessSchedule } | { problems: OfficeHoursProblem[] } {
  const problems: OfficeHoursProblem[] = [];
  if (!isTimeZone(officeHours.timeZone)) problems.push({ path: ['timeZone'], message: `"${officeHours.timeZone}" is not an IANA time zone (e.g. Europe/Paris)` });
  const week: [number, number][][] = WEEKDAYS.map(() => []);
  const setBy: (string | undefined)[] = WEEKDAYS.map(() => undefined);
  for (const [key, value] of Object.entries(officeHours.hours)) {
    const days = dayKeyDays(key);
    if (typeof days === 'string') {
      problems.push({ path: ['hours', key], message: days });
      continue;
    }
    const ranges = parseRanges(value);
    if (typeof ranges === 'string') {
      problems.push({ path: ['hours', key], message: ranges });
      continue;
    }
    for (const day of days) {
      if (setBy[day] !== undefined) problems.push({ path: ['hours', key], message: `${WEEKDAYS[day]} is already given by "${setBy[day]}"` });
      setBy[day] = key;
      week[day] = ranges;
    }
  }
  if (problems.length === 0 && week.every((ranges) => ranges.length === 0))
    problems.push({ path: ['hours'], message: 'no open hours: give at least one day, e.g. mon-fri: "09:00-17:00"' });
  (officeHours.holidays ?? []).forEach((holiday, index) => {
    if (!isDate(holiday)) problems.push({ path: ['holidays', index], message: `"${holiday}" is not a date (YYYY-MM-DD)` });
  });
  if (problems.length > 0) return { problems };
  return { schedule: { timeZone: officeHours.timeZone, week, holidays: new Set(officeHours.holidays ?? []) } };
}

/** Compiles office hours already validated by the policy schema. */
export function scheduleOf(officeHours: OfficeHours): BusinessSchedule {
  const compiled = compileOfficeHours(officeHours);
  if ('problems' in compiled) throw new Error(`invalid office hours: ${compiled.problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
  return compiled.schedule;
}

function dayKeyDays(key: string): number[] | string {
  const match = DAY_KEY.exec(key);
  if (!match) return `"${key}" is not a day (mon … sun) or a day range (mon-fri)`;
  const first = WEEKDAYS.indexOf(match[1] as (typeof WEEKDAYS)[number]);
  const last = match[2] === undefined ? first : WEEKDAYS.indexOf(match[2] as (typeof WEEKDAYS)[number]);
  if (last < first) return `"${key}" runs backwards: a range goes from Monday towards Sunday (e.g. mon-fri)`;
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

function parseRanges(value: string): [number, number][] | string {
  const ranges: [number, number][] = [];
  for (const part of value.split(',').map((p) => p.trim())) {
    const match = RANGE.exec(part);
    if (!match) return `"${value}" is not HH:MM-HH:MM (several ranges separated by commas)`;
    const [h1, m1, h2, m2] = match.slice(1).map(Number) as [number, number, number, number];
    const start = h1 * 60 + m1;
    const end = h2 * 60 + m2;
    if (h1 > 23 || m1 > 59 || m2 > 59 || end > 24 * 60) return `"${part}" is not a time of day (00:00 to 24:00)`;
    if (end <= start) return `"${part}" ends before it starts (a range stays within one day)`;
    if (ranges.length > 0 && start < ranges[ranges.length - 1]![1]) return `"${part}" overlaps or precedes the range before it (list them in order)`;
    ranges.push([start, end]);
  }
  return ranges;
}

function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return zone.length > 0;
  } catch {
    return false; // Intl refuses a zone it does not know
  }
}

function isDate(value: string): boolean {
  const match = DATE.exec(value);
  if (!match) return false;
  const [y, m, d] = match.slice(1).map(Number) as [number, number, number];
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

// One formatter per zone: building one costs far more than formatting (pure, so a cache is safe).
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's wall clock at `epochMs`, as epoch ms of the same wall time in UTC. */
function wallClock(epochMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(epochMs)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) + (((epochMs % 1000) + 1000) % 1000);
}

const offsetAt = (epochMs: number, timeZone: string) => wallClock(epochMs, timeZone) - epochMs;

/**
 * The instant a wall-clock time (epoch ms of that wall time read as UTC) happens in the zone. In
 * the hour a clock repeats (fall back): the first time; in the hour it skips (spring forward): as
 * far after the skip as the time is after its start (02:30 → 03:30), like Temporal's `compatible`.
 */
function instantOf(wall: number, timeZone: string): number {
  const before = offsetAt(wall - DAY_MS, timeZone);
  const after = offsetAt(wall + DAY_MS, timeZone);
  if (before === after) return wall - before; // no change of offset within a day either side
  const fits = [wall - before, wall - after].filter((t) => offsetAt(t, timeZone) === wall - t);
  return fits.length > 0 ? Math.min(...fits) : wall - before;
}

/**
 * When `durationMs` of open time has passed from `start` (epoch ms) under `schedule`: the clock
 * runs only within office hours, outside holidays. A duration of zero (or less) ends at `start`.
 */
export function addBusinessTime(start: number, durationMs: number, schedule: BusinessSchedule): number {
  if (durationMs <= 0) return start;
  let remaining = durationMs;
  const localStart = wallClock(start, schedule.timeZone);
  // The local day the start falls on, at midnight, as a UTC date: days are counted on it.
  let day = localStart - (((localStart % DAY_MS) + DAY_MS) % DAY_MS);
  // Validation guarantees open hours each week, and holidays are finite: the loop ends. The bound
  // only turns a schedule that bypassed validation into an error rather than a hang.
  const lastDay = day + (schedule.holidays.size + 8) * 7 * DAY_MS;
  for (; day <= lastDay; day += DAY_MS) {
    if (schedule.holidays.has(new Date(day).toISOString().slice(0, 10))) continue;
    const weekday = (new Date(day).getUTCDay() + 6) % 7;
    for (const [from, to] of schedule.week[weekday]!) {
      const opens = Math.max(start, instantOf(day + from * 60_000, schedule.timeZone));
      const closes = instantOf(day + to * 60_000, schedule.timeZone);
      if (opens >= closes) continue;
      if (remaining <= closes - opens) return opens + remaining;
      remaining -= closes - opens;
    }
  }
  throw new Error(`office hours in ${schedule.timeZone} have no open time`);
}

/** `Mon 2026-12-14 13:00`: a due time as people in the zone read it. */
export function localDueLabel(epochMs: number, timeZone: string): string {
  const wall = new Date(wallClock(epochMs, timeZone));
  const weekday = WEEKDAYS[(wall.getUTCDay() + 6) % 7]!;
  const hhmm = wall.toISOString().slice(11, 16);
  return `${weekday[0]!.toUpperCase()}${weekday.slice(1)} ${wall.toISOString().slice(0, 10)} ${hhmm}`;
}
