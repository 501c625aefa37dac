/**
 * Timestamps as the Python registry writes them. We write UTC with microseconds
 * and a `+00:00` offset (`datetime.now(timezone.utc).isoformat()`); we read that,
 * `Z`, any other offset, and naive strings, which older Python writers produce
 * from `datetime.now().isoformat()` in local time.
 */
const ISO_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * Zoned timestamps already parsed, so a discovery of 10 000 entries (each judged
 * by two timestamps and sorted by a third) does not parse them all again each
 * time. Naive ones are not kept: they depend on the local time zone, which TZ
 * may change. Emptied when full, which bounds it.
 */
const parsedZoned = new Map<string, number>();
const PARSED_ZONED_MAX = 50_000;

/** Epoch milliseconds, or undefined when the string is not an ISO 8601 date-time. */
export function parseTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > 64) return undefined;
  return parsedZoned.get(value) ?? parse(value);
}

function parse(value: string): number | undefined {
  const m = ISO_PATTERN.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '0', zone] = m;
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = Number(s);
  // Date.UTC and new Date(y, …) map years 0–99 onto 1900–1999 and roll Feb 31 into March: refuse both.
  if (year < 100 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  let epoch: number;
  if (zone === undefined) {
    epoch = new Date(year, month - 1, day, hour, minute, second, ms).getTime();
  } else {
    epoch = Date.UTC(year, month - 1, day, hour, minute, second, ms);
    if (zone !== 'Z' && zone !== 'z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      const offsetHours = Number(digits.slice(0, 2)), offsetMinutes = Number(digits.slice(2, 4) || '0');
      if (offsetHours > 23 || offsetMinutes > 59) return undefined;
      epoch -= sign * (offsetHours * 60 + offsetMinutes) * 60_000;
    }
  }
  if (!Number.isFinite(epoch)) return undefined;
  if (zone !== undefined) {
    if (parsedZoned.size >= PARSED_ZONED_MAX) parsedZoned.clear();
    parsedZoned.set(value, epoch);
  }
  return epoch;
}

/**
 * The part of a timestamp's fraction below the millisecond, in nanoseconds
 * (0–999 999): `.123456` gives 456 000. Python writes microseconds and sorts
 * `started_at` as strings, so two records within one millisecond are ordered by
 * it; `parseTimestamp` alone would tie them. 0 when there is none or the string
 * is not a timestamp.
 */
export function subMillisecondNanos(value: unknown): number {
  if (typeof value !== 'string' || value.length > 64) return 0;
  const known = subMillisecond.get(value);
  if (known !== undefined) return known;
  const frac = ISO_PATTERN.exec(value)?.[7];
  const nanos = frac === undefined || frac.length <= 3 ? 0 : Number(frac.slice(3).padEnd(6, '0'));
  // Independent of the time zone, so kept for every string; emptied when full, as parsedZoned.
  if (subMillisecond.size >= PARSED_ZONED_MAX) subMillisecond.clear();
  subMillisecond.set(value, nanos);
  return nanos;
}

/** subMillisecondNanos already worked out: discovery sorts every entry by it each time. */
const subMillisecond = new Map<string, number>();

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate(); // day 0 of the next month
}

/** Days from 1970-01-01 to 0000-03-01 (the civil-from-days algorithm counts from there). */
const DAYS_TO_0000_03_01 = 719_468;
const MS_PER_DAY = 86_400_000;

/**
 * `2026-11-21T05:30:00.123000+00:00`, as Python's `isoformat()` of an aware UTC
 * datetime. Worked out by arithmetic (H. Hinnant's civil_from_days) for years
 * 0–9999, exactly as `Date.prototype.toISOString` would: a process's first
 * `toISOString()` costs ~0.8 ms (a registrant's first write is one). Other
 * instants (and invalid ones, which throw a RangeError) go through Date.
 */
export function formatTimestamp(epochMs: number): string {
  const t = Math.trunc(epochMs) + 0; // as Date's TimeClip (and no -0)
  const days = Math.floor(t / MS_PER_DAY);
  const z = days + DAYS_TO_0000_03_01;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  if (!Number.isFinite(t) || year < 0 || year > 9999) {
    return `${new Date(epochMs).toISOString().slice(0, -1)}000+00:00`; // throws for an invalid time
  }
  const inDay = t - days * MS_PER_DAY;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  const time = `${pad(Math.floor(inDay / 3_600_000), 2)}:${pad(Math.floor(inDay / 60_000) % 60, 2)}:${pad(Math.floor(inDay / 1000) % 60, 2)}.${pad(inDay % 1000, 3)}`;
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${time}000+00:00`;
}
