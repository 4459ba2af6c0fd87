"""One capture point per exception: which line logs it, kept without touching the exception."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import msatrace
import msatrace.starlette
from msatrace import testing
from msatrace._core import safety
from msatrace._core.errors import capture
from tests.adapters.asgi_kit import call, init


class SlottedError(Exception):
    """An application exception with __slots__: it cannot be weakly referenced."""

    __slots__ = ("order_id",)

    def __init__(self, order_id: int) -> None:
        super().__init__(f"order {order_id}")
        self.order_id = order_id


class FrozenError(Exception):
    """An application exception that refuses every attribute set after it was made."""

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen")


raised: list[BaseException] = []


async def boom(request: Request) -> Response:
    exc = ValueError("boom")
    raised.append(exc)
    raise exc


async def slotted(request: Request) -> Response:
    exc = SlottedError(7)
    raised.append(exc)
    raise exc


async def frozen(request: Request) -> Response:
    exc = FrozenError("frozen")
    raised.append(exc)
    raise exc


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    """Whatever a test installs, the reporters and the registry are as before afterwards."""
    before = capture._reporters
    yield
    capture.install(())
    capture.install(before)


@pytest.fixture
def app() -> Iterator[Starlette]:
    init()
    raised.clear()
    routes = [Route("/boom", boom), Route("/slotted", slotted), Route("/frozen", frozen)]
    app = Starlette(routes=routes)
    msatrace.starlette.instrument(app)
    yield app
    raised.clear()


def _exception_lines(events: list[dict[str, object]]) -> list[dict[str, object]]:
    return [e for e in events if "exception" in e]


def test_no_attribute_is_written_on_the_application_exception(app: Starlette) -> None:
    """After a request failed and was logged, the exception has exactly the attributes it had."""

    result = call(app, "/boom")

    (exc,) = raised
    assert len(_exception_lines(result.logs)) == 1
    assert vars(exc) == {}


@pytest.mark.parametrize("path", ["/boom", "/slotted", "/frozen"])
def test_server_record_of_a_logged_exception_is_dropped(app: Starlette, path: str) -> None:
    """The server logging the same exception again (uvicorn's "Exception in ASGI application")
    adds no second line, for an exception with __slots__ or one refusing attributes too."""
    result = call(app, path)
    (exc,) = raised

    with testing.capture_logs() as later:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=exc)

    assert [e["logger"] for e in _exception_lines(result.logs)] == ["msatrace.error"]
    assert _exception_lines(later) == []


def test_exception_already_logged_by_the_application_is_not_logged_again(
    app: Starlette,
) -> None:
    """An exception the application logged at ERROR: capture writes no second line."""
    captured: list[capture.Captured] = []
    capture.install((*capture._reporters, captured.append))
    exc = SlottedError(1)

    with testing.capture_logs() as events:
        try:
            raise exc
        except SlottedError:
            msatrace.get_logger("app").exception("order failed")
        capture.capture(exc, logger="msatrace.error", message="unhandled exception", log=True)

    assert [e["logger"] for e in _exception_lines(events)] == ["app"]
    assert [(c.first, c.write_line) for c in captured] == [(True, False)]


def test_each_capture_reaches_the_reporters_once_first() -> None:
    """Two captures of one exception: the first is marked first and writes; the second neither."""
    captured: list[capture.Captured] = []
    capture.install((captured.append,))
    exc = ValueError("x")

    capture.capture(exc, logger="l", message="m", log=True, path="/p")
    capture.capture(exc, logger="l", message="m", log=True, path="/p")

    assert [(c.first, c.write_line, dict(c.fields)) for c in captured] == [
        (True, True, {"path": "/p"}),
        (False, False, {"path": "/p"}),
    ]
    assert capture.line_decided(exc)


def test_framework_logged_capture_leaves_the_line_undecided() -> None:
    """log=False (the framework writes the line): nothing written, a later record not dropped;
    a later capture with log=True (the exception left the framework) writes msatrace's line."""
    captured: list[capture.Captured] = []
    capture.install((captured.append,))
    exc = ValueError("x")

    capture.capture(exc, logger="l", message="m", log=False)
    decided_after_framework = capture.line_decided(exc)
    capture.capture(exc, logger="l", message="m", log=True)

    assert decided_after_framework is False
    assert [(c.first, c.write_line) for c in captured] == [(True, False), (False, True)]


def test_failing_reporter_does_not_stop_the_others(caplog: pytest.LogCaptureFixture) -> None:
    """A reporter that raises is reported; the reporters after it still get the event."""
    captured: list[capture.Captured] = []

    def broken(event: capture.Captured) -> None:
        raise RuntimeError("reporter failed")

    capture.install((broken, captured.append))
    previous = safety.set_strict(False)
    safety.reset()
    try:
        capture.capture(ValueError("x"), logger="l", message="m", log=True)
    finally:
        safety.set_strict(previous)

    assert len(captured) == 1
    assert [r.getMessage() for r in caplog.records] == [
        "msatrace: internal error in errors.broken; the request goes on"
    ]


def test_registry_keeps_only_recent_exceptions() -> None:
    """Past LIMIT newer exceptions an old one is forgotten: the registry stays bounded."""
    capture.install((lambda event: None,))
    old = ValueError("old")
    capture.capture(old, logger="l", message="m", log=True)

    newer = [ValueError(str(i)) for i in range(capture.LIMIT)]
    for exc in newer:
        capture.line_written(exc)

    assert not capture.line_decided(old)
    assert len(capture._registry._entries) == capture.LIMIT
