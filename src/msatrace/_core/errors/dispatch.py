"""Delivery: reports leave the request's thread at once and reach the notifiers from one thread.

``Dispatcher.observe(event)`` asks the noise control what to send and puts it on a bounded queue
(never blocking: when the queue is full the report is dropped and counted). One daemon thread
delivers each report to every notifier, retrying a notifier that answers 429 or 5xx or cannot be
reached (honouring ``Retry-After``, backing off otherwise), and sends the digests whose window has
ended. The thread starts on the first report and again in a forked child (gunicorn ``--preload``),
where the parent's thread does not exist. ``close()`` sends the pending digests and waits a
bounded time. A notifier's failure is logged (rate-limited) and counted, never raised, and never
captured as an error of its own.

Imports: the standard library, ``_core.safety`` and this package.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import weakref
from collections.abc import Sequence
from typing import Protocol

from msatrace._core.errors.event import ErrorEvent
from msatrace._core.errors.noise import Noise, Report
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
    """The bounded queue and the thread between capture and the notifiers."""

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        noise: Noise,
        *,
        queue_size: int = 1000,
        retries: int = 3,
        backoff: float = 1.0,
        max_wait: float = 30.0,
        tick: float = 1.0,
    ) -> None:
        self.notifiers = tuple(notifiers)
        self.noise = noise
        self.queue_size = queue_size
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.tick = tick
        self.dropped = 0
        self.failed = 0
        self.delivered = 0
        self._closing = False
        self._deadline = float("inf")
        self._reset()
        _live.add(self)

    def _reset(self) -> None:
        self._queue: queue.Queue[Report] = queue.Queue(self.queue_size)
        self._busy = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # --- the request's side: never blocks, never raises -------------------------------------

    def observe(self, event: ErrorEvent) -> None:
        """One occurrence of a bug: report it now, or count it for the digest."""
        try:
            report = self.noise.observe(event, time.time())
            self._ensure_thread()
            if report is not None:
                self._put(report)
        except Exception as exc:
            warn_once("errors.observe", "msatrace: could not queue an error report: %s", exc)

    def _put(self, report: Report) -> None:
        with self._cond:
            try:
                self._queue.put_nowait(report)
            except queue.Full:
                self.dropped += 1
                warn_once("errors.full", "msatrace: error report queue full; reports dropped")
                return
            self._busy += 1

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
            try:
                report = self._queue.get(timeout=self.tick)
            except queue.Empty:
                report = None
            if report is not None:
                self._deliver(report)
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()
            for digest in self.noise.due(time.time()):
                self._put(digest)
            if self._closing and self._queue.empty():
                return

    def _deliver(self, report: Report) -> None:
        for notifier in self.notifiers:
            attempt = 0
            while True:
                try:
                    notifier.send(report)
                    self.delivered += 1
                    break
                except DeliveryError as exc:
                    wait = (
                        exc.retry_after
                        if exc.retry_after is not None
                        else self.backoff * 2**attempt
                    )
                    if not exc.retry or attempt >= self.retries or not self._may_wait(wait):
                        self._failed(notifier, exc)
                        break
                    attempt += 1
                    time.sleep(min(wait, self.max_wait))
                except Exception as exc:  # a notifier's bug: not retried
                    self._failed(notifier, exc)
                    break

    def _may_wait(self, seconds: float) -> bool:
        return time.monotonic() + min(seconds, self.max_wait) < self._deadline

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
        """Send pending digests and wait at most ``timeout`` s; True when everything went out."""
        self._deadline = time.monotonic() + timeout
        for digest in self.noise.due(time.time(), final=True):
            self._put(digest)
        self._closing = True
        if self._busy:
            self._ensure_thread()
        with self._cond:
            done = self._cond.wait_for(
                lambda: self._busy == 0, max(0.0, self._deadline - time.monotonic())
            )
        _live.discard(self)
        return done


_live: weakref.WeakSet[Dispatcher] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The parent's delivery thread does not exist here, and its queue's lock may be held by it.
    for dispatcher in list(_live):
        dispatcher._reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
