"""How users call msatrace, checked by mypy --strict (nox -s typecheck); never executed."""

from __future__ import annotations

import msatrace
from msatrace import testing


def configure() -> msatrace.Settings:
    """init() takes typed keyword arguments and returns the resolved settings."""
    settings = msatrace.init(
        service_name="orders",
        service_version="1.4.2",
        environment="production",
        log_level="INFO",
        log_levels={"uvicorn": "WARNING"},
        log_format="json",
        propagators=("tracecontext", "baggage"),
        sampler="parentbased_traceidratio",
        sampler_arg=0.25,
        otlp_endpoint="http://collector:4318",
        otlp_traces_endpoint="http://collector:4318/v1/traces",
        otlp_protocol="http/protobuf",
        otlp_headers={"api-key": "secret"},
        otlp_timeout=5.0,
        patch=["httpx", "requests"],
        propagate_to=["*.internal", "re:^api\\.example\\.com$"],
        trust_incoming=False,
        exclude_paths=["/health"],
        access_log=True,
        propagate_threads=True,
    )
    name: str = settings.service_name
    assert name
    return settings


def configure_with_stdlib_levels() -> None:
    """Levels may be the standard library's numbers, per logger too."""
    import logging

    msatrace.init(log_level=logging.DEBUG, log_levels={"uvicorn": logging.WARNING, "db": "WARN"})


def log_with_context() -> None:
    """Loggers, bound fields and the current IDs."""
    log = msatrace.get_logger(__name__)
    msatrace.bind(tenant="acme")
    with msatrace.bound(step="pay"):
        log.info("paid", amount=10)
    msatrace.unbind("tenant")
    msatrace.set_user(42)
    trace_id: str | None = msatrace.current_trace_id()
    span_id: str | None = msatrace.current_span_id()
    request_id: str | None = msatrace.current_request_id()
    print(trace_id, span_id, request_id)


def tear_down() -> None:
    """shutdown() and unpatch() take what they document."""
    msatrace.unpatch()
    msatrace.shutdown(timeout=2.0)


def capture() -> None:
    """The public test kit."""
    with testing.capture_logs() as events:
        msatrace.get_logger("t").info("x")
    first: dict[str, object] = events[0]
    print(first)
    with testing.OTLPReceiver() as receiver:
        print(receiver.endpoint, [s.trace_id for s in receiver.spans])


def handle_config_error() -> None:
    """ConfigError is a ValueError naming the setting."""
    try:
        msatrace.init(log_format="jsno")
    except msatrace.ConfigError as exc:
        error: ValueError = exc
        print(error)


def instrument_frameworks() -> None:
    """The one-liners, typed."""
    from django.http import HttpRequest, HttpResponse
    from fastapi import FastAPI
    from flask import Flask

    api = FastAPI()
    msatrace.fastapi.instrument(api)
    api.add_middleware(msatrace.asgi.TraceMiddleware)
    web = Flask(__name__)
    msatrace.flask.instrument(web)

    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    middleware = msatrace.django.TraceMiddleware(view)
    print(middleware)


@msatrace.task
def send_receipt(order_id: int) -> str:
    """A task keeps its signature."""
    return str(order_id)


@msatrace.task(name="billing.charge")
async def charge(amount: int) -> int:
    """An async task keeps its signature too."""
    return amount


def background() -> None:
    """wrap() keeps the callable's type."""
    receipt: str = send_receipt(1)
    later = msatrace.wrap(send_receipt)
    again: str = later(2)
    print(receipt, again, charge)
