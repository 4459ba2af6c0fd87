"""Log rendering on real servers: ``logging_app:asgi`` (FastAPI, uvicorn), ``logging_app:wsgi``
(Flask, gunicorn), ``logging_app:django_wsgi`` (gunicorn) and ``logging_app:django_asgi``
(uvicorn), the four servers of the inbound suite, each with the same routes, run in console and
JSON format by ``tests/integration/test_inbound_logging.py``.

Routes: ``/health``; ``/caught`` (``log.exception`` and the stdlib's ``logger.exception`` inside
``except``, for chained exceptions: ``raise ... from`` and an implicit context); ``/odd`` (values
no renderer knows: a ``__repr__`` that raises, bytes, sets, a 1,000-deep dict, a cycle, non-str
keys, control characters in names and values); ``/boom`` (unhandled exception: the framework's
or msatrace's error line); ``/shutdown`` (``msatrace.shutdown()`` while the request is still in
flight, then a log line). Every route but ``/boom`` answers 200 whatever logging does.
"""

from __future__ import annotations

import logging
from typing import Any

import msatrace

msatrace.init()
log = msatrace.get_logger("app")
std = logging.getLogger("app.std")


class Unprintable:
    """A value whose ``repr`` and ``str`` raise."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class Refused(Exception):
    """An exception whose message cannot be printed."""

    def __str__(self) -> str:
        raise RuntimeError("no str")


def caught() -> dict[str, Any]:
    """Log chained exceptions from inside ``except``, through structlog and the stdlib."""
    try:
        try:
            {}["missing"]
        except KeyError as exc:
            raise ValueError("payment declined\nsecond line") from exc
    except ValueError:
        log.exception("declined (raise from)", order_id=42)
        std.exception("declined via the stdlib bridge")
    try:
        try:
            raise Refused()
        except Refused:
            1 / 0  # noqa: B018  (an implicit context: "During handling ...")
    except ZeroDivisionError:
        log.exception("division (implicit context)")
        std.error("stdlib error with exc_info", exc_info=True)
    return {"ok": True, "trace_id": msatrace.current_trace_id()}


def odd() -> dict[str, Any]:
    """Log values that are hard to render."""
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(1000):
        cursor["d"] = {}
        cursor = cursor["d"]
    cycle: list[Any] = []
    cycle.append(cycle)
    log.info(
        "odd values",
        unprintable=Unprintable(),
        raw=b"\xff\x00",
        tags={"b", "a"},
        deep=deep,
        cycle=cycle,
        keys={1: "int", (2, 3): "tuple", None: "none"},
        big=2**100,
        **{"field\n\x85\u2028\x7f": "value\x9b\u2029"},
    )
    std.warning("stdlib %s %s", "one")  # arguments that do not fit the format
    return {"ok": True, "trace_id": msatrace.current_trace_id()}


def shutdown() -> dict[str, Any]:
    """Shut msatrace down while this request is in flight, then log."""
    trace_id = msatrace.current_trace_id()
    msatrace.shutdown(timeout=5)
    log.info("after shutdown")
    return {"ok": True, "trace_id": trace_id}


def _asgi() -> Any:
    from fastapi import FastAPI

    app = FastAPI()
    app.get("/health")(lambda: {"ok": True})
    app.get("/caught")(caught)
    app.get("/odd")(odd)
    app.get("/shutdown")(shutdown)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom from the app")

    msatrace.fastapi.instrument(app)
    return app


def _wsgi() -> Any:
    from flask import Flask

    app = Flask(__name__)
    app.get("/health")(lambda: {"ok": True})
    app.get("/caught")(caught)
    app.get("/odd")(odd)
    app.get("/shutdown")(shutdown)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom from the app")

    msatrace.flask.instrument(app)
    return app


def _django_urls() -> list[Any]:
    from django.http import HttpRequest, JsonResponse
    from django.urls import path

    def view(route: Any) -> Any:
        return lambda request: JsonResponse(route())

    def boom(request: HttpRequest) -> None:
        raise RuntimeError("boom from the app")

    return [
        path("health", lambda request: JsonResponse({"ok": True})),
        path("caught", view(caught)),
        path("odd", view(odd)),
        path("shutdown", view(shutdown)),
        path("boom", boom),
    ]


def _django_settings() -> None:
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            SECRET_KEY="test-only-not-secret",
            DEBUG=False,
            ALLOWED_HOSTS=["127.0.0.1"],
            ROOT_URLCONF=__name__,  # urlpatterns: see __getattr__
            INSTALLED_APPS=[],
            MIDDLEWARE=["msatrace.django.TraceMiddleware"],
            DATABASES={},
            USE_TZ=True,
        )


def __getattr__(name: str) -> Any:
    """The app of each server, built on first access: each imports only its framework.

    ``asgi`` (FastAPI), ``wsgi`` (Flask), ``django_wsgi`` and ``django_asgi`` (Django, whose
    ``ROOT_URLCONF`` is this module: ``urlpatterns``).
    """
    if name == "asgi":
        return _asgi()
    if name == "wsgi":
        return _wsgi()
    if name == "django_wsgi":
        from django.core.wsgi import get_wsgi_application

        _django_settings()
        return get_wsgi_application()
    if name == "django_asgi":
        from django.core.asgi import get_asgi_application

        _django_settings()
        return get_asgi_application()
    if name == "urlpatterns":
        return _django_urls()
    raise AttributeError(name)
