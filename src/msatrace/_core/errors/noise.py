"""Noise control: the first occurrence of a bug reported at once, the rest as one digest per window.

Per fingerprint: the first occurrence gives a ``new`` report; later ones within the window are
counted (with a few of their trace IDs) and sent as one ``digest`` when the window ends ("37 more
in 10 minutes"); a bug seen again after ``quiet`` seconds of silence is reported at once again
(``returned``). A global cap on immediate reports per minute stops a storm of different bugs:
past it, occurrences are counted into their digests instead. Memory is bounded by ``max_groups``
fingerprints (the least recently seen is forgotten first, its pending count sent as a digest).

Per process. Several workers share nothing here; a shared store makes them agree (``shared``).

Imports: the standard library and this package.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Literal

from msatrace._core.errors.event import ErrorEvent

MAX_TRACE_IDS = 5
Kind = Literal["new", "returned", "digest"]


@dataclass(frozen=True, kw_only=True)
class Report:
    """What a notifier sends: one bug's new occurrence, its return, or a digest of repeats."""

    kind: Kind
    event: ErrorEvent  # the latest occurrence
    count: int  # occurrences this report covers
    trace_ids: tuple[str, ...]  # up to MAX_TRACE_IDS of them
    first_seen: float
    last_seen: float
    window: float  # seconds a digest covers

    @classmethod
    def first(cls, kind: Kind, event: ErrorEvent, now: float, window: float) -> Report:
        """The report of a bug's first occurrence (or of its return): reported at once."""
        return cls(
            kind=kind,
            event=event,
            count=1,
            trace_ids=(event.trace_id,) if event.trace_id else (),
            first_seen=now,
            last_seen=now,
            window=window,
        )


@dataclass
class _Group:
    first_seen: float
    last_seen: float
    window_start: float
    event: ErrorEvent
    pending: int = 0
    trace_ids: list[str] = field(default_factory=list)


class Noise:
    """The per-process decision: report now, count for the digest, or send a digest."""

    def __init__(
        self,
        *,
        window: float = 600.0,
        quiet: float = 3600.0,
        cap_per_minute: int = 30,
        max_groups: int = 1000,
    ) -> None:
        self.window = window
        self.quiet = quiet
        self.cap_per_minute = cap_per_minute
        self.max_groups = max_groups
        self._groups: OrderedDict[str, _Group] = OrderedDict()
        self._recent: deque[float] = deque()
        self._evicted: list[Report] = []
        self._lock = threading.Lock()

    def observe(
        self, event: ErrorEvent, now: float, *, repeats: int = 0, traces: tuple[str, ...] = ()
    ) -> Report | None:
        """An occurrence (and ``repeats`` more of the same bug since, with some of their trace
        IDs): the report to send now, or ``None`` (counted for the digest)."""
        with self._lock:
            report = self._observe(event, now)
            group = self._groups.get(event.fingerprint)
            if group is not None and repeats:
                group.pending += repeats
                room = MAX_TRACE_IDS - len(group.trace_ids)
                group.trace_ids.extend(traces[: max(room, 0)])
            return report

    def _observe(self, event: ErrorEvent, now: float) -> Report | None:
        group = self._groups.get(event.fingerprint)
        if group is not None and now - group.last_seen <= self.quiet:
            self._count(group, event, now)
            return None
        kind: Kind = "new" if group is None else "returned"
        if group is not None and group.pending:
            self._evicted.append(self._digest(group, now))
        group = _Group(first_seen=now, last_seen=now, window_start=now, event=event)
        self._groups[event.fingerprint] = group
        self._groups.move_to_end(event.fingerprint)
        self._bound(now)
        if not self._allowed(now):
            self._count(group, event, now)
            return None
        return Report.first(kind, event, now, self.window)

    def due(self, now: float, *, final: bool = False) -> list[Report]:
        """Digests whose window has ended (every pending one when ``final``, at shutdown)."""
        with self._lock:
            reports, self._evicted = self._evicted, []
            for group in self._groups.values():
                if group.pending and (final or now - group.window_start >= self.window):
                    reports.append(self._digest(group, now))
            return reports

    def _count(self, group: _Group, event: ErrorEvent, now: float) -> None:
        group.pending += 1
        group.last_seen = now
        group.event = event
        if event.trace_id and len(group.trace_ids) < MAX_TRACE_IDS:
            group.trace_ids.append(event.trace_id)
        self._groups.move_to_end(event.fingerprint)

    def _digest(self, group: _Group, now: float) -> Report:
        report = Report(
            kind="digest",
            event=group.event,
            count=group.pending,
            trace_ids=tuple(group.trace_ids),
            first_seen=group.first_seen,
            last_seen=group.last_seen,
            window=now - group.window_start,
        )
        group.pending = 0
        group.trace_ids = []
        group.window_start = now
        return report

    def _allowed(self, now: float) -> bool:
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        if len(self._recent) >= self.cap_per_minute:
            return False
        self._recent.append(now)
        return True

    def _bound(self, now: float) -> None:
        while len(self._groups) > self.max_groups:
            _, oldest = self._groups.popitem(last=False)
            if oldest.pending:
                self._evicted.append(self._digest(oldest, now))
