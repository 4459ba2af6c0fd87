"""Repeats of OpenTelemetry's own lines, cut to one a minute while its collector is down.

With the collector unreachable, OpenTelemetry's exporter logs a warning for every retry of every
batch, a few lines a second for as long as the outage lasts: the service's own lines drown in
them, and a log shipper pays for each. The bridge lets the first line of each kind through, then
at most one a window, carrying ``suppressed``: how many like it were left out since the last one.
A kind is the logger, the level and the message's format string (not its arguments, which hold
the retry delay and the error text).

Imports: the standard library only.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

PREFIXES = ("opentelemetry.",)
WINDOW = 60.0  # seconds between two lines of one kind
KINDS = 256  # kinds remembered; past that the oldest is forgotten (bounded memory)


class Repeats(logging.Filter):
    """A filter for the bridge: the first record of a kind passes, then one per ``window``."""

    def __init__(
        self,
        prefixes: tuple[str, ...] = PREFIXES,
        window: float = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = prefixes
        self._window = window
        self._clock = clock
        self._lock = threading.Lock()
        # kind -> [time the last line of it passed, records left out since]
        self._kinds: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefixes):
            return True
        kind = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        with self._lock:
            seen = self._kinds.get(kind)
            if seen is None:
                if len(self._kinds) >= KINDS:
                    del self._kinds[next(iter(self._kinds))]
                self._kinds[kind] = [now, 0]
                return True
            if now - seen[0] < self._window:
                seen[1] += 1
                return False
            left_out = int(seen[1])
            seen[0], seen[1] = now, 0
        if left_out:
            record.suppressed = left_out
        return True
