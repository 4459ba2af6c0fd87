"""Noise control shared by every process through Redis: three workers, one report.

The same rules as :class:`~msatrace._core.errors.noise.Noise`, decided in Redis so that all the
processes of a service (gunicorn workers, replicas) agree: the process whose ``SET ... NX`` on a
fingerprint's ``open`` key succeeds reports it; every other occurrence, in any process, adds to
the shared ``pending`` counter and trace-ID list; when the fingerprint's ``window`` key expires,
the process that sets it again first (``NX``) takes the pending count (``GETDEL``) and sends the
digest. A bug silent for ``quiet`` seconds lets its ``open`` key expire: the next occurrence is
reported again (``returned``, since ``seen`` remembers it for 30 days). The cap on immediate
reports is a per-minute counter.

Runs on the delivery thread only (never on a request). When Redis cannot be reached, the process
falls back to its own decisions (one warning) and tries Redis again on the next occurrence.

Imports: the standard library, ``_core.safety`` and this package.
"""

from __future__ import annotations

from collections import OrderedDict

from msatrace._core.errors.event import ErrorEvent
from msatrace._core.errors.noise import MAX_TRACE_IDS, Kind, Noise, Report
from msatrace._core.errors.resp import Redis
from msatrace._core.safety import warn_once

SEEN_MS = 30 * 24 * 3600 * 1000


class SharedNoise(Noise):
    """:class:`Noise` whose decisions all processes sharing ``redis_url`` agree on."""

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "msatrace:errors",
        window: float = 600.0,
        quiet: float = 3600.0,
        cap_per_minute: int = 30,
        max_groups: int = 1000,
    ) -> None:
        super().__init__(
            window=window, quiet=quiet, cap_per_minute=cap_per_minute, max_groups=max_groups
        )
        self.redis = Redis(redis_url)
        self.prefix = prefix
        # fingerprints this process has seen: the latest event (a digest names it)
        self._known: OrderedDict[str, tuple[ErrorEvent, float]] = OrderedDict()

    def observe(
        self, event: ErrorEvent, now: float, *, repeats: int = 0, traces: tuple[str, ...] = ()
    ) -> Report | None:
        try:
            return self._shared_observe(event, now, repeats, traces)
        except OSError as exc:
            warn_once("errors.redis", "msatrace: Redis for error reports unreachable: %s", exc)
            return super().observe(event, now, repeats=repeats, traces=traces)

    def due(self, now: float, *, final: bool = False) -> list[Report]:
        local = super().due(now, final=final)
        try:
            return local + self._shared_due(now, final)
        except OSError as exc:
            warn_once("errors.redis", "msatrace: Redis for error reports unreachable: %s", exc)
            return local

    def _key(self, fingerprint: str, name: str) -> str:
        return f"{self.prefix}:{fingerprint}:{name}"

    def _shared_observe(
        self, event: ErrorEvent, now: float, repeats: int, traces: tuple[str, ...]
    ) -> Report | None:
        fp, r = event.fingerprint, self.redis
        self._remember(event, now)
        quiet_ms = max(1, int(self.quiet * 1000))
        if r.call("SET", self._key(fp, "open"), "1", "NX", "PX", quiet_ms) == b"OK":
            before = r.call("SET", self._key(fp, "seen"), "1", "PX", SEEN_MS, "GET")
            kind: Kind = "returned" if before is not None else "new"
            r.call("SET", self._key(fp, "window"), str(now), "PX", max(1, int(self.window * 1000)))
            self._add_pending(fp, repeats, traces)
            if not self._shared_allowed(now):
                self._add_pending(fp, 1, (event.trace_id,) if event.trace_id else ())
                return None
            return Report.first(kind, event, now, self.window)
        r.call("PEXPIRE", self._key(fp, "open"), quiet_ms)
        more = (event.trace_id,) if event.trace_id else ()
        self._add_pending(fp, repeats + 1, more + traces)
        return None

    def _add_pending(self, fp: str, count: int, traces: tuple[str, ...]) -> None:
        if count <= 0:
            return
        self.redis.call("INCRBY", self._key(fp, "pending"), count)
        if traces:
            key = self._key(fp, "traces")
            self.redis.call("RPUSH", key, *traces[:MAX_TRACE_IDS])
            self.redis.call("LTRIM", key, 0, MAX_TRACE_IDS - 1)

    def _shared_allowed(self, now: float) -> bool:
        minute = int(now // 60)
        key = f"{self.prefix}:cap:{minute}"
        count = self.redis.call("INCR", key)
        self.redis.call("EXPIRE", key, 120)
        return isinstance(count, int) and count <= self.cap_per_minute

    def _shared_due(self, now: float, final: bool) -> list[Report]:
        reports = []
        window_ms = max(1, int(self.window * 1000))
        for fp, (event, first_seen) in list(self._known.items()):
            window = self._key(fp, "window")
            if (
                not final
                and self.redis.call("SET", window, str(now), "NX", "PX", window_ms) != b"OK"
            ):
                continue  # the window is still open, or another process took this digest
            taken = self.redis.call("GETDEL", self._key(fp, "pending"))
            count = int(taken) if isinstance(taken, (bytes, int)) else 0
            if count <= 0:
                continue
            traces = self.redis.call("LRANGE", self._key(fp, "traces"), 0, MAX_TRACE_IDS - 1)
            self.redis.call("DEL", self._key(fp, "traces"))
            listed = traces if isinstance(traces, list) else []
            trace_ids = tuple(t.decode() for t in listed if isinstance(t, bytes))
            reports.append(
                Report(
                    kind="digest",
                    event=event,
                    count=count,
                    trace_ids=trace_ids,
                    first_seen=first_seen,
                    last_seen=now,
                    window=self.window,
                )
            )
        return reports

    def _remember(self, event: ErrorEvent, now: float) -> None:
        first = self._known.pop(event.fingerprint, (event, now))[1]
        self._known[event.fingerprint] = (event, first)
        while len(self._known) > self.max_groups:
            self._known.popitem(last=False)
