"""Inbound: per-request cost of tracing middleware, the app called in process (no server).

Each request is ``GET /orders/42`` with no incoming trace headers, answered by a route with a path
parameter that returns ``{"id": 42}`` as JSON. ASGI apps are awaited directly with a fresh scope,
a ``receive`` that returns an empty body and a ``send`` that drops the messages; WSGI apps are
called with a fresh environ and their body iterated and closed. Every log line goes to the
worker's stdout, which is ``/dev/null``.

Spans go where production sends them: an SDK ``TracerProvider`` with a ``BatchSpanProcessor``
whose exporter drops the batch (no network). Sentry gets a transport that drops every envelope.

Groups (one process each; peers that patch nothing global share the ``peers`` process):
``{fastapi,flask,django}-peers``, ``*-msatrace-full`` (span, access line with redaction,
headers: what the inbound targets are set for; RED metrics and debug on error off, as they are
measured against budgets of their own), ``*-msatrace-unsampled`` (the same, sampler
``always_off``), ``*-msatrace-off`` (the same, ``tracing=False``), ``*-msatrace-defaults``
(every setting at its default: the ``full`` set-up plus RED metrics and debug on error),
``*-sentry`` (sentry-sdk patches frameworks globally), ``django-structlog`` (configures structlog
globally).
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
import types
from collections.abc import Callable
from typing import Any

from _harness import Batch
from _setup import init_msatrace
from _setup import noop_exporter as _noop_exporter

UNAVAILABLE: dict[str, str] = {}
PATH = "/orders/42"
HEADERS = [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"bench/1.0"), (b"accept", b"*/*")]

# Groups run in several processes by run.py (the figures that decide targets come from them).
MSATRACE = ("msatrace-full", "msatrace-unsampled", "msatrace-off", "msatrace-defaults")
REPLICATED = frozenset(("peers", *MSATRACE))
GROUPS = {
    "fastapi": ["peers", *MSATRACE, "sentry"],
    "flask": ["peers", *MSATRACE, "sentry"],
    "django": ["peers", "structlog", *MSATRACE, "sentry"],
}


def build(group: str) -> dict[str, Batch]:
    framework, _, kind = group.partition("-")
    apps: dict[str, Any] = {}
    if kind.startswith("msatrace"):
        _init_msatrace(kind)
        _add(apps, f"{framework}:{kind}", lambda: _msatrace_app(framework))
        # The bare app again, beside it in this process: msatrace's added cost is also measured
        # against a baseline in its own process, as every peer's is (two processes running the
        # same bare app differ by up to ~1.5 µs per request: memory layout, hash seed).
        _add(apps, f"{framework}:bare.{kind}", lambda: _bare_beside_msatrace(framework))
    elif kind == "sentry":
        _init_sentry()
        _add(apps, f"{framework}:sentry", lambda: _bare(framework))
    elif framework == "fastapi":
        _add(apps, "fastapi:bare", lambda: _fastapi())
        _add(apps, "fastapi:asgi-correlation-id", _fastapi_cid)
        _add(apps, "fastapi:otel", _fastapi_otel)
        _add(apps, "fastapi:native", _fastapi_native)
    elif framework == "flask":
        _add(apps, "flask:bare", _flask)
        _add(apps, "flask:otel", _flask_otel)
    elif framework == "django" and kind == "peers":
        _django_setup()
        _add(apps, "django:bare", lambda: _django_handler([]))
        _add(
            apps,
            "django:django-guid",
            lambda: _django_handler(["django_guid.middleware.guid_middleware"]),
        )
        _add(apps, "django:otel", _django_otel)
    elif framework == "django" and kind == "structlog":
        _django_setup()
        _add(apps, "django:django-structlog", _django_structlog)
    caller = _asgi if framework == "fastapi" else _wsgi
    return {name: caller(name, app) for name, app in apps.items()}


def _add(apps: dict[str, Any], name: str, make: Callable[[], Any]) -> None:
    try:
        apps[name] = make()
    except ImportError as exc:
        UNAVAILABLE[name] = f"not importable: {exc}"


def _bare(framework: str) -> Any:
    if framework == "fastapi":
        return _fastapi(telemetry=None)
    if framework == "flask":
        return _flask()
    _django_setup()
    return _django_handler([])


def _bare_beside_msatrace(framework: str) -> Any:
    """The bare app in a process where ``msatrace.init()`` ran (and installed a global provider)."""
    if framework == "fastapi":
        from fastapi import FastAPI

        if hasattr(FastAPI(), "_native_telemetry"):
            # FastAPI's own tracing would now trace into msatrace's global provider: off, as
            # msatrace.fastapi.instrument turns it off (the response is checked to be untraced).
            return _fastapi(telemetry={"tracing": False})
    return _bare(framework)


# --- tracing backends ---


def _noop_provider() -> Any:
    """An SDK provider with a batch processor whose exporter drops the spans."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(_noop_exporter()))
    return provider


def _init_msatrace(kind: str) -> None:
    # The inbound targets' set-up: RED metrics and debug on error have budgets of their own
    # (RESULTS-metrics.md, RESULTS-debug.md); msatrace-defaults leaves both on, as init() does.
    own_budgets = (
        {} if kind == "msatrace-defaults" else {"metrics_exporter": "none", "debug_on_error": False}
    )
    init_msatrace(
        **own_budgets,
        sampler="always_off" if kind == "msatrace-unsampled" else "parentbased_always_on",
        tracing=kind != "msatrace-off",
        drop_spans=True,
    )


def _msatrace_app(framework: str) -> Any:
    import msatrace

    if framework == "fastapi":
        return msatrace.fastapi.instrument(_fastapi(telemetry=None))
    if framework == "flask":
        return msatrace.flask.instrument(_flask())
    _django_setup()
    return _django_handler(["msatrace.django.TraceMiddleware"])


def _init_sentry() -> None:
    import sentry_sdk
    from sentry_sdk.transport import Transport

    class Drop(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            pass

    sentry_sdk.init(
        dsn="http://public@127.0.0.1:9/1",
        traces_sample_rate=1.0,
        transport=Drop(),
    )


# --- FastAPI ---


# The bare app is FastAPI() as users write it: its built-in telemetry checks for a global SDK
# provider on each request and stays off in processes that have none (peers, sentry).
def _fastapi(telemetry: dict[str, Any] | None = None) -> Any:
    from fastapi import FastAPI

    app = FastAPI(telemetry=telemetry) if telemetry is not None else FastAPI()

    @app.get("/orders/{order_id}")
    async def get_order(order_id: int) -> dict[str, int]:
        return {"id": order_id}

    return app


def _fastapi_cid() -> Any:
    from asgi_correlation_id import CorrelationIdMiddleware

    app = _fastapi()
    app.add_middleware(CorrelationIdMiddleware)
    return app


def _fastapi_otel() -> Any:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    app = _fastapi()
    FastAPIInstrumentor.instrument_app(app, tracer_provider=_noop_provider())
    return app


def _fastapi_native() -> Any:
    from fastapi import FastAPI

    if not hasattr(FastAPI(), "_native_telemetry"):
        raise ImportError("this FastAPI has no built-in telemetry")
    return _fastapi(telemetry={"tracer_provider": _noop_provider()})


def _asgi(name: str, app: Any) -> Batch:
    loop = asyncio.new_event_loop()
    template = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    body = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return body

    async def drop(message: dict[str, Any]) -> None:
        pass

    async def run(n: int) -> int:
        perf = time.perf_counter_ns
        start = perf()
        for _ in range(n):
            await app({**template, "headers": list(HEADERS)}, receive, drop)
        return perf() - start

    sent: list[dict[str, Any]] = []

    async def keep(message: dict[str, Any]) -> None:
        sent.append(message)

    loop.run_until_complete(app({**template, "headers": list(HEADERS)}, receive, keep))
    _check(name, sent[0]["status"], {k.decode().lower() for k, _ in sent[0]["headers"]})
    return lambda n: loop.run_until_complete(run(n))


# --- Flask ---


def _flask() -> Any:
    from flask import Flask

    app = Flask("bench")

    @app.get("/orders/<int:order_id>")
    def get_order(order_id: int) -> dict[str, int]:
        return {"id": order_id}

    return app


def _flask_otel() -> Any:
    from opentelemetry.instrumentation.flask import FlaskInstrumentor

    app = _flask()
    FlaskInstrumentor.instrument_app(app, tracer_provider=_noop_provider())
    return app


# --- Django ---


def _django_setup() -> None:
    from django.conf import settings

    if settings.configured:
        return
    import django
    from django.http import JsonResponse
    from django.urls import path

    def get_order(request: Any, order_id: int) -> Any:
        return JsonResponse({"id": order_id})

    urls = types.ModuleType("_bench_urls")
    urls.urlpatterns = [path("orders/<int:order_id>", get_order)]  # type: ignore[attr-defined]
    sys.modules["_bench_urls"] = urls
    apps = ["django_guid"] if _importable("django_guid") else []
    if _importable("django_structlog"):
        apps.append("django_structlog")
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-not-secret",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF="_bench_urls",
        MIDDLEWARE=[],
        INSTALLED_APPS=apps,
        USE_TZ=True,
        DJANGO_GUID={"GUID_HEADER_NAME": "X-Request-ID", "RETURN_HEADER": True},
    )
    django.setup()


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _django_handler(middleware: list[str]) -> Any:
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    settings.MIDDLEWARE = middleware
    return WSGIHandler()  # reads MIDDLEWARE now: each handler keeps its own chain


def _django_otel() -> Any:
    from django.conf import settings
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    settings.MIDDLEWARE = []
    DjangoInstrumentor().instrument(tracer_provider=_noop_provider())
    return _django_handler(list(settings.MIDDLEWARE))  # the instrumentor inserted its middleware


def _django_structlog() -> Any:
    import structlog

    # django-structlog's JSON recipe, rendered straight to stdout (/dev/null here).
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    return _django_handler(["django_structlog.middlewares.RequestMiddleware"])


# --- WSGI driver ---


def _wsgi(name: str, app: Any) -> Batch:
    template = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": PATH,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "bench/1.0",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    seen: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen[:] = [status, headers]
        return None

    def one() -> None:
        result = app({**template, "wsgi.input": io.BytesIO(b"")}, start_response)
        try:
            for _ in result:
                pass
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    one()
    _check(name, int(seen[0].split()[0]), {k.lower() for k, _ in seen[1]})

    def batch(n: int) -> int:
        perf = time.perf_counter_ns
        start = perf()
        for _ in range(n):
            one()
        return perf() - start

    return batch


def _check(name: str, status: int, headers: set[str]) -> None:
    """Each variant must really answer 200, msatrace's must carry its headers, a bare app not."""
    if status != 200:
        raise RuntimeError(f"{name}: status {status}")
    variant = name.split(":", 1)[-1]
    if variant.startswith("msatrace") and "x-trace-id" not in headers:
        raise RuntimeError(f"{name}: no X-Trace-ID in {sorted(headers)}")
    if variant.startswith("bare") and "x-trace-id" in headers:
        raise RuntimeError(f"{name}: a bare app answered with X-Trace-ID")
