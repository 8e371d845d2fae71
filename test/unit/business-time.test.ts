import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addBusinessTime, compileOfficeHours, localDueLabel, scheduleOf, type OfficeHours } from '../../src/journey/business-time.ts';

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const due = (startIso: string, hours: number, officeHours: OfficeHours) => new Date(addBusinessTime(at(startIso), hours * HOUR, scheduleOf(officeHours))).toISOString();

const paris: OfficeHours = { timeZone: 'Europe/Paris', hours: { 'mon-fri': '09:00-17:00' } };
const newYork: OfficeHours = { timeZone: 'America/New_York', hours: { 'mon-fri': '09:00-17:00' } };

describe('addBusinessTime', () => {
  // 2026-12-11 is a Friday; Paris is UTC+1 in December.
  it('carries 4 h raised at Friday 17:00 to Monday 13:00, at Friday 15:00 to Monday 11:00, on Saturday to Monday 13:00', () => {
    expect(due('2026-12-11T16:00:00Z', 4, paris)).toBe('2026-12-14T12:00:00.000Z');
    expect(due('2026-12-11T14:00:00Z', 4, paris)).toBe('2026-12-14T10:00:00.000Z');
    expect(due('2026-12-12T10:00:00Z', 4, paris)).toBe('2026-12-14T12:00:00.000Z');
  });

  it('counts from the start inside hours, from the opening before them, and ends at the close exactly', () => {
    expect(due('2026-12-08T09:00:00Z', 4, paris)).toBe('2026-12-08T13:00:00.000Z'); // Tue 10:00 → 14:00
    expect(due('2026-12-08T06:00:00Z', 4, paris)).toBe('2026-12-08T12:00:00.000Z'); // Tue 07:00 → 13:00
    expect(due('2026-12-08T12:00:00Z', 4, paris)).toBe('2026-12-08T16:00:00.000Z'); // Tue 13:00 → 17:00, not Wed 09:00
  });

  it('spans several days, and skips a lunch break', () => {
    expect(due('2026-12-07T08:00:00Z', 20, paris)).toBe('2026-12-09T12:00:00.000Z'); // Mon 09:00 + 8 + 8 + 4 → Wed 13:00
    expect(due('2026-12-07T08:00:00Z', 2 * 24, paris)).toBe('2026-12-14T16:00:00.000Z'); // six working days: the next Mon 17:00
    const lunch: OfficeHours = { timeZone: 'Europe/Paris', hours: { 'mon-fri': '09:00-12:00, 13:00-17:00' } };
    expect(due('2026-12-07T10:00:00Z', 2, lunch)).toBe('2026-12-07T13:00:00.000Z'); // Mon 11:00 + 1 h, lunch, + 1 h → 14:00
  });

  it('skips a holiday (a local date in the zone)', () => {
    const christmas: OfficeHours = { ...paris, holidays: ['2026-12-25'] };
    // Thu 24th 15:00: 2 h that day, Friday is a holiday, the weekend closed: Mon 28th 11:00.
    expect(due('2026-12-24T14:00:00Z', 4, christmas)).toBe('2026-12-28T10:00:00.000Z');
    expect(due('2026-12-24T14:00:00Z', 4, paris)).toBe('2026-12-25T10:00:00.000Z');
  });

  it('returns the start for a zero duration', () => {
    expect(addBusinessTime(at('2026-12-12T10:00:00Z'), 0, scheduleOf(paris))).toBe(at('2026-12-12T10:00:00Z'));
  });

  it('keeps 09:00 local across spring forward (Europe/Paris 2027-03-28, America/New_York 2027-03-14)', () => {
    // Fri 26 March 15:00 CET (UTC+1) + 4 h → Mon 29 March 11:00 CEST (UTC+2), not 10:00 UTC.
    expect(due('2027-03-26T14:00:00Z', 4, paris)).toBe('2027-03-29T09:00:00.000Z');
    // Fri 12 March 16:00 EST (UTC-5) + 4 h → Mon 15 March 12:00 EDT (UTC-4).
    expect(due('2027-03-12T21:00:00Z', 4, newYork)).toBe('2027-03-15T16:00:00.000Z');
    // The day itself has 23 hours.
    const sundays: OfficeHours = { timeZone: 'Europe/Paris', hours: { sun: '00:00-24:00' } };
    expect(due('2027-03-27T23:00:00Z', 23, sundays)).toBe('2027-03-28T22:00:00.000Z');
    expect(due('2027-03-27T23:00:00Z', 24, sundays)).toBe('2027-04-03T23:00:00.000Z'); // 01:00 the next Sunday
    // Hours that start in the skipped hour open when the clock reaches it: 02:30 is 03:30 CEST.
    const skipped: OfficeHours = { timeZone: 'Europe/Paris', hours: { sun: '02:30-04:00' } };
    expect(due('2027-03-27T23:00:00Z', 0.25, skipped)).toBe('2027-03-28T01:45:00.000Z');
  });

  it('keeps 09:00 local across fall back (Europe/Paris 2026-10-25, America/New_York 2026-11-01)', () => {
    // Fri 23 October 15:00 CEST (UTC+2) + 4 h → Mon 26 October 11:00 CET (UTC+1).
    expect(due('2026-10-23T13:00:00Z', 4, paris)).toBe('2026-10-26T10:00:00.000Z');
    // Fri 30 October 16:00 EDT (UTC-4) + 4 h → Mon 2 November 12:00 EST (UTC-5).
    expect(due('2026-10-30T20:00:00Z', 4, newYork)).toBe('2026-11-02T17:00:00.000Z');
    // The day itself has 25 hours.
    const sundays: OfficeHours = { timeZone: 'Europe/Paris', hours: { sun: '00:00-24:00' } };
    expect(due('2026-10-24T22:00:00Z', 25, sundays)).toBe('2026-10-25T23:00:00.000Z');
  });

  it('is additive and lands within office hours (property)', () => {
    const schedules = [paris, newYork, { timeZone: 'Asia/Kolkata', hours: { 'mon-thu': '08:30-12:00, 13:00-18:15', sat: '10:00-14:00' }, holidays: ['2026-12-31'] }].map(
      scheduleOf,
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...schedules),
        fc.integer({ min: at('2026-01-01T00:00:00Z'), max: at('2028-01-01T00:00:00Z') }),
        fc.integer({ min: 1, max: 60 * HOUR }),
        fc.integer({ min: 1, max: 60 * HOUR }),
        (schedule, start, a, b) => {
          const end = addBusinessTime(start, a + b, schedule);
          expect(addBusinessTime(addBusinessTime(start, a, schedule), b, schedule)).toBe(end);
          expect(end).toBeGreaterThan(start);
          // Just before the end, the clock was running: inside a range, on an open day.
          const label = localDueLabel(end - 1, schedule.timeZone); // e.g. `Mon 2026-12-14 12:59`
          const [, date, time] = label.split(' ') as [string, string, string];
          expect(schedule.holidays.has(date)).toBe(false);
          const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(label.slice(0, 3));
          const minute = Number(time.slice(0, 2)) * 60 + Number(time.slice(3, 5));
          expect(schedule.week[weekday]!.some(([from, to]) => from <= minute && minute < to)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('compileOfficeHours', () => {
  it('rejects a schedule with no open hours, naming the field', () => {
    expect(compileOfficeHours({ timeZone: 'Europe/Paris', hours: {} })).toEqual({
      problems: [{ path: ['hours'], message: 'no open hours: give at least one day, e.g. mon-fri: "09:00-17:00"' }],
    });
  });

  it('rejects an unknown zone, a day given twice, a backwards range, an impossible date', () => {
    const compiled = compileOfficeHours({ timeZone: 'Europe/Pariss', hours: { 'mon-fri': '09:00-17:00', fri: '10:00-12:00', 'sun-sat': '09:00-10:00' }, holidays: ['2026-02-30'] });
    expect(compiled).toEqual({
      problems: [
        { path: ['timeZone'], message: '"Europe/Pariss" is not an IANA time zone (e.g. Europe/Paris)' },
        { path: ['hours', 'fri'], message: 'fri is already given by "mon-fri"' },
        { path: ['hours', 'sun-sat'], message: '"sun-sat" runs backwards: a range goes from Monday towards Sunday (e.g. mon-fri)' },
        { path: ['holidays', 0], message: '"2026-02-30" is not a date (YYYY-MM-DD)' },
      ],
    });
  });

  it('rejects a range that ends before it starts, overlaps, or passes 24:00', () => {
    const messages = (range: string) => {
      const compiled = compileOfficeHours({ timeZone: 'UTC', hours: { mon: range } });
      return 'problems' in compiled ? compiled.problems.map((p) => p.message) : [];
    };
    expect(messages('17:00-09:00')).toEqual(['"17:00-09:00" ends before it starts (a range stays within one day)']);
    expect(messages('09:00-13:00, 12:00-17:00')).toEqual(['"12:00-17:00" overlaps or precedes the range before it (list them in order)']);
    expect(messages('09:00-24:30')).toEqual(['"09:00-24:30" is not a time of day (00:00 to 24:00)']);
    expect(messages('00:00-24:00')).toEqual([]);
  });
});

describe('localDueLabel', () => {
  it('reads a due time on the zone’s wall clock', () => {
    expect(localDueLabel(at('2026-12-14T12:00:00Z'), 'Europe/Paris')).toBe('Mon 2026-12-14 13:00');
    expect(localDueLabel(at('2026-11-02T17:00:00Z'), 'America/New_York')).toBe('Mon 2026-11-02 12:00');
  });
});
