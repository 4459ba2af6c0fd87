"""The RED recorder: what the end of a request, a hop or a task adds to msatrace's metrics.

A :class:`Recorder` is built once by ``init()`` (see ``build`` in this package) and called by
the outcome step with plain keyword arguments; it normalises them into low-cardinality attribute
sets under OpenTelemetry's stable names (unknown methods become ``_OTHER``, ``error.type`` is the
status code of a failed response without an exception, an absent route is no ``http.route``)
and adds one measurement to an in-process :mod:`store` instrument. It never raises: a bad
argument is reported once through ``safety`` and the request goes on.

Imports: the standard library, ``_core.semconv``, ``_core.safety`` and this package's ``store``.
"""

from __future__ import annotations

from msatrace._core import semconv as sc
from msatrace._core.metrics.store import Gauge, Histogram, Snapshot, snapshot
from msatrace._core.safety import failed

# Attribute keys of each instrument, in the order of its series keys; "" in a key means absent.
SERVER_KEYS = (
    sc.HTTP_REQUEST_METHOD,
    sc.URL_SCHEME,
    sc.HTTP_RESPONSE_STATUS_CODE,
    sc.HTTP_ROUTE,
    sc.ERROR_TYPE,
)
ACTIVE_KEYS = (sc.HTTP_REQUEST_METHOD, sc.URL_SCHEME)
CLIENT_KEYS = (
    sc.HTTP_REQUEST_METHOD,
    sc.SERVER_ADDRESS,
    sc.SERVER_PORT,
    sc.HTTP_RESPONSE_STATUS_CODE,
    sc.ERROR_TYPE,
)
MESSAGING_KEYS = (
    sc.MESSAGING_OPERATION_NAME,
    sc.MESSAGING_SYSTEM,
    sc.MESSAGING_DESTINATION_NAME,
    sc.ERROR_TYPE,
)
TASK_KEYS = (sc.MSATRACE_TASK_NAME, sc.MSATRACE_TASK_OUTCOME, sc.ERROR_TYPE)

# name -> (unit, attribute keys, description): what the exposition needs to write each family.
HISTOGRAMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    sc.METRIC_HTTP_SERVER_DURATION: (
        sc.UNIT_SECONDS,
        SERVER_KEYS,
        "Duration of HTTP server requests.",
    ),
    sc.METRIC_HTTP_CLIENT_DURATION: (
        sc.UNIT_SECONDS,
        CLIENT_KEYS,
        "Duration of HTTP client requests.",
    ),
    sc.METRIC_MESSAGING_CLIENT_DURATION: (
        sc.UNIT_SECONDS,
        MESSAGING_KEYS,
        "Duration of messaging operation initiated by a producer or consumer client.",
    ),
    sc.METRIC_MESSAGING_PROCESS_DURATION: (
        sc.UNIT_SECONDS,
        MESSAGING_KEYS,
        "Duration of processing operation.",
    ),
    sc.METRIC_TASK_DURATION: (
        sc.UNIT_SECONDS,
        TASK_KEYS,
        "Duration of background task runs, by outcome.",
    ),
}
GAUGES: dict[str, tuple[str, tuple[str, ...], str]] = {
    sc.METRIC_HTTP_SERVER_ACTIVE: (
        sc.UNIT_REQUEST,
        ACTIVE_KEYS,
        "Number of active HTTP server requests.",
    ),
}


class Recorder:
    """Records requests, hops and tasks into in-process instruments; the sink of the outcome step.

    Args:
        limit: distinct attribute sets per metric before the overflow series takes the rest.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        """Start from nothing (a forked child must not count its parent's requests again)."""
        b, limit = sc.DURATION_BUCKETS, self.limit
        self._server = Histogram(sc.METRIC_HTTP_SERVER_DURATION, b, limit)
        self._client = Histogram(sc.METRIC_HTTP_CLIENT_DURATION, b, limit)
        self._publish = Histogram(sc.METRIC_MESSAGING_CLIENT_DURATION, b, limit)
        self._process = Histogram(sc.METRIC_MESSAGING_PROCESS_DURATION, b, limit)
        self._task = Histogram(sc.METRIC_TASK_DURATION, b, limit)
        self._active = Gauge(sc.METRIC_HTTP_SERVER_ACTIVE, limit)
        self._histograms = (self._server, self._client, self._publish, self._process, self._task)
        # Bumped on every measurement: the multi-process writer skips a file write when unchanged.
        self.changes = 0

    def record_server(
        self,
        *,
        method: str,
        route: str | None,
        status: int | None,
        scheme: str,
        error_type: str | None,
        duration_s: float,
        trace_id: int | str | None = None,
        span_id: int | str | None = None,
        sampled: bool = False,
        was_active: bool = False,
    ) -> None:
        """One finished inbound request: ``http.server.request.duration``.

        ``route`` is the framework's template or None (never the raw path); ``error_type`` the
        exception's qualified class name, else the status code of a 5xx; the trace and span IDs
        of a sampled request become the exemplar of its bucket. ``was_active``: the request was
        counted in ``http.server.active_requests`` when it began; it is taken back here, under
        the same method and scheme, so the outcome step makes one call per request.
        """
        try:
            method = method if method in sc.KNOWN_METHODS else sc.HTTP_METHOD_OTHER
            if was_active:
                self._active.add((method, scheme), -1)
            if error_type is None and status is not None and status >= 500:
                error_type = str(status)
            key = (method, scheme, str(status) if status else "", route or "", error_type or "")
            exemplar = (trace_id, span_id) if sampled and trace_id else None
            self._server.record(key, duration_s, exemplar)
            self.changes += 1
        except Exception as exc:
            failed("metrics.record_server", exc)

    def active_requests(self, delta: int, *, method: str, scheme: str) -> None:
        """``http.server.active_requests``: +1 when a request begins, -1 when it ends."""
        try:
            method = method if method in sc.KNOWN_METHODS else sc.HTTP_METHOD_OTHER
            self._active.add((method, scheme), delta)
            self.changes += 1
        except Exception as exc:
            failed("metrics.active_requests", exc)

    def record_client(
        self,
        *,
        method: str,
        server_address: str,
        server_port: int | None,
        status: int | None,
        error_type: str | None,
        duration_s: float,
        trace_id: int | str | None = None,
        span_id: int | str | None = None,
        sampled: bool = False,
    ) -> None:
        """One outgoing HTTP hop (each redirect counts): ``http.client.request.duration``.

        A 4xx or 5xx without an exception has its status code as ``error.type``
        (http-spans.md, "Status": a client treats both as errors).
        """
        try:
            if error_type is None and status is not None and status >= 400:
                error_type = str(status)
            port = str(server_port) if server_port else ""
            method = method if method in sc.KNOWN_METHODS else sc.HTTP_METHOD_OTHER
            status_code = str(status) if status else ""
            key = (method, server_address, port, status_code, error_type or "")
            exemplar = (trace_id, span_id) if sampled and trace_id else None
            self._client.record(key, duration_s, exemplar)
            self.changes += 1
        except Exception as exc:
            failed("metrics.record_client", exc)

    def record_publish(
        self,
        *,
        operation: str,
        system: str,
        destination: str | None,
        error_type: str | None,
        duration_s: float,
        trace_id: int | str | None = None,
        span_id: int | str | None = None,
        sampled: bool = False,
    ) -> None:
        """One message sent (Celery: ``send``): ``messaging.client.operation.duration``.

        ``operation`` is ``messaging.operation.name``, ``system`` ``messaging.system``
        (``celery``), ``destination`` the queue or task name (``messaging.destination.name``).
        """
        try:
            key = (operation, system, destination or "", error_type or "")
            exemplar = (trace_id, span_id) if sampled and trace_id else None
            self._publish.record(key, duration_s, exemplar)
            self.changes += 1
        except Exception as exc:
            failed("metrics.record_publish", exc)

    def record_process(
        self,
        *,
        operation: str,
        system: str,
        destination: str | None,
        error_type: str | None,
        duration_s: float,
        trace_id: int | str | None = None,
        span_id: int | str | None = None,
        sampled: bool = False,
    ) -> None:
        """One message processed (a Celery task run): ``messaging.process.duration``.

        Arguments as :meth:`record_publish`; ``error_type`` is the task's exception class.
        """
        try:
            key = (operation, system, destination or "", error_type or "")
            exemplar = (trace_id, span_id) if sampled and trace_id else None
            self._process.record(key, duration_s, exemplar)
            self.changes += 1
        except Exception as exc:
            failed("metrics.record_process", exc)

    def record_task(
        self,
        *,
        name: str,
        outcome: str,
        error_type: str | None,
        duration_s: float,
        trace_id: int | str | None = None,
        span_id: int | str | None = None,
        sampled: bool = False,
    ) -> None:
        """One ``@msatrace.task`` run: ``msatrace.task.duration`` by outcome (``ok``, ``error``...).

        ``name`` must be the task's code name (a few per service), never a per-call value.
        """
        try:
            key = (name, outcome, error_type or "")
            exemplar = (trace_id, span_id) if sampled and trace_id else None
            self._task.record(key, duration_s, exemplar)
            self.changes += 1
        except Exception as exc:
            failed("metrics.record_task", exc)

    def snapshot(self) -> Snapshot:
        """A copy of every instrument's state."""
        return snapshot(self._histograms, (self._active,))
