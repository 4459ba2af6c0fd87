"""Every private or undocumented third-party name msatrace touches, probed once, with a fallback.

A name here is one that its library does not promise to keep. Each entry is probed once (at
import, or the first time an adapter asks), with a check of its shape; when the shape is not the
expected one, the entry takes its public fallback and says so once, naming the entry, on the
``msatrace`` logger. ``tests/upstream/`` holds one canary test per entry (it fails, naming the
entry, when an installed release changes the shape) and one test per entry that the fallback works.
``nox -s prerelease`` runs the suite against the libraries' newest pre-releases.

The entries, by library (the name the canary and the warning use comes first):

- ``otel.suppress-keys``: opentelemetry-api ``context._SUPPRESS_INSTRUMENTATION_KEY`` and
  ``_SUPPRESS_HTTP_INSTRUMENTATION_KEY``. Why: OpenTelemetry's instrumentations stand aside for a
  request when either is set in the context, and its exporters set the first while they export;
  contrib's ``instrumentation/utils.py`` imports the same names. Changed: the plain spellings
  (``suppress_instrumentation``, ``suppress_http_instrumentation``) are used, so the client
  adapters still import; an OpenTelemetry instrumentation enabled beside msatrace may then add a
  second span, and an exporter's own HTTP calls may be traced.
- ``otel.tracer-provider-once``: opentelemetry-api ``trace._TRACER_PROVIDER`` and
  ``trace._TRACER_PROVIDER_SET_ONCE``. Why: ``set_tracer_provider`` works once per process and has
  no public reset; ``shutdown()`` un-sets the provider it installed, so a later ``init()`` in the
  same process (tests, a re-configured worker) can install a fresh one. Changed: nothing is
  reset (``shutdown()`` still never raises); a later ``init()`` adopts the shut-down provider.
- ``otel.span-key``: the key under which opentelemetry-api keeps the current span in a
  ``Context``, found through the public ``set_span_in_context``. Why: the request path reads and
  sets the span with one dict operation. Changed: the shape check fails at import (no fallback:
  every path that starts a span depends on it); the canary says so first.
- ``otel.baggage-key``: the same for baggage (``baggage.set_baggage``). Why: to tell whether a
  context holds baggage without copying it. Changed: ``None``, and propagation takes the public
  path (``baggage.get_all``).
- ``httpx.send-single-request``: ``Client._send_single_request`` and its ``AsyncClient`` twin
  (private since httpx 0.14). Why: httpx calls it once per physical request, after auth and
  redirects and above any transport, so each hop gets its own span and headers; no public hook
  sees each hop's request before it is sent with the power to end its span when the body closes.
  Changed: the adapter traces at the public ``send`` instead (one span and one set of headers per
  API call: redirects and auth round trips share the first request's, and httpx copies those
  headers to a redirect's host whatever ``propagate_to`` says).
- ``requests.content-consumed``: ``Response._content_consumed``. Why: a ``stream=True`` response
  whose body is still unread ends its span when closed or read, not when ``send`` returns; no
  public attribute says whether the body was read. Changed: the span ends when ``send`` returns.
- ``django.cached-user``: ``HttpRequest._cached_user`` / ``_acached_user``, where
  ``AuthenticationMiddleware`` keeps the user once loaded (sentry-python reads them too). Why: to
  record the user without evaluating ``request.user`` (a query). Changed: only a plain
  ``request.user`` (Django REST framework's) is recorded.
- ``django.file-to-stream``: ``FileResponse.file_to_stream``. Why: Django's WSGI handler hands
  that file to ``wsgi.file_wrapper`` (same attribute, same default), so such a body never goes
  through ``streaming_content``. Changed: fail-safe by construction (read with Django's default).
- ``django.log-response``: ``django.utils.log.log_response`` (undocumented). Why: Django writes its
  "Not Found: /path" line after the response left the middleware, outside the trace; msatrace
  writes it inside and Django skips its own. Changed: msatrace writes nothing; Django's own line
  stays (outside the trace).
- ``fastapi.telemetry``: ``FastAPI._telemetry`` and ``_native_telemetry.config`` (FastAPI 0.16x),
  the dict FastAPI reads ``"tracing"`` from on every request. Why: FastAPI traces itself once a
  global SDK provider exists, in a trace of its own; its public switch, ``FastAPI(telemetry=
  {"tracing": False})``, only exists at construction, before ``instrument(app)`` sees the app.
  ``msatrace.fastapi`` turns it off from ``init()`` to ``shutdown()`` only, and gives it back
  after. Changed: FastAPI's spans stay (two SERVER spans per request), with one warning.
- ``flask-login.user``: ``flask.g._login_user``, where Flask-Login keeps the user once loaded.
  Why: as Django's. Changed: the user is not recorded.
- ``structlog.proxy-to-logger``: ``BoundLoggerBase._proxy_to_logger`` overridden by msatrace's
  bound logger class (``_core/logs/configure.py``). structlog documents it as the method custom
  wrapper classes override ("Despite underscore available to custom wrapper classes"); the
  logger's context is read with the public ``structlog.get_context``. Canary only.
- Read with ``getattr`` defaults where they are used, listed for the canaries: Starlette's
  ``build_middleware_stack`` replaced on the application instance and ``middleware_stack``
  (``starlette.py``, ``fastapi.py``: as OpenTelemetry contrib's ``FastAPIInstrumentor``); a
  route's ``path_format`` and ``path_regex`` (route templates); Celery's ``vars(task.request)``
  (protocol-2 message headers); OpenTelemetry's ``SpanContext`` read as its declared tuple
  ``(trace_id, span_id, is_remote, trace_flags, trace_state, is_valid)``.

Public, though on objects msatrace does not own, so not entries: an adopted provider's
``id_generator`` (given back at ``shutdown()``); Werkzeug's ``environ["werkzeug.request"]``
(documented); the ``_msatrace_hop`` attribute msatrace keeps on a streamed requests ``Response``.

Not here: the lean span path (``_core/spans/lean.py``, ``leanspan.py``) keeps the SDK names it
needs, with its own canaries. Removed (public API instead): OpenTelemetry's runtime context
variable, ``NonRecordingSpan._context``, httpx ``Headers._list`` / ``_encoding``, requests' and
Django's ``_store``, a structlog bound logger's ``_context``.

Imports: the standard library, opentelemetry and structlog. Never a framework or client library
(``_core`` knows none): their adapters hand in the class or object the probe looks at.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import baggage, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import INVALID_SPAN_CONTEXT, NonRecordingSpan

_log = logging.getLogger("msatrace")
_lock = threading.Lock()
_fell_back: set[str] = set()


def fell_back(entry: str, why: str) -> None:
    """Say once per entry that it took its fallback (the probe found another shape)."""
    with _lock:
        if entry in _fell_back:
            return
        _fell_back.add(entry)
    _log.warning(
        "msatrace: upstream entry %s: %s; using the public fallback (see msatrace._core.upstream)",
        entry,
        why,
    )


def fallen_back() -> frozenset[str]:
    """The entries that took their fallback so far (tests, diagnostics)."""
    return frozenset(_fell_back)


# --- OpenTelemetry ------------------------------------------------------------------------------


def _suppress_key(name: str, plain: str) -> str:
    key = getattr(otel_context, name, None)
    if isinstance(key, str) and key:
        return key
    fell_back("otel.suppress-keys", f"opentelemetry.context.{name} is {key!r}, not a str")
    return plain


SUPPRESS_INSTRUMENTATION_KEY = _suppress_key(
    "_SUPPRESS_INSTRUMENTATION_KEY", "suppress_instrumentation"
)
SUPPRESS_HTTP_INSTRUMENTATION_KEY = _suppress_key(
    "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", "suppress_http_instrumentation"
)


def _provider_once_shape() -> bool:
    """``trace._TRACER_PROVIDER`` exists and ``_TRACER_PROVIDER_SET_ONCE`` is a fresh-able Once."""
    once = getattr(trace, "_TRACER_PROVIDER_SET_ONCE", None)
    if not hasattr(trace, "_TRACER_PROVIDER") or once is None:
        return False
    try:
        fresh = type(once)()
    except Exception:
        return False
    return callable(getattr(fresh, "do_once", None))


_provider_once_ok: bool | None = None


def forget_tracer_provider(provider: object) -> bool:
    """Un-set the global tracer provider if it is ``provider``; ``True`` if it was un-set.

    Never raises: with another shape (``otel.tracer-provider-once``) nothing is reset.
    """
    global _provider_once_ok
    try:
        if _provider_once_ok is None:
            _provider_once_ok = _provider_once_shape()
        if not _provider_once_ok:
            fell_back("otel.tracer-provider-once", "trace._TRACER_PROVIDER_SET_ONCE changed")
            return False
        if getattr(trace, "_TRACER_PROVIDER", None) is not provider:
            return False
        trace._TRACER_PROVIDER = None
        trace._TRACER_PROVIDER_SET_ONCE = type(trace._TRACER_PROVIDER_SET_ONCE)()
        return True
    except Exception as exc:
        fell_back("otel.tracer-provider-once", f"resetting failed: {exc!r}")
        return False


def _span_key() -> str:
    """The one key ``set_span_in_context`` writes, if ``get_current_span`` reads the span back."""
    span = NonRecordingSpan(INVALID_SPAN_CONTEXT)
    keys = list(trace.set_span_in_context(span, Context()).keys())
    if len(keys) != 1 or not isinstance(keys[0], str):
        raise RuntimeError(f"msatrace: upstream entry otel.span-key: the context holds {keys!r}")
    if trace.get_current_span(Context({keys[0]: span})) is not span:
        raise RuntimeError(f"msatrace: upstream entry otel.span-key: {keys[0]!r} is not read")
    return keys[0]


SPAN_KEY = _span_key()


def _baggage_key() -> str | None:
    try:
        keys = list(baggage.set_baggage("k", "v", Context()).keys())
    except Exception:
        keys = []
    if len(keys) == 1 and isinstance(keys[0], str):
        return keys[0]
    fell_back("otel.baggage-key", f"set_baggage wrote {keys!r}")
    return None


BAGGAGE_KEY = _baggage_key()


# --- httpx --------------------------------------------------------------------------------------

HTTPX_HOP = "_send_single_request"
_hop_methods: dict[type[Any], str | None] = {}


def httpx_hop_method(client_class: type[Any]) -> str | None:
    """The name of ``client_class``'s per-physical-request method, or ``None`` (trace at ``send``).

    Shape: a function of ``(self, request)``, a coroutine function on an async client.
    """
    if client_class in _hop_methods:
        return _hop_methods[client_class]
    fn = client_class.__dict__.get(HTTPX_HOP)
    found: str | None = None
    if inspect.isfunction(fn):
        try:
            params = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            params = []
        is_async = "Async" in client_class.__name__
        if params == ["self", "request"] and inspect.iscoroutinefunction(fn) == is_async:
            found = HTTPX_HOP
    if found is None:
        fell_back("httpx.send-single-request", f"{client_class.__qualname__}.{HTTPX_HOP} changed")
    _hop_methods[client_class] = found
    return found


# --- requests -----------------------------------------------------------------------------------


def requests_body_unread(response: object) -> bool:
    """Whether a streamed ``requests.Response``'s body is still unread (its span ends later).

    ``_content_consumed`` is a bool set in ``Response.__init__``; another value or none means
    "read" (the fallback: the span ends when ``send`` returns).
    """
    value = getattr(response, "_content_consumed", None)
    if type(value) is bool:
        return not value
    fell_back("requests.content-consumed", f"Response._content_consumed is {value!r}")
    return False


# --- Django -------------------------------------------------------------------------------------

_DJANGO_USER_ATTRS = ("_cached_user", "_acached_user")


def django_cached_user(request: object) -> object | None:
    """The user ``AuthenticationMiddleware`` already loaded for ``request``, or ``None``."""
    attrs: dict[str, object] = getattr(request, "__dict__", {})
    for name in _DJANGO_USER_ATTRS:
        user = attrs.get(name)
        if user is not None:
            return user
    return None


def django_file_to_stream(response: object) -> object | None:
    """The file Django's WSGI handler sends through ``wsgi.file_wrapper``, read as Django does."""
    found: object | None = getattr(response, "file_to_stream", None)
    return found


LogResponse = Callable[..., None]


def django_log_response(log_module: object) -> LogResponse | None:
    """``django.utils.log.log_response`` if it takes ``(message, *args, response, request)``."""
    fn = getattr(log_module, "log_response", None)
    try:
        params = inspect.signature(fn).parameters if callable(fn) else {}
    except (TypeError, ValueError):
        params = {}
    if "response" in params and "request" in params:
        return fn
    fell_back("django.log-response", "django.utils.log.log_response changed")
    return None


# --- FastAPI ------------------------------------------------------------------------------------


def fastapi_tracing_off(app: object) -> Callable[[], None] | None:
    """Turn FastAPI's own tracing off for ``app``; returns the undo, ``None`` if nothing changed.

    FastAPI without built-in telemetry (no ``_telemetry``) needs nothing.
    """
    if not hasattr(app, "_telemetry") and not hasattr(app, "_native_telemetry"):
        return None
    configs = [getattr(app, "_telemetry", None)]
    native = getattr(app, "_native_telemetry", None)
    if native is not None:
        configs.append(getattr(native, "config", None))
    dicts = [c for c in configs if isinstance(c, dict) and "tracing" in c]
    if len(dicts) != len(configs):
        fell_back("fastapi.telemetry", "FastAPI._telemetry / _native_telemetry.config changed")
        return None
    before = [(config, config["tracing"]) for config in dicts]
    for config in dicts:
        config["tracing"] = False

    def undo() -> None:
        for config, value in before:
            config["tracing"] = value

    return undo


# --- Flask-Login --------------------------------------------------------------------------------


def flask_login_user(g: Any) -> Any:
    """The user Flask-Login already loaded in this application context (``g._login_user``).

    ``None`` if it loaded none (or Flask-Login keeps it elsewhere now: the user is not recorded).
    """
    return g.get("_login_user")
