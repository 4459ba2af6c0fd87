"""Span export for a provider msatrace owns: counted, and flushed within a deadline.

OpenTelemetry's ``BatchSpanProcessor`` exports from a background thread through an exporter that
retries with backoff, each export bounded by its own timeout. Its ``force_flush`` ignores the
timeout it is given (opentelemetry-python#4568) and exports every queued batch in turn, so a
flush or a shutdown against a collector that refuses, fails or hangs takes many times the
exporter's timeout. msatrace bounds them itself: the work runs in a daemon thread that is waited
for at most ``timeout`` seconds; past that the exporter is told to stop (no more retries, later
batches fail at once) and the caller, often a process on its way out, goes on without it. That
thread (:class:`Runner`) starts with the export pipeline, not at the flush: from Python 3.12 on,
no thread may start once the interpreter is exiting, which is when ``atexit`` flushes run. A
forked child (a worker of a ``--preload`` server) gets its own thread at the fork, for the
same reason: started lazily, it could not start at the child's exit.

Spans handed to the processor and spans the exporter delivered are counted, so a shutdown that
could not deliver everything says once how many spans were lost.

Imports: the standard library, opentelemetry and ``msatrace._core.safety``.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import threading
import weakref
from collections.abc import Callable, Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from msatrace._core.safety import guard

_log = logging.getLogger("msatrace")


class Counted(SpanExporter):
    """The exporter, counting the spans it delivered; once stopped, it sends nothing more."""

    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner
        self.exported = 0  # written by one thread at a time: the processor exports under a lock
        self._stopped = False
        self._stop_lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._stopped:
            return SpanExportResult.FAILURE  # past the deadline: nobody waits for these any more
        result = self.inner.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        return result

    def shutdown(self) -> None:
        """Stop the exporter once (a second SDK ``shutdown`` call would log a warning)."""
        with self._stop_lock:
            if self._stopped:
                return
            self._stopped = True
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


class Runner:
    """A daemon thread that runs flushes and shutdowns, so that their callers can stop waiting."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.start()
        if hasattr(os, "register_at_fork"):  # not on Windows
            # A weak reference: a hook cannot be unregistered, and it must not keep a stopped
            # runner (and its provider) alive for the life of the process.
            this = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _restart_in_child(this))
        self._stopped = False

    def start(self) -> bool:
        """Have the thread running (again after a fork); False when no thread may start."""
        if self._thread is not None and self._thread.is_alive():
            return True
        thread = threading.Thread(target=self._serve, name="msatrace-flush", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # "can't create new thread at interpreter shutdown"
            return False
        self._thread = thread
        return True

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def run(self, job: Callable[[], None]) -> bool:
        """Hand ``job`` to the thread; False (job not taken) when there is no thread."""
        if not self.start():
            return False
        self._jobs.put(job)
        return True

    @property
    def alive(self) -> bool:
        """Whether the thread is running now."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """End the thread once the jobs handed to it are done."""
        self._stopped = True
        self._jobs.put(None)

    def after_fork(self) -> None:
        """In a forked child: a fresh queue (the parent's jobs are the parent's) and thread."""
        self._jobs = queue.SimpleQueue()
        self._thread = None
        if not self._stopped:
            self.start()


def _restart_in_child(ref: weakref.ref[Runner]) -> None:
    runner = ref()
    if runner is not None:
        with guard("export.after_fork"):
            runner.after_fork()


class Batch(BatchSpanProcessor):
    """``BatchSpanProcessor`` over a :class:`Counted` exporter, counting the spans it is given."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.counted = Counted(exporter)
        super().__init__(self.counted)
        # itertools.count: next() is one atomic step, where `+= 1` on an attribute is not
        # (spans end on many threads). Read through not_exported(), which accounts for its reads.
        self._ended = itertools.count()
        self._reads = 0
        self._queue_span = super().on_end  # bound once: on_end runs for every span
        self.flushing: threading.Event | None = None  # the last flush's: set once it finished
        self.ran_out = False  # the last flush ended without delivering everything in time
        self.runner = Runner()

    def on_end(self, span: ReadableSpan) -> None:
        # Every span that reaches here is sampled: the provider is msatrace's, whose samplers
        # record only what they sample (no RECORD_ONLY decision).
        next(self._ended)
        self._queue_span(span)

    def not_exported(self) -> int:
        """Spans handed to this processor and not (yet) delivered by the exporter."""
        ended = next(self._ended) - self._reads
        self._reads += 1
        return max(0, ended - self.counted.exported)


def within(
    timeout: float, work: Callable[[], object], site: str, batch: Batch | None
) -> threading.Event:
    """Run ``work`` on the batch's :class:`Runner`, waiting at most ``timeout`` seconds; the event
    returned is set once it has finished. Without a runner (nothing is exported, or its thread
    cannot start) ``work`` runs here."""
    done = threading.Event()

    def run() -> None:
        try:
            with guard(site):
                work()
        finally:
            done.set()

    if batch is None or not batch.runner.run(run):
        run()
    done.wait(max(0.0, timeout))
    return done


def _stuck(batch: Batch | None) -> bool:
    """A flush ran out of time: it is still waiting on the collector, or gave up at its deadline
    (OpenTelemetry's older ``force_flush`` returns False there instead of waiting on)."""
    if batch is None:
        return False
    return batch.ran_out or (batch.flushing is not None and not batch.flushing.is_set())


def flush(provider: TracerProvider, batch: Batch | None, timeout: float) -> bool:
    """Export the spans buffered so far, waiting at most ``timeout`` seconds."""
    if _stuck(batch):
        return False  # waiting again would only wait on the same collector
    delivered: list[bool] = []
    done = within(
        timeout,
        lambda: delivered.append(provider.force_flush(int(timeout * 1000))),
        "tracing.flush",
        batch,
    )
    ok = done.is_set() and delivered == [True]
    if batch is not None:
        batch.flushing = done
        batch.ran_out = not ok
    return ok


def close(provider: TracerProvider, batch: Batch | None, timeout: float) -> None:
    """Flush and shut ``provider`` down within ``timeout`` seconds, whatever the collector does.

    Past the deadline the exporter is stopped (the attempt in flight ends by its own timeout, in
    a thread nobody waits for) and one warning says how many spans were not exported. After a
    flush that ran out of time and is still waiting (the lifespan's, then SIGTERM's or exit's),
    it does not wait again: one process stop spends the bound once.
    """

    def work() -> None:
        provider.force_flush(int(timeout * 1000))
        provider.shutdown()

    finished = within(0.0 if _stuck(batch) else timeout, work, "tracing.shutdown", batch).is_set()
    if batch is None:
        return
    batch.runner.stop()
    if not finished:
        with guard("tracing.shutdown"):
            batch.counted.shutdown()
    lost = batch.not_exported()
    if lost:
        _log.warning(
            "msatrace: %d span(s) not exported at shutdown (%s); they are lost",
            lost,
            "the collector refused them"
            if finished
            else f"the collector did not take them within {timeout:g} s",
        )
