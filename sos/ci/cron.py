"""A scheduled cadence's local day and time as one UTC cron line, with its daylight-saving shift said in words.

GitHub runs schedules in UTC only. A time zone with daylight saving has two UTC times for one local time; sos
schedules the earlier one (the summer one north of the equator), so a report is never late for the meeting it
prepares: in the other season it arrives an hour early, never an hour after the meeting started.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class UtcSchedule:
    cron: str           # "0 7 * * 1"
    explanation: str    # "09:00 Europe/Berlin on Monday = 07:00 UTC in summer (+02:00), 08:00 UTC in winter …"


def utc_schedule(every: str, at: str, timezone: str, *, year: int) -> UtcSchedule:
    """`every` (day, weekday or a day of the week) at `at` ("HH:MM") in `timezone` as the earliest UTC cron over
    `year`'s offsets. The time zone must exist (the blueprint's checks say so at its line)."""
    zone = zoneinfo.ZoneInfo(timezone)
    hour, minute = (int(part) for part in at.split(":"))
    offsets = {datetime.datetime(year, month, 15, hour, minute, tzinfo=zone).utcoffset() or datetime.timedelta()
               for month in range(1, 13)}
    earliest, latest = max(offsets), min(offsets)      # the largest offset puts the same local time earliest in UTC
    local = datetime.datetime(2024, 1, 1, hour, minute)  # a Monday: the day shift is read off its weekday
    utc = local - earliest
    day_shift = (utc.date() - local.date()).days
    cron = f"{utc.minute} {utc.hour} * * {_cron_days(every, day_shift)}"
    when = f"{at} {timezone}" + ("" if every == "day" else f" every {every}" if every == "weekday"
                                 else f" on {every.capitalize()}")
    if earliest == latest:
        return UtcSchedule(cron, f"{when} = {utc:%H:%M} UTC all year (no daylight saving): scheduled at "
                                 f"{utc:%H:%M} UTC")
    standard = local - latest
    runs = utc + latest          # the local time the scheduled UTC time is in standard time
    day = " the day before" if runs.date() < local.date() else ""
    return UtcSchedule(cron, f"{when} = {utc:%H:%M} UTC in daylight-saving time ({_offset(earliest)}), "
                             f"{standard:%H:%M} UTC in standard time ({_offset(latest)}): scheduled at "
                             f"{utc:%H:%M} UTC; in standard time it runs at {runs:%H:%M} local{day}, "
                             f"{_duration(earliest - latest)} early, never late")


def _cron_days(every: str, shift: int) -> str:
    """Cron's day-of-week field (0 = Sunday) for `every`, moved by `shift` days (-1, 0 or 1) into UTC."""
    if every == "day":
        return "*"
    if every == "weekday":          # Monday to Friday is 1-5; a day either way stays inside 0-6
        return f"{1 + shift}-{5 + shift}"
    return str((DAYS.index(every) + 1 + shift) % 7)


def _offset(delta: datetime.timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _duration(delta: datetime.timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    return "an hour" if minutes == 60 else f"{minutes} minutes"
