#!/usr/bin/env python3
"""Writes Spec/schedule-vectors.json: cron schedules' next fire times as cronsim computes them.

cronsim (PyPI) is the library Healthchecks uses; Spec/schedules.md promises to follow it exactly,
DST included. Each case is an expression, an IANA time zone and an instant `after`; `next` holds
the next fire times strictly after it, in order (each written with its local UTC offset), or
`error` says that cronsim refuses the expression. The Swift tests compute the same from our own
implementation and compare; `--check` (run by scripts/test) recomputes every case with cronsim and
fails when the file differs, so the file cannot drift from the library.

Macros (@hourly ...) are not cronsim's: the file records the five fields each stands for, and the
Swift tests check the macro and its expansion give the same times.

    python3 Spec/tools/make_schedule_vectors.py          # rewrite the file
    python3 Spec/tools/make_schedule_vectors.py --check  # exit 1 if the file is out of date
"""
import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

try:
    from cronsim import CronSim, CronSimError
except ImportError:
    sys.exit("make_schedule_vectors: cronsim is missing (python3 -m pip install cronsim==2.6)")

OUT = Path(__file__).resolve().parent.parent / "schedule-vectors.json"
COUNT = 6  # fire times per case

MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}

# (expression, zone, after as an ISO 8601 instant, why the case is here)
CASES = [
    # Plain fields, lists, ranges, steps, names.
    ("* * * * *", "UTC", "2026-03-01T10:15:30Z", "every minute: strictly after, seconds dropped"),
    ("*/15 * * * *", "UTC", "2026-03-01T10:15:00Z", "a fire time equal to `after` is not next"),
    ("5/15 * * * *", "UTC", "2026-03-01T10:00:00Z", "a step from a single start runs to the field's end"),
    ("*/7 * * * *", "UTC", "2026-03-01T10:50:00Z", "*/7 restarts at 0 each hour (56, then 0)"),
    ("0 */7 * * *", "UTC", "2026-03-01T20:00:00Z", "*/7 hours: 0, 7, 14, 21"),
    ("0 0 */7 * *", "UTC", "2026-01-20T00:00:00Z", "*/7 days of month: 1, 8, 15, 22, 29"),
    ("1-10/3 * * * *", "UTC", "2026-03-01T10:00:00Z", "a step over a range"),
    ("0,30 9-17 * * *", "UTC", "2026-03-01T16:45:00Z", "lists and ranges"),
    ("0 3 * * 1-5", "UTC", "2026-03-06T03:00:00Z", "weekdays: Friday's run is followed by Monday's"),
    ("0 3 * * MON-FRI", "UTC", "2026-03-06T03:00:00Z", "day names"),
    ("0 0 * * 0", "UTC", "2026-03-02T00:00:00Z", "Sunday as 0"),
    ("0 0 * * 7", "UTC", "2026-03-02T00:00:00Z", "Sunday as 7"),
    ("0 0 * * sun", "UTC", "2026-03-02T00:00:00Z", "Sunday by name, lower case"),
    ("0 0 * * */7", "UTC", "2026-03-02T00:00:00Z", "*/7 in day-of-week holds both 0 and 7: Sundays"),
    ("0 0 1 jan,jul *", "UTC", "2026-02-01T00:00:00Z", "month names"),
    ("0 12 * FEB-APR *", "UTC", "2026-04-29T12:00:00Z", "a month range by names"),
    ("30 4 1,15 * 5", "UTC", "2026-03-01T00:00:00Z", "day-of-month and day-of-week both set: either matches"),
    ("30 4 1,15 * *", "UTC", "2026-03-01T00:00:00Z", "day-of-week a star: day-of-month alone"),
    ("30 4 * * 5", "UTC", "2026-03-01T00:00:00Z", "day-of-month a star: day-of-week alone"),
    ("0 0 */2 * 1", "UTC", "2026-03-01T00:00:00Z", "a field starting with a star means AND"),
    ("0 0 1-7 * 1", "UTC", "2026-03-01T00:00:00Z", "neither starts with a star: OR"),
    # Calendar edges.
    ("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", "Feb 29 only in leap years"),
    ("0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "day 31 skips the short months"),
    ("0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", "day 30 skips February"),
    ("59 23 31 12 *", "UTC", "2026-12-31T23:58:00Z", "the last minute of the year"),
    ("0 0 L * *", "UTC", "2026-01-31T00:00:00Z", "L: the last day of each month"),
    ("0 0 LW * *", "UTC", "2026-01-01T00:00:00Z", "LW: the last weekday of each month"),
    ("0 0 * * 5L", "UTC", "2026-01-01T00:00:00Z", "5L: the last Friday of each month"),
    ("0 0 * * FRI#2", "UTC", "2026-01-01T00:00:00Z", "FRI#2: the second Friday"),
    ("0 0 * 2 MON#5", "UTC", "2025-01-01T00:00:00Z", "a fifth Monday in February is rare"),
    # Europe/Berlin: spring forward 2026-03-29 02:00 -> 03:00, fall back 2026-10-25 03:00 -> 02:00.
    ("30 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "fixed time in the spring gap: runs at 03:00 that day"),
    ("0 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", "02:00 in the gap: runs at 03:00"),
    ("30 2 * * *", "Europe/Berlin", "2026-10-23T12:00:00Z", "fixed time in the repeated hour: once, the first time"),
    ("0 3 * * 1-5", "Europe/Berlin", "2026-03-25T12:00:00Z", "03:00 on weekdays across spring forward"),
    ("0 3 * * 1-5", "Europe/Berlin", "2026-10-21T12:00:00Z", "03:00 on weekdays across fall back"),
    ("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", "wildcard hours: the skipped local times do not happen"),
    ("*/30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", "wildcard hours: the repeated local times happen twice"),
    ("15 * * * *", "Europe/Berlin", "2026-10-24T23:30:00Z", "wildcard hour, fixed minute: twice in the repeated hour"),
    ("0 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", "hourly across the gap"),
    ("30 1-3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "a fixed hour range through the gap"),
    ("30 1-3 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "a fixed hour range through the repeated hour"),
    ("@daily", "Europe/Berlin", "2026-03-28T12:00:00Z", "@daily is 0 0 * * * in the zone"),
    # America/New_York: spring forward 2026-03-08 02:00 -> 03:00, fall back 2026-11-01 02:00 -> 01:00.
    ("30 2 * * *", "America/New_York", "2026-03-06T12:00:00Z", "fixed time in the gap"),
    ("30 1 * * *", "America/New_York", "2026-10-30T12:00:00Z", "fixed time in the repeated hour: once"),
    ("*/20 * * * *", "America/New_York", "2026-03-08T06:00:00Z", "wildcard through the gap"),
    ("*/20 * * * *", "America/New_York", "2026-11-01T05:00:00Z", "wildcard through the repeated hour"),
    ("0 0 * * *", "America/New_York", "2026-03-07T12:00:00Z", "midnight around spring forward"),
    ("0 9 * * MON", "America/New_York", "2026-10-26T12:00:00Z", "a weekly job across fall back keeps 09:00 local"),
    # Australia/Lord_Howe: a 30-minute shift. Forward 2026-10-04 02:00 -> 02:30; back 2026-04-05 02:00 -> 01:30.
    ("15 2 * * *", "Australia/Lord_Howe", "2026-10-02T12:00:00Z", "fixed time in a 30-minute gap"),
    ("45 1 * * *", "Australia/Lord_Howe", "2026-04-03T12:00:00Z", "fixed time in a 30-minute repeated half hour"),
    ("*/15 * * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z", "wildcard through a 30-minute gap"),
    ("*/15 * * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z", "wildcard through a repeated half hour"),
    ("0 * * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z", "hourly through a repeated half hour"),
    # Other zones and offsets.
    ("0 0 * * *", "Asia/Kolkata", "2026-03-01T00:00:00Z", "a half-hour offset without DST"),
    ("0 0 * * *", "Asia/Kathmandu", "2026-03-01T00:00:00Z", "a 45-minute offset"),
    ("0 12 * * *", "Pacific/Kiritimati", "2026-03-01T00:00:00Z", "UTC+14"),
    ("0 12 * * *", "Pacific/Pago_Pago", "2026-03-01T00:00:00Z", "UTC-11"),
    ("0 3 * * *", "Europe/London", "2026-03-28T12:00:00Z", "London: the gap is 01:00-02:00, 03:00 unaffected"),
    ("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", "London: 01:30 is in the gap"),
    ("@hourly", "UTC", "2026-03-01T10:15:00Z", "@hourly"),
    ("@weekly", "UTC", "2026-03-01T10:15:00Z", "@weekly is Sundays at 00:00"),
    ("@monthly", "UTC", "2026-03-01T10:15:00Z", "@monthly"),
    ("@yearly", "UTC", "2026-03-01T10:15:00Z", "@yearly"),
    ("@annually", "UTC", "2026-03-01T10:15:00Z", "@annually"),
    ("@midnight", "UTC", "2026-03-01T10:15:00Z", "@midnight"),
]

# Expressions cronsim refuses (and so do we), with why.
REFUSED = [
    ("0 0 30 2 *", "February never has a 30th"),
    ("0 0 31 4,6 *", "April and June never have a 31st"),
    ("61 * * * *", "minute out of range"),
    ("* 24 * * *", "hour out of range"),
    ("* * 0 * *", "day of month out of range"),
    ("* * 32 * *", "day of month out of range"),
    ("* * * 13 *", "month out of range"),
    ("* * * * 8", "day of week out of range"),
    ("* * * *", "four fields"),
    ("* * * * * *", "six fields"),
    ("*/0 * * * *", "a zero step"),
    ("5-1 * * * *", "a range backwards"),
    ("a * * * *", "not a number"),
    ("1,,2 * * * *", "an empty list item"),
    ("* * * * MON#6", "no sixth Monday"),
    ("* * * FOO *", "not a month name"),
    ("", "empty"),
]


def expand(expression):
    return MACROS.get(expression.lower(), expression)


def fire_times(expression, zone, after):
    moment = datetime.fromisoformat(after.replace("Z", "+00:00")).astimezone(ZoneInfo(zone) if zone != "UTC" else timezone.utc)
    iterator = CronSim(expand(expression), moment)
    return [next(iterator).isoformat() for _ in range(COUNT)]


def build():
    cases = []
    for expression, zone, after, why in CASES:
        cases.append({"expression": expression, "time_zone": zone, "after": after, "why": why,
                      "expands_to": expand(expression) if expression.startswith("@") else None,
                      "next": fire_times(expression, zone, after)})
    for expression, why in REFUSED:
        try:
            CronSim(expression, datetime(2026, 1, 1, tzinfo=timezone.utc))
        except CronSimError as error:
            cases.append({"expression": expression, "time_zone": "UTC", "why": why, "error": str(error)})
        else:
            sys.exit(f"make_schedule_vectors: cronsim accepts {expression!r}, listed as refused")
    for case in cases:
        if case.get("expands_to") is None:
            case.pop("expands_to", None)
    return {"generator": "Spec/tools/make_schedule_vectors.py with cronsim 2.6", "count_per_case": COUNT, "cases": cases}


def main():
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if "--check" in sys.argv:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT.name} is out of date: run python3 Spec/tools/make_schedule_vectors.py")
        print(f"{OUT.name}: {len(build()['cases'])} cases agree with cronsim")
        return
    OUT.write_text(text)
    print(f"wrote {OUT} ({text.count('expression')} cases)")


if __name__ == "__main__":
    main()
