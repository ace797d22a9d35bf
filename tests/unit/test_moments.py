"""A moment in words, as both apps' pages write it."""
from datetime import datetime, timedelta, timezone

from shared.moments import in_words


def test_a_moment_is_written_in_utc_whatever_its_offset_or_form():
    assert in_words("2026-12-01T04:20:31.123Z") == "1 Dec 2026, 04:20 UTC"
    assert in_words("2026-12-01T06:20:00+02:00") == "1 Dec 2026, 04:20 UTC"
    assert in_words("2026-12-01T04:20") == "1 Dec 2026, 04:20 UTC"  # stored moments are UTC
    assert in_words(datetime(2031, 7, 4, 20, 30, tzinfo=timezone(timedelta(hours=2)))) == "4 Jul 2031, 18:30 UTC"
