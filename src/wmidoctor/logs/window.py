"""--since / --until: an ISO date or date-time (UTC unless an offset is given), or an age like 24h or 7d."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from wmidoctor.errors import InputError

_AGE = re.compile(r"^(\d+)\s*([smhdw])$", re.I)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, *, end_of_day: bool = False, now: datetime | None = None) -> str:
    """Return the moment as 'YYYY-MM-DDTHH:MM:SS' in UTC, comparable with event times as strings."""
    text = text.strip()
    age = _AGE.match(text)
    if age:
        moment = (now or datetime.now(timezone.utc)) - timedelta(**{_UNITS[age[2].lower()]: int(age[1])})
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        except ValueError:
            raise InputError(f"not a time: {text!r} (use 2024-05-01, 2024-05-01T13:00, 24h or 7d)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        if end_of_day and len(text) == 10:
            moment += timedelta(days=1, seconds=-1)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
