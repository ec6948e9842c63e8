"""Time travel: which records count when asking for the views "as of" a time.

The clock is the **delivery time**: the Kafka record timestamp (milliseconds
since the epoch), set when votewire's ingest published the accepted report
(CreateTime, the producer's clock; a topic configured with LogAppendTime
gets the broker's clock instead). It is *not* the commission's
`reported_at`:

- the public saw a figure only once votewire had received it; a protocol
  stamped 20:50 that reached ingest at 23:10 was not on anyone's screen at
  21:00, and the audit question "what did the public see at 21:00" is about
  delivery;
- `reported_at` is the sender's claim, written by the sender's clock (often
  wrong, sometimes in another zone), and a correction may carry an earlier
  stamp than the report it corrects; delivery times come from one clock we
  run;
- every record has one; the archive keeps it (`timestamp`), so the offline
  fold and the Kafka replay cut the log at the same place.

The live views additionally lag delivery by the aggregate's processing (well
under a second in normal operation), which time travel ignores.

A `Window` keeps the records with `start <= timestamp <= end` (bounds in ms,
both inclusive, either open). `--as-of T` and `--until T` are `end = T`:
everything delivered up to and including T; `--from T` is `start = T`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


class BadTime(ValueError):
    """A time that is not ISO 8601 with a UTC offset."""


def parse_time(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 time with an offset.

    "2021-07-25T21:00+06:00", "2021-07-25T15:00:00Z" and
    "2021-07-25 21:00:00.500+06:00" are accepted; a time without an offset
    is refused (it would silently mean the machine's zone)."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise BadTime(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadTime(f"{text!r} has no UTC offset (write e.g. 2021-07-25T21:00+06:00)")
    return round(moment.timestamp() * 1000)


def format_ms(ms: int, zone_of: datetime | None = None) -> str:
    """A timestamp as ISO 8601: in UTC, or in the offset of `zone_of` if given."""
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    if zone_of is not None and zone_of.tzinfo is not None:
        moment = moment.astimezone(zone_of.tzinfo)
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Window:
    """The records delivered in [start_ms, end_ms]; None: unbounded."""

    start_ms: int | None = None
    end_ms: int | None = None

    def __post_init__(self) -> None:
        if self.start_ms is not None and self.end_ms is not None and self.start_ms > self.end_ms:
            raise BadTime("the window starts after it ends (--from is later than --until)")

    @property
    def whole(self) -> bool:
        return self.start_ms is None and self.end_ms is None

    def contains(self, timestamp_ms: int) -> bool:
        if self.start_ms is not None and timestamp_ms < self.start_ms:
            return False
        return self.end_ms is None or timestamp_ms <= self.end_ms

    def to_dict(self) -> dict[str, str | None]:
        return {
            "from": None if self.start_ms is None else format_ms(self.start_ms),
            "until": None if self.end_ms is None else format_ms(self.end_ms),
            "clock": "delivery (Kafka record timestamp)",
        }

    def describe(self) -> str:
        if self.whole:
            return "the whole log"
        parts = []
        if self.start_ms is not None:
            parts.append(f"delivered from {format_ms(self.start_ms)}")
        if self.end_ms is not None:
            parts.append(f"delivered up to {format_ms(self.end_ms)}")
        return " and ".join(parts)


def window_of(start: str | None, end: str | None) -> Window:
    """The window of `--from` / `--until` (or `--as-of`) texts; `BadTime` if malformed."""
    return Window(
        None if start is None else parse_time(start),
        None if end is None else parse_time(end),
    )
