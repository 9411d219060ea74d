"""Timestamps as Step Functions reads and prints them.

AWS parses every timestamp of the language (Wait ``Timestamp``/``TimestampPath``, the
Choice ``Timestamp*`` operators and ``IsTimestamp``) as an "ISO-8601 extended offset
date-time" — Java's ``DateTimeFormatter.ISO_OFFSET_DATE_TIME`` with strict resolving —
and says so in its error causes. :func:`parse_timestamp` accepts exactly that grammar:

* ``YYYY-MM-DD`` then ``T`` then ``hh:mm``, optionally ``:ss`` and then optionally a
  fraction of 0 to 9 digits after a ``.``;
* an offset: ``Z`` or ``±hh:mm`` (optionally ``:ss``), at most 18 hours; the offset is
  mandatory (``2016-12-05T21:29:29`` is rejected, as AWS does);
* letters are case-insensitive (Java parses this formatter case-insensitively);
* fields are range-checked strictly: month 1-12, a day that exists in that month (leap
  years included), hour 0-23 (no ``24:00``), minute and second 0-59 (no leap second).

Python's ``datetime`` keeps microseconds, so digits beyond the sixth are truncated; years
outside 0001-9999 (which Java would take with a sign) are rejected.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["format_timestamp", "parse_timestamp"]

# ASCII digits only: Java's parser does not take other Unicode digits, Python's \d would.
_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]{0,9}))?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<oh>[0-9]{2}):(?P<om>[0-9]{2})(?::(?P<os>[0-9]{2}))?)",
    re.ASCII,
)

_MAX_OFFSET = timedelta(hours=18)
# Offsets repeat (+01:00 is used by every CET timestamp); build each tzinfo once.
_ZONES: dict[timedelta, timezone] = {timedelta(0): UTC}


def _zone(offset: timedelta) -> timezone:
    zone = _ZONES.get(offset)
    if zone is None:
        zone = _ZONES[offset] = timezone(offset)
    return zone


def parse_timestamp(s: str) -> datetime | None:
    """Parse ``s`` as AWS does (ISO-8601 extended offset date-time); ``None`` if invalid.

    The result is timezone-aware (it keeps the written offset), so comparisons between
    results compare instants: ``2012-10-09T20:00:55+01:00`` equals ``2012-10-09T19:00:55Z``.
    """
    m = _TIMESTAMP.fullmatch(s)
    if m is None:
        return None
    if m["utc"] is not None:
        zone = UTC
    else:
        oh, om, osec = int(m["oh"]), int(m["om"]), int(m["os"] or 0)
        if om > 59 or osec > 59:
            return None
        offset = timedelta(hours=oh, minutes=om, seconds=osec)
        if offset > _MAX_OFFSET:
            return None
        zone = _zone(-offset if m["sign"] == "-" else offset)
    fraction = m["fraction"]
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        return datetime(
            int(m["year"]),
            int(m["month"]),
            int(m["day"]),
            int(m["hour"]),
            int(m["minute"]),
            int(m["second"] or 0),
            micro,
            tzinfo=zone,
        )
    except ValueError:  # day 31 of a 30-day month, hour 24, second 60, year 0 ...
        return None


def format_timestamp(dt: datetime) -> str:
    """Print ``dt`` as AWS prints times in the context object: UTC, milliseconds, ``Z``.

    ``2024-01-01T00:00:00.123Z`` — always three fraction digits (truncated, not rounded).
    A naive ``dt`` is taken to be UTC already.
    """
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond // 1000:03d}Z"
    )
