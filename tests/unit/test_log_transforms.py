"""Event transforms (where redaction hooks in): every line goes through them, none bypasses
them, and one that fails withholds the line's fields instead of losing the line or raising."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import msatrace
from msatrace._core import safety
from msatrace._core.config.settings import Settings
from msatrace._core.logs import access, builder
from msatrace._core.trace import context
from msatrace.exceptions import ConfigError

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
ENDED_NS = 1_764_072_000_123_456_789
SECRET = "alice@example.com"
Factory = builder.TransformFactory


@pytest.fixture
def register() -> Iterator[Callable[[Factory], None]]:
    """Register transform factories for one test; they are forgotten when it ends."""
    registered: list[Factory] = []

    def add(factory: Factory) -> None:
        builder.register_transform(factory)
        registered.append(factory)

    yield add
    for factory in registered:
        builder.unregister_transform(factory)


@pytest.fixture
def lines(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[[], list[str]]:
    """Call it for the lines written since the last call (after init()'s start-up line)."""

    def read() -> list[str]:
        return capsys.readouterr().out.splitlines()

    return read


def _mark(event: dict[str, Any]) -> dict[str, Any]:
    event["marked"] = event["event"]
    return event


def _write_access_line() -> None:
    access.write(
        logger="msatrace.access", level="info", event="GET / 200", ids=None, method="GET",
        route=None, path="/", status=200, duration_ms=1.0, client_address=None, user_agent=None,
        time_ns=ENDED_NS,
    )  # fmt: skip


def test_every_kind_of_line_goes_through_the_transforms(
    register: Callable[[Factory], None], lines: Callable[[], list[str]]
) -> None:
    """structlog, stdlib, gunicorn's access record, exception and access lines: all marked."""
    register(lambda settings: _mark)
    # access_log=False: gunicorn's access record is then written, not replaced by msatrace's.
    msatrace.init(service_name="svc", patch="none", tracing=False, access_log=False)
    lines()

    msatrace.get_logger("app").info("user event")
    logging.getLogger("lib").warning("stdlib record")
    logging.getLogger("gunicorn.access").info("gunicorn access", {"{x-trace-id}o": TRACE_ID})
    builder.log_exception("msatrace.error", "exception line", ValueError("boom"))
    with context.bound(request_id="r-1"):
        _write_access_line()  # nothing but the request's ID bound
    with context.bound(request_id="r-1", tenant="acme"):
        _write_access_line()

    marked = [json.loads(line)["marked"] for line in lines()]
    assert marked == [
        "user event",
        "stdlib record",
        "gunicorn access",
        "exception line",
        "GET / 200",
        "GET / 200",
    ]


def test_a_line_that_cannot_be_built_goes_through_them_too(
    register: Callable[[Factory], None], lines: Callable[[], list[str]]
) -> None:
    """The fallback line written when building the event fails is transformed as well."""

    class Unmeasurable(tuple[int, int, int]):
        def __len__(self) -> int:
            raise RuntimeError("no len")

    def redact(event: dict[str, Any]) -> dict[str, Any]:
        event["event"] = event["event"].replace(SECRET, "[email]")
        return event

    register(lambda settings: redact)
    msatrace.init(service_name="svc", patch="none", tracing=False, redact=False)
    lines()
    previous = safety.set_strict(False)
    safety.reset()
    try:
        msatrace.get_logger("app").info(f"kept {SECRET}", exc_info=Unmeasurable((1, 2, 3)))
    finally:
        safety.set_strict(previous)

    *_report, fallback = [json.loads(line) for line in lines()]
    assert (fallback["event"], "log_error" in fallback) == ("kept [email]", True)


def test_no_transform_unless_a_factory_gives_one(
    register: Callable[[Factory], None], env: pytest.MonkeyPatch
) -> None:
    """Redaction is the one transform by default; off, none; a factory returning None under
    these settings adds nothing."""
    msatrace.init(service_name="svc", patch="none", tracing=False)
    by_default = builder.pipeline.transforms
    msatrace.shutdown()
    msatrace.init(service_name="svc", patch="none", tracing=False, redact=False)
    without_redaction = builder.pipeline.transforms
    msatrace.shutdown()
    register(lambda settings: None)

    msatrace.init(service_name="svc", patch="none", tracing=False, redact=False)

    assert len(by_default) == 1
    assert (without_redaction, builder.pipeline.transforms) == ((), ())


def test_transforms_are_installed_at_init(
    register: Callable[[Factory], None], lines: Callable[[], list[str]]
) -> None:
    """A factory registered after init() is asked at the next init(), with its settings."""
    seen: list[str] = []

    def factory(settings: Settings) -> builder.Transform:
        seen.append(settings.service_name)
        return _mark

    msatrace.init(service_name="first", patch="none", tracing=False)
    register(factory)
    msatrace.get_logger("app").info("before")
    msatrace.shutdown()

    msatrace.init(service_name="second", patch="none", tracing=False)
    msatrace.get_logger("app").info("after")

    events = [json.loads(line) for line in lines()]
    assert [(e["event"], "marked" in e) for e in events if e["logger"] == "app"] == [
        ("before", False),
        ("after", True),
    ]
    assert seen == ["second"]


def _leak(event: dict[str, Any]) -> dict[str, Any]:
    raise ValueError(f"cannot redact {event['event']}")


def _not_a_dict(event: dict[str, Any]) -> dict[str, Any]:
    return list(event.items())  # type: ignore[return-value]  # the transform's own bug


@pytest.mark.parametrize("fmt", ["json", "console"])
@pytest.mark.parametrize("transform", [_leak, _not_a_dict], ids=["raises", "not-a-dict"])
def test_a_failing_transform_withholds_the_fields_not_the_line(
    register: Callable[[Factory], None],
    lines: Callable[[], list[str]],
    fmt: str,
    transform: builder.Transform,
) -> None:
    """The lines keep their head fields, event and other fields are withheld, nothing raises,
    and the failure is reported once."""
    register(lambda settings: transform)
    previous = safety.set_strict(False)
    try:
        msatrace.init(service_name="svc", patch="none", tracing=False, log_format=fmt)
        lines()
        safety.reset()
        for _ in range(2):
            msatrace.get_logger("app").info(f"signed up {SECRET}", email=SECRET)
        with context.bound(request_id="r-1", user=SECRET):
            _write_access_line()
    finally:
        safety.set_strict(previous)

    written = lines()
    assert len(written) == 4  # the report (withheld too), two events, the access line
    assert not any(SECRET in line for line in written)
    assert all("a log transform failed" in line for line in written)
    if fmt == "json":
        report, *events = [json.loads(line) for line in written]
        assert (report["logger"], report["level"]) == ("msatrace", "warning")
        assert [e["logger"] for e in events] == ["app", "app", "msatrace.access"]
        assert list(events[2]) == [
            "timestamp", "level", "logger", "event", "service", "environment", "version",
            "trace_id", "span_id", "request_id", "log_error",
        ]  # fmt: skip
        assert (events[2]["event"], events[2]["request_id"], events[2]["service"]) == (
            None,
            "r-1",
            "svc",
        )


def test_a_factory_that_raises_fails_init(
    register: Callable[[Factory], None], env: pytest.MonkeyPatch
) -> None:
    """A factory's ConfigError (a bad redaction rule, say) comes out of init()."""

    def factory(settings: Settings) -> builder.Transform:
        raise ConfigError("MSATRACE_EXAMPLE='[': expected a pattern")

    register(factory)

    with pytest.raises(ConfigError, match="MSATRACE_EXAMPLE"):
        msatrace.init(service_name="svc", patch="none", tracing=False)
