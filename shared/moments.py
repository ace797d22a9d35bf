"""How a moment is written for people on both apps' pages."""
from datetime import datetime, timezone


def in_words(moment):
    """'1 Dec 2026, 06:19 UTC' for an aware datetime or an ISO 8601 string with an offset."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    at = moment.astimezone(timezone.utc)
    return f"{at.day} {at:%b %Y, %H:%M} UTC"
