"""How a moment is written for people on both apps' pages."""
from datetime import datetime, timezone


def in_words(moment):
    """'1 Dec 2026, 06:19 UTC' for a datetime or an ISO 8601 string (one without an offset is UTC,
    as every moment the platform stores is)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    at = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return f"{at.day} {at:%b %Y, %H:%M} UTC"
