"""Delivery: reports leave the request's thread at once and reach the notifiers from one thread.

``Dispatcher.observe(event)`` only adds the occurrence to an in-memory inbox, one slot per
fingerprint (repeats are counted in their slot; past ``queue_size`` distinct bugs an occurrence is
dropped and counted), so a request never waits for the network. One daemon thread takes the inbox,
redacts each event (``redact``: the log lines' rules), asks the noise control (per process, or
shared through Redis) what to send, and puts each report, and each digest whose window has
ended, in every notifier's outbox. Each notifier sends its outbox in order; one that answers 429
or 5xx or cannot be reached is tried again later (``Retry-After`` honoured, else backing off 1,
2, 4 ... up to 30 s; ``retries`` times: about three and a half minutes of outage) while the
others go on. An outbox holds ``outbox_size`` reports: a vendor down for longer loses its oldest
first, counted. The thread starts on the first report and again in a forked child (gunicorn
``--preload``), where the parent's thread does not exist. ``close()`` sends the pending digests
and waits a bounded time. A notifier's failure is logged (rate-limited) and counted, never
raised, and never captured as an error of its own.

Imports: the standard library, ``_core.safety`` and this package.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from msatrace._core.errors.event import ErrorEvent
from msatrace._core.errors.noise import MAX_TRACE_IDS, Noise, Report
from msatrace._core.safety import warn_once


class DeliveryError(Exception):
    """A notifier could not deliver; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


class Notifier(Protocol):
    """Sends one report somewhere. Raise :class:`DeliveryError` when it could not."""

    name: str

    def send(self, report: Report) -> None: ...


class Dispatcher:
    """Between capture and the notifiers: an in-memory inbox and one delivery thread."""

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        noise: Noise,
        *,
        queue_size: int = 1000,
        retries: int = 10,
        backoff: float = 1.0,
        max_wait: float = 30.0,
        outbox_size: int = 100,
        tick: float = 1.0,
        redact: Callable[[ErrorEvent], ErrorEvent] | None = None,
    ) -> None:
        self.notifiers = tuple(notifiers)
        self.noise = noise
        # Applied on this thread to every event before the noise control and the notifiers see
        # it (``errors.redaction``): the request only queues, and nothing unredacted leaves.
        self.redact = redact
        self.queue_size = queue_size
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.outbox_size = outbox_size
        self.tick = tick
        self.dropped = 0
        self.failed = 0
        self.delivered = 0
        self._closing = False
        self._gave_up = False
        self._deadline = float("inf")
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        # fingerprint -> [first event, repeats since, some of their trace IDs]
        self._inbox: dict[str, list[Any]] = {}
        self._wake = False  # a new bug in the inbox, or close(): no waiting for the tick
        self._cond = threading.Condition()
        self._working = False
        self._thread: threading.Thread | None = None
        # Per notifier: the reports it has still to send ([report, attempts so far]), and when
        # it may try again (time.monotonic()).
        self._outboxes: list[deque[list[Any]]] = [deque() for _ in self.notifiers]
        self._resume = [0.0] * len(self.notifiers)

    # --- the request's side: memory only, never blocks, never raises ------------------------

    def observe(self, event: ErrorEvent) -> None:
        """One occurrence of a bug, handed to the delivery thread."""
        try:
            with self._cond:
                slot = self._inbox.get(event.fingerprint)
                if slot is None:
                    if len(self._inbox) >= self.queue_size:
                        self.dropped += 1
                        return
                    self._inbox[event.fingerprint] = [event, 0, []]
                    # A bug not yet in the inbox wakes the thread (its first report goes out at
                    # once); a repeat only counts, and is picked up at the next tick at the
                    # latest: a storm of one bug costs the thread one pass per tick, not one
                    # per occurrence.
                    self._wake = True
                    self._cond.notify_all()
                else:
                    slot[1] += 1
                    if event.trace_id and len(slot[2]) < MAX_TRACE_IDS:
                        slot[2].append(event.trace_id)
            self._ensure_thread()
        except Exception as exc:
            warn_once("errors.observe", "msatrace: could not queue an error report: %s", exc)

    # --- the delivery thread ----------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="msatrace-errors", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._wake:
                    self._cond.wait(self._sleep())
                self._wake = False
                inbox, self._inbox = self._inbox, {}
                self._working = True
            try:
                now = time.time()
                for event, repeats, traces in inbox.values():
                    event = self._redacted(event)
                    if event is None:
                        continue
                    report = self.noise.observe(event, now, repeats=repeats, traces=tuple(traces))
                    if report is not None:
                        self._queue(report)
                for digest in self.noise.due(time.time(), final=self._closing):
                    self._queue(digest)
            except Exception as exc:  # the noise control's store failing: logged, never raised
                warn_once("errors.run", "msatrace: error reporting failed: %s", exc)
            self._send_due()
            with self._cond:
                self._working = False
                self._cond.notify_all()
                done = not any(self._outboxes) or time.monotonic() >= self._deadline
                if self._closing and not self._inbox and done:
                    self._abandon()
                    return

    def _sleep(self) -> float:
        """Until the next thing to do: a notifier's retry, the next tick, or close's deadline."""
        now = time.monotonic()
        wait = self.tick
        for outbox, resume in zip(self._outboxes, self._resume, strict=True):
            if outbox:
                wait = min(wait, resume - now)
        if self._closing:
            wait = min(wait, self._deadline - now) if any(self._outboxes) else 0.0
        return max(0.0, wait)

    def _redacted(self, event: ErrorEvent) -> ErrorEvent | None:
        if self.redact is None:
            return event
        try:
            return self.redact(event)
        except Exception as exc:  # never send what could not be redacted
            self.dropped += 1
            warn_once("errors.redact", "msatrace: could not redact an error report: %s", exc)
            return None

    def _queue(self, report: Report) -> None:
        """One report for every notifier, behind what each still has to send (oldest first)."""
        for i, outbox in enumerate(self._outboxes):
            if len(outbox) >= self.outbox_size:
                outbox.popleft()  # a vendor down for long: its oldest report makes room
                self._failed(self.notifiers[i], DeliveryError("outbox full", retry=False))
            outbox.append([report, 0])

    def _send_due(self) -> None:
        """Each notifier sends what it has, in order, until one needs a pause: a notifier that
        is down waits (``Retry-After`` or backoff) without holding the others back."""
        for i, notifier in enumerate(self.notifiers):
            outbox = self._outboxes[i]
            while outbox and time.monotonic() >= self._resume[i]:
                item = outbox[0]
                try:
                    notifier.send(item[0])
                except DeliveryError as exc:
                    if exc.retry and item[1] < self.retries:
                        wait = exc.retry_after
                        if wait is None:
                            wait = self.backoff * 2 ** item[1]
                        item[1] += 1
                        self._resume[i] = time.monotonic() + min(wait, self.max_wait)
                        break
                    self._failed(notifier, exc)
                except Exception as exc:  # a notifier's bug: not retried
                    self._failed(notifier, exc)
                else:
                    self.delivered += 1
                outbox.popleft()

    def _abandon(self) -> None:
        """At close's deadline: what is still waiting is counted as failed."""
        for notifier, outbox in zip(self.notifiers, self._outboxes, strict=True):
            while outbox:
                self._gave_up = True
                outbox.popleft()
                self._failed(notifier, DeliveryError("not sent before shutdown", retry=False))

    def _failed(self, notifier: Notifier, exc: BaseException) -> None:
        self.failed += 1
        warn_once(
            f"errors.{notifier.name}",
            "msatrace: %s did not take an error report: %s",
            notifier.name,
            exc,
        )

    # --- shutdown ---------------------------------------------------------------------------

    def close(self, timeout: float = 2.0) -> bool:
        """Send what is pending (digests too) within ``timeout`` s; True when all went out."""
        self._deadline = time.monotonic() + timeout
        with self._cond:
            self._closing = True
            self._wake = True
            self._cond.notify_all()
        self._ensure_thread()
        thread = self._thread
        if thread is not None:
            thread.join(max(0.0, self._deadline - time.monotonic()))
        _live.discard(self)
        return (thread is None or not thread.is_alive()) and not self._gave_up


_live: weakref.WeakSet[Dispatcher] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The parent's delivery thread does not exist here, and its queue's lock may be held by it.
    for dispatcher in list(_live):
        dispatcher._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
