"""More capture points when asked: logged exceptions, threads, asyncio, the main thread's hook.

``msatrace.shutdown()`` sends everything pending before it returns: what the Slack stand-in
holds afterwards is all that was ever sent.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from tests.errors.vendors import StandIn, stand_in

import msatrace


@pytest.fixture
def slack() -> Iterator[StandIn]:
    with stand_in("slack") as vendor:
        yield vendor


def _init(slack: StandIn, **kw: Any) -> None:
    msatrace.init(service_name="svc", patch="none", notify=[f"slack:{slack.url}"], **kw)


def _texts(slack: StandIn) -> list[str]:
    return sorted(m["text"] for m in slack.received)


def _log_two_exceptions() -> None:
    try:
        raise ValueError("stock for sku 42 went negative")
    except ValueError:
        msatrace.get_logger("app").exception("stock check failed")
        logging.getLogger("app.stdlib").exception("logged twice, reported once")
    try:
        raise KeyError("sku-9")
    except KeyError:
        logging.getLogger("app.stdlib").exception("lookup failed")


def test_logged_exceptions_are_reported_once_each_when_asked(slack: StandIn) -> None:
    """``error_capture_logged``: two exceptions on three ERROR lines give two reports."""
    _init(slack, error_capture_logged=True)

    _log_two_exceptions()
    msatrace.shutdown()

    assert _texts(slack) == [
        "[svc] KeyError: 'sku-9'",
        "[svc] ValueError: stock for sku 42 went negative",
    ]


def test_logged_exceptions_are_not_reported_by_default(slack: StandIn) -> None:
    """Without the option, a handled exception that is only logged reaches no notifier."""
    _init(slack)

    _log_two_exceptions()
    msatrace.shutdown()

    assert slack.received == []


def test_a_thread_dying_of_an_exception_is_reported_and_the_old_hook_still_runs(
    slack: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``error_excepthooks``: reported; the hook installed before init() still sees it, and is
    back in place after shutdown()."""
    seen: list[BaseException | None] = []

    def theirs(args: Any) -> None:
        seen.append(args.exc_value)

    monkeypatch.setattr(threading, "excepthook", theirs)
    _init(slack, error_excepthooks=True)

    def worker() -> None:
        raise RuntimeError("worker 3 lost its connection")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    msatrace.shutdown()

    assert _texts(slack) == ["[svc] RuntimeError: worker 3 lost its connection"]
    assert [str(e) for e in seen] == ["worker 3 lost its connection"]
    assert threading.excepthook is theirs


def test_an_asyncio_callback_error_is_reported_and_the_loop_handler_still_runs(
    slack: StandIn,
) -> None:
    """``error_excepthooks``: an exception in a loop callback is reported, and the handler the
    application set on its loop still gets it."""
    _init(slack, error_excepthooks=True)
    handled: list[str] = []

    def callback() -> None:
        raise LookupError("no route for tenant 7")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: handled.append(str(ctx["exception"])))
        loop.call_soon(callback)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(main())
    msatrace.shutdown()

    assert _texts(slack) == ["[svc] LookupError: no route for tenant 7"]
    assert handled == ["no route for tenant 7"]


def test_hooks_are_not_installed_by_default(slack: StandIn) -> None:
    """Without the option, init() leaves threading and sys hooks as they were."""
    before = (threading.excepthook, sys.excepthook)

    _init(slack)

    assert (threading.excepthook, sys.excepthook) == before


def test_lines_of_msatrace_and_opentelemetry_are_never_reported(slack: StandIn) -> None:
    """An exporter's failure logged by OpenTelemetry's SDK is the pipeline's trouble, not a bug
    of the application: not reported, even with ``error_capture_logged``."""
    _init(slack, error_capture_logged=True)

    try:
        raise ConnectionError("collector:4318 refused")
    except ConnectionError:
        logging.getLogger("opentelemetry.sdk.trace.export").exception("export failed")
    msatrace.shutdown()

    assert slack.received == []
