"""Debug on error (the per-request buffer), debug on demand (the signed token) and set_log_level."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import msatrace
import msatrace.testing
from msatrace._core import runtime
from msatrace._core.debug import buffer, demand
from msatrace._core.lifecycle import inbound, messages
from msatrace._core.logs import builder, render
from msatrace._core.trace.propagation import HeaderBag

SECRET = "s3cret-for-tests-only"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
OTHER_TRACE = "0af7651916cd43dd8448eb211c80319c"
log = msatrace.get_logger("app.debug")
std = logging.getLogger("std.debug")


@pytest.fixture
def events() -> Iterator[list[dict[str, Any]]]:
    """The events written after the test's ``msatrace.init()`` (which installs its output)."""
    captured: list[dict[str, Any]] = []
    real = msatrace.init
    previous: list[render.Output] = []

    def init(**kw: Any) -> Any:
        settings = real(**kw)
        previous.append(builder.set_output(render.Output(captured=captured)))
        return settings

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(msatrace, "init", init)
        yield captured
    if previous:
        builder.set_output(previous[0])


def _request(
    fail: bool = False, *, status: int = 200, token: str | None = None, trace_id: str = TRACE_ID
) -> inbound.RequestScope:
    bag = HeaderBag()
    bag.add("traceparent", f"00-{trace_id}-00f067aa0ba902b7-01")
    if token is not None:
        bag.add("x-msatrace-debug", token)
    assert inbound.active is not None
    return inbound.active.begin(inbound.RequestFacts("GET", "/x", "http", bag))


def _serve(fail: bool = False, status: int = 200, **kw: Any) -> str:
    """One request that logs a DEBUG line from structlog and from the stdlib; its request ID."""
    req = _request(**kw)
    log.debug("structlog debug", n=1)
    std.debug("stdlib debug %s", 2)
    log.info("info line")
    if fail:
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            req.fail(exc)
    req.end(None if fail else status)
    return req.request_id


def _events_of(events: list[dict[str, Any]], request_id: str) -> list[str]:
    return [e["event"] for e in events if e.get("request_id") == request_id]


# --- the buffer itself ---


def test_buffer_drops_oldest_lines_over_the_line_bound() -> None:
    """Past its line bound the buffer drops its oldest lines first and counts them."""
    buf = buffer.Buffer(max_lines=3, max_bytes=1 << 20)

    for i in range(5):
        buf.add(("app", "debug", {"event": f"line {i}"}, 0.0, None, {}))
    entries, dropped = buf.take()

    assert [e[2]["event"] for e in entries] == ["line 2", "line 3", "line 4"]
    assert dropped == 2


def test_buffer_drops_oldest_lines_over_the_byte_bound() -> None:
    """Past its byte bound the buffer drops its oldest lines first and counts them."""
    buf = buffer.Buffer(max_lines=1000, max_bytes=3 * (buffer._LINE_OVERHEAD + 1000 + 5))

    for i in range(6):
        buf.add(("app", "debug", {"event": f"{i}" * 1000}, 0.0, None, {}))
    entries, dropped = buf.take()

    assert [e[2]["event"][0] for e in entries] == ["3", "4", "5"]
    assert dropped == 3


def test_buffer_is_empty_after_take() -> None:
    """Taking the lines empties the buffer and resets its drop count."""
    buf = buffer.Buffer(max_lines=1, max_bytes=1 << 20)
    buf.add(("app", "debug", {"event": "a"}, 0.0, None, {}))
    buf.add(("app", "debug", {"event": "b"}, 0.0, None, {}))

    buf.take()

    assert not buf
    assert buf.take() == ([], 0)


def test_a_line_larger_than_the_byte_bound_is_dropped_and_counted() -> None:
    """A single line over the byte bound is not kept, and counted."""
    buf = buffer.Buffer(max_lines=10, max_bytes=100)

    buf.add(("app", "debug", {"event": "x" * 500}, 0.0, None, {}))

    assert buf.take() == ([], 1)


# --- debug on error ---


def test_a_failing_request_writes_its_debug_lines_before_the_error_line(
    events: list[dict[str, Any]],
) -> None:
    """The kept lines of a failed request come in order, marked, before its first ERROR line."""
    msatrace.init(service_name="svc", patch="none")

    request_id = _serve(fail=True)

    mine = [e for e in events if e.get("request_id") == request_id]
    assert [e["event"] for e in mine] == [
        "info line",
        "lines below the log level kept for this request follow, since it failed",
        "structlog debug",
        "stdlib debug 2",
        "unhandled exception",
        "GET /x 500",
    ]
    assert [e.get("buffered") for e in mine[1:4]] == [True, True, True]
    assert (mine[1]["buffered_lines"], mine[1]["buffered_dropped"]) == (2, 0)
    assert mine[2]["n"] == 1
    assert mine[2]["level"] == "debug"


def test_a_5xx_without_exception_flushes_before_the_access_line(
    events: list[dict[str, Any]],
) -> None:
    """A request answered with a 5xx writes its kept lines before its (ERROR) access line."""
    msatrace.init(service_name="svc", patch="none")

    request_id = _serve(status=503)

    assert _events_of(events, request_id)[-3:] == [
        "structlog debug",
        "stdlib debug 2",
        "GET /x 503",
    ]


def test_a_successful_request_writes_no_debug_line(events: list[dict[str, Any]]) -> None:
    """A request that did not fail drops what it kept."""
    msatrace.init(service_name="svc", patch="none")

    request_id = _serve(status=404)

    assert _events_of(events, request_id) == ["info line", "GET /x 404"]


def test_the_flushed_block_states_the_dropped_lines(events: list[dict[str, Any]]) -> None:
    """With more lines than the bound, the block says how many of the oldest were dropped."""
    msatrace.init(service_name="svc", patch="none", debug_buffer_lines=2)
    req = _request()
    for i in range(5):
        log.debug("line", i=i)

    req.end(500)

    block = [e for e in events if e.get("buffered")]
    assert (block[0]["buffered_lines"], block[0]["buffered_dropped"]) == (2, 3)
    assert [e.get("i") for e in block[1:]] == [3, 4]


def test_lines_outside_a_request_follow_the_level(events: list[dict[str, Any]]) -> None:
    """Outside any request a DEBUG line at INFO is neither written nor kept."""
    msatrace.init(service_name="svc", patch="none")

    log.debug("outside")
    std.debug("outside too")
    request_id = _serve(fail=True)

    assert all(e["event"] not in ("outside", "outside too") for e in events)
    assert "structlog debug" in _events_of(events, request_id)


def test_threads_and_asyncio_tasks_share_the_request_buffer(
    events: list[dict[str, Any]],
) -> None:
    """Lines of a thread and of an asyncio task the request started land in its buffer."""
    msatrace.init(service_name="svc", patch="none")
    req = _request()

    thread = threading.Thread(target=lambda: log.debug("from a thread"))
    thread.start()
    thread.join()

    async def child() -> None:
        log.debug("from a task")

    async def main() -> None:
        await asyncio.create_task(child())

    asyncio.run(main())
    req.end(500)

    kept = [e["event"] for e in events if e.get("buffered") and e["logger"] == "app.debug"]
    assert kept == ["from a thread", "from a task"]


def test_debug_on_error_off_keeps_nothing(events: list[dict[str, Any]]) -> None:
    """With debug_on_error off, a failed request writes no DEBUG line."""
    msatrace.init(service_name="svc", patch="none", debug_on_error=False)

    request_id = _serve(fail=True)

    assert "structlog debug" not in _events_of(events, request_id)


@pytest.mark.parametrize(("environment", "expected"), [("production", True), ("dev", False)])
def test_debug_on_error_default_follows_the_environment(environment: str, expected: bool) -> None:
    """On by default in production, off in development (where DEBUG is written anyway)."""
    settings = msatrace.init(service_name="svc", patch="none", environment=environment)

    assert settings.debug_on_error is expected


def test_a_worker_task_keeps_its_own_buffer_and_flushes_it_on_failure(
    events: list[dict[str, Any]],
) -> None:
    """A task run by a worker (outside any request) writes its kept lines when it fails."""
    msatrace.init(service_name="svc", patch="none")
    run = messages.begin_consume("celery", "t", "id-1", "q", [])
    assert run is not None
    log.debug("in the task")

    run.fail(RuntimeError("task boom"))
    run.end("FAILURE")

    names = [e["event"] for e in events if e.get("logger") != "msatrace"]
    assert names.index("in the task") < names.index("task failed")


def test_a_successful_worker_task_writes_no_debug_line(events: list[dict[str, Any]]) -> None:
    """A task that succeeded drops its kept lines."""
    msatrace.init(service_name="svc", patch="none")
    run = messages.begin_consume("celery", "t", "id-1", "q", [])
    assert run is not None
    log.debug("in the task")

    run.end("SUCCESS")

    assert all(e["event"] != "in the task" for e in events)


# --- debug on demand ---


def test_a_signed_request_logs_at_debug(events: list[dict[str, Any]]) -> None:
    """A valid token for the request's trace writes its DEBUG lines as they come."""
    msatrace.init(service_name="svc", patch="none", debug_secret=SECRET)

    request_id = _serve(token=msatrace.debug_header(SECRET, TRACE_ID, 60))

    assert _events_of(events, request_id) == [
        "structlog debug",
        "stdlib debug 2",
        "info line",
        "GET /x 200",
    ]


def _expired_token() -> str:
    expiry = int(time.time()) - 5
    return f"v1.{expiry}.{demand._signature(SECRET.encode(), TRACE_ID, expiry)}"


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(
            lambda: msatrace.debug_header("another-secret-entirely", TRACE_ID, 60), id="forged"
        ),
        pytest.param(lambda: msatrace.debug_header(SECRET, OTHER_TRACE, 60), id="other-trace"),
        pytest.param(lambda: _expired_token(), id="expired"),
        pytest.param(lambda: "v1.not-a-token", id="malformed"),
    ],
)
def test_an_invalid_token_is_ignored_and_counted(events: list[dict[str, Any]], token: Any) -> None:
    """A forged, replayed, expired or malformed token turns nothing on and is counted."""
    msatrace.init(service_name="svc", patch="none", debug_secret=SECRET)
    before = demand.rejected()

    request_id = _serve(token=token())

    assert _events_of(events, request_id) == ["info line", "GET /x 200"]
    assert demand.rejected() == before + 1


def test_without_a_secret_the_header_is_ignored(events: list[dict[str, Any]]) -> None:
    """With no debug_secret configured a token is not even read."""
    msatrace.init(service_name="svc", patch="none")
    before = demand.rejected()

    request_id = _serve(token=msatrace.debug_header(SECRET, TRACE_ID, 60))

    assert _events_of(events, request_id) == ["info line", "GET /x 200"]
    assert demand.rejected() == before


def test_a_signed_request_carries_its_token_as_baggage() -> None:
    """Outgoing calls of a signed request carry the token in W3C baggage."""
    msatrace.init(service_name="svc", patch="none", debug_secret=SECRET)
    token = msatrace.debug_header(SECRET, TRACE_ID, 60)
    req = _request(token=token)
    carrier: dict[str, str] = {}

    rt = runtime.current()
    assert rt is not None
    rt.propagation.inject(carrier)
    req.end(200)

    assert carrier["baggage"] == f"msatrace.debug={token}"


@pytest.mark.parametrize(("token_trace", "written"), [(TRACE_ID, True), (OTHER_TRACE, False)])
def test_a_task_logs_at_debug_with_a_baggage_token_of_its_own_trace_only(
    events: list[dict[str, Any]], token_trace: str, written: bool
) -> None:
    """A worker task whose message carries a valid token in its baggage logs at DEBUG; a token
    made for another trace turns nothing on."""
    msatrace.init(service_name="svc", patch="none", debug_secret=SECRET)
    headers = [
        ("traceparent", f"00-{TRACE_ID}-00f067aa0ba902b7-01"),
        ("baggage", f"msatrace.debug={msatrace.debug_header(SECRET, token_trace, 60)}"),
    ]
    run = messages.begin_consume("celery", "t", "id-1", "q", headers)
    assert run is not None

    log.debug("task debug")
    run.end("SUCCESS")

    assert ("task debug" in [e["event"] for e in events]) is written


@pytest.mark.parametrize(("rate", "written"), [(1.0, True), (0.0, False)])
def test_debug_sample_rate_chooses_traces(
    events: list[dict[str, Any]], rate: float, written: bool
) -> None:
    """debug_sample_rate=1 logs every trace at DEBUG, 0 none."""
    msatrace.init(service_name="svc", patch="none", debug_sample_rate=rate, debug_on_error=False)

    request_id = _serve()

    assert ("structlog debug" in _events_of(events, request_id)) is written


def test_debug_header_refuses_a_bad_trace_id() -> None:
    """The helper names a trace ID that is not 32 hex digits."""
    with pytest.raises(ValueError, match="trace_id"):
        msatrace.debug_header(SECRET, "xyz", 60)


# --- set_log_level ---


def test_set_log_level_lowers_the_global_level_at_run_time(events: list[dict[str, Any]]) -> None:
    """After set_log_level("DEBUG") DEBUG lines of both kinds of loggers are written."""
    msatrace.init(service_name="svc", patch="none", debug_on_error=False)
    log.debug("before")

    msatrace.set_log_level("DEBUG")
    log.debug("after")
    std.debug("stdlib after")

    assert [e["event"] for e in events if e["logger"] != "msatrace"] == ["after", "stdlib after"]


def test_set_log_level_per_logger(events: list[dict[str, Any]]) -> None:
    """A per-logger level applies to that logger and its children only."""
    msatrace.init(service_name="svc", patch="none", debug_on_error=False)

    msatrace.set_log_level(logging.DEBUG, "app.debug")
    log.debug("mine")
    msatrace.get_logger("app.other").debug("not mine")
    msatrace.set_log_level("ERROR", "std.debug")
    std.warning("silenced")

    assert [e["event"] for e in events if e["logger"] != "msatrace"] == ["mine"]


def test_set_log_level_refuses_an_unknown_level() -> None:
    """An unknown level is a ConfigError naming it."""
    msatrace.init(service_name="svc", patch="none")

    with pytest.raises(msatrace.ConfigError, match="LOUD"):
        msatrace.set_log_level("LOUD")


# --- standard-library calls below the level ---


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_stdlib_lines_below_the_level_reach_no_other_handler(
    events: list[dict[str, Any]],
) -> None:
    """A kept stdlib line goes to msatrace's output only, never to the application's handlers."""
    msatrace.init(service_name="svc", patch="none")
    other = _Collect()
    std.addHandler(other)
    try:
        req = _request()
        std.debug("kept only")
        req.end(500)
    finally:
        std.removeHandler(other)

    assert other.records == []
    assert "kept only" in [e["event"] for e in events if e.get("buffered")]


def test_stdlib_log_method_extra_fields_and_arguments_are_kept(
    events: list[dict[str, Any]],
) -> None:
    """``log(DEBUG, ...)`` with arguments and ``extra`` is kept with its message and fields."""
    msatrace.init(service_name="svc", patch="none")
    req = _request()

    std.log(logging.DEBUG, "order %s", 42, extra={"tenant": "acme"})
    std.log(logging.DEBUG, "by %(name)s", {"name": "map"})
    req.end(500)

    kept = [e for e in events if e.get("buffered") and e["logger"] == "std.debug"]
    assert [e["event"] for e in kept] == ["order 42", "by map"]
    assert kept[0]["tenant"] == "acme"


def test_logging_disable_still_wins(events: list[dict[str, Any]]) -> None:
    """``logging.disable(DEBUG)`` silences DEBUG calls in a request with a debug mode too."""
    msatrace.init(service_name="svc", patch="none")
    logging.disable(logging.DEBUG)
    try:
        req = _request()
        std.debug("disabled")
        req.end(500)
    finally:
        logging.disable(logging.NOTSET)

    assert "disabled" not in [e["event"] for e in events]
