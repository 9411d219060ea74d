"""Timestamp parsing and printing as AWS does it (ISO-8601 extended offset date-time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from opensfn.asl.timestamps import format_timestamp, parse_timestamp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Accepted by AWS in the recorded Wait TimestampPath cases.
        ("2016-03-14T01:59:00Z", datetime(2016, 3, 14, 1, 59, tzinfo=UTC)),
        ("2026-11-24T21:59:39.00Z", datetime(2026, 11, 24, 21, 59, 39, tzinfo=UTC)),
        ("2026-11-24T21:59:39.000000Z", datetime(2026, 11, 24, 21, 59, 39, tzinfo=UTC)),
        ("2094-12-12T21:59:39.000Z", datetime(2094, 12, 12, 21, 59, 39, tzinfo=UTC)),
        # Nanoseconds are accepted; datetime keeps the first six digits.
        ("2016-03-05T21:29:29.243167252Z", datetime(2016, 3, 5, 21, 29, 29, 243167, tzinfo=UTC)),
        ("2012-10-09T19:00:55.5Z", datetime(2012, 10, 9, 19, 0, 55, 500000, tzinfo=UTC)),
        # Numeric offsets, seconds optional, case-insensitive letters (Java's formatter).
        (
            "2012-10-09T19:00:55+01:00",
            datetime(2012, 10, 9, 19, 0, 55, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "2012-10-09T19:00:55-05:30",
            datetime(2012, 10, 9, 19, 0, 55, tzinfo=timezone(-timedelta(hours=5, minutes=30))),
        ),
        ("2016-03-14T01:59Z", datetime(2016, 3, 14, 1, 59, tzinfo=UTC)),
        ("2016-03-14t01:59:00z", datetime(2016, 3, 14, 1, 59, tzinfo=UTC)),
        ("2016-02-29T00:00:00Z", datetime(2016, 2, 29, tzinfo=UTC)),
    ],
)
def test_parse_accepts(text: str, expected: datetime) -> None:
    got = parse_timestamp(text)
    assert got == expected
    assert got is not None and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "text",
    [
        # Rejected by AWS in the recorded Wait / Choice cases.
        "2026-11-24T21:59:39",  # no offset
        "2026-11-24T21:59:39.000000",
        "2016-13-05T21:29:29Z",  # month 13
        "05-12-2016T21:29:29Z",
        "2016-12-05 21:29:29Z",  # space instead of T
        "2016-12-05T25:29:29Z",  # hour 25
        "2023-02-24",
        "2023-02-24 12:15:56.832957",
        "2012-10-09T19:00:55",
        "",
        " 2016-03-14T01:59:00Z",
        # Strict resolution and grammar.
        "2015-02-29T00:00:00Z",  # not a leap year
        "2016-04-31T00:00:00Z",
        "2016-03-14T24:00:00Z",
        "2016-03-14T01:60:00Z",
        "2016-03-14T01:59:60Z",  # no leap second
        "2016-03-14T01:59:00.1234567890Z",  # more than 9 fraction digits
        "2016-03-14T01:59:00+0100",  # offset needs a colon
        "2016-03-14T01:59:00+19:00",  # beyond ±18:00
        "2016-03-14T01:59:00+01:60",
        "2016-3-14T01:59:00Z",
        "2016-03-14T01:59:00Z ",
        "２０１６-03-14T01:59:00Z",  # full-width digits
    ],
)
def test_parse_rejects(text: str) -> None:
    assert parse_timestamp(text) is None


def test_offsets_compare_as_instants() -> None:
    assert parse_timestamp("2012-10-09T20:00:55+01:00") == parse_timestamp("2012-10-09T19:00:55Z")
    a = parse_timestamp("2012-10-09T19:00:55+01:00")
    b = parse_timestamp("2012-10-09T19:00:55Z")
    assert a is not None and b is not None and a < b


def test_format_milliseconds_and_z() -> None:
    assert format_timestamp(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00.000Z"
    assert (
        format_timestamp(datetime(2024, 1, 1, 0, 0, 0, 123999, tzinfo=UTC))
        == "2024-01-01T00:00:00.123Z"
    )


def test_format_converts_to_utc() -> None:
    dt = datetime(2024, 1, 1, 1, 30, 5, 7000, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(dt) == "2023-12-31T23:30:05.007Z"


def test_format_naive_is_utc() -> None:
    assert format_timestamp(datetime(2019, 3, 26, 20, 14, 13, 192000)) == "2019-03-26T20:14:13.192Z"


def test_format_round_trips_through_parse() -> None:
    dt = datetime(2031, 7, 4, 12, 0, 1, 250000, tzinfo=UTC)
    assert parse_timestamp(format_timestamp(dt)) == dt
