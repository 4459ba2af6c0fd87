"""Golden tests of log output: structlog and stdlib loggers, exceptions, odd values, formats."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import logging
import re
import uuid
from typing import Any

import pytest
from tests.fixed_trace import SPAN_ID, TRACE_ID

import msatrace
import msatrace.testing

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
HEAD = {"service": "svc", "environment": "production", "version": "1.0.0"}


@pytest.fixture
def json_logs(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """msatrace initialised for JSON; call the fixture to get the lines printed so far."""
    msatrace.init(service_name="svc", service_version="1.0.0", patch="none")
    capsys.readouterr()  # init()'s start-up line (where spans go)

    def lines() -> list[dict[str, Any]]:
        out = capsys.readouterr().out.splitlines()
        events = [json.loads(line) for line in out]
        for event in events:
            assert TIMESTAMP.fullmatch(event.pop("timestamp")), event
        return events

    return lines


def test_structlog_event_golden(json_logs: Any, in_trace: None) -> None:
    """A structlog event inside a trace is one line with every field, in order."""

    msatrace.get_logger("shop").info("order placed", order_id=42)

    assert json_logs() == [
        {
            "level": "info",
            "logger": "shop",
            "event": "order placed",
            **HEAD,
            "trace_id": TRACE_ID,
            "span_id": SPAN_ID,
            "request_id": None,
            "order_id": 42,
        }
    ]


def test_stdlib_event_golden(json_logs: Any, in_trace: None) -> None:
    """A stdlib record comes out in the same shape, with its extra fields."""

    logging.getLogger("django.request").error("bad %s", "thing", extra={"status": 500})

    assert json_logs() == [
        {
            "level": "error",
            "logger": "django.request",
            "event": "bad thing",
            **HEAD,
            "trace_id": TRACE_ID,
            "span_id": SPAN_ID,
            "request_id": None,
            "status": 500,
        }
    ]


def test_outside_a_trace_ids_are_null(json_logs: Any) -> None:
    """Outside any trace the trace fields are present and null: a stable schema."""

    msatrace.get_logger("boot").info("starting")

    (event,) = json_logs()
    assert (event["trace_id"], event["span_id"], event["request_id"]) == (None, None, None)


def test_bound_fields_and_user_appear(json_logs: Any, in_trace: None) -> None:
    """bind(), bound() and set_user() add their fields to every following line."""

    msatrace.bind(tenant="acme")
    msatrace.set_user(7)
    with msatrace.bound(step="pay"):
        msatrace.get_logger("a").info("inside")
    msatrace.unbind("tenant")
    msatrace.get_logger("a").info("after")

    inside, after = json_logs()
    assert (inside["tenant"], inside["user_id"], inside["step"]) == ("acme", "7", "pay")
    assert "tenant" not in after
    assert "step" not in after
    assert after["user_id"] == "7"


def test_schema_fields_are_never_replaced(json_logs: Any, in_trace: None) -> None:
    """A keyword, a stdlib extra or a bound field named like a schema field is kept as name_."""

    msatrace.bind(service="bound")
    msatrace.get_logger("a").info("kw", trace_id="upstream", level="custom", trace_id_="mine")
    logging.getLogger("std").info("extra", extra={"span_id": 5, "request_id": "r-1"})
    msatrace.unbind("service")

    kw, extra = json_logs()
    for event in (kw, extra):
        assert (event["trace_id"], event["span_id"], event["service"]) == (TRACE_ID, SPAN_ID, "svc")
        assert event["service_"] == "bound"
    assert (kw["level"], kw["level_"], kw["trace_id__"], kw["trace_id_"]) == (
        "info",
        "custom",
        "upstream",
        "mine",
    )
    assert (extra["span_id_"], extra["request_id"], extra["request_id_"]) == (5, None, "r-1")


def test_django_runserver_request_lines_give_way_to_the_access_line(json_logs: Any) -> None:
    """django.server's request lines (status_code extra) are dropped; its other lines stay."""
    server = logging.getLogger("django.server")

    server.info('"%s" %s %s', "GET / HTTP/1.1", "200", "9", extra={"status_code": 200})
    server.info("Broken pipe from %s", ("127.0.0.1", 5000))

    assert [event["event"] for event in json_logs()] == ["Broken pipe from ('127.0.0.1', 5000)"]


def test_exception_is_structured_on_one_line(json_logs: Any, capsys: Any) -> None:
    """An exception becomes type, message and stack fields inside the one JSON line."""

    try:
        raise ValueError("no such order\nsecond line")
    except ValueError:
        msatrace.get_logger("a").exception("failed")

    (event,) = json_logs()
    exc = event["exception"]
    assert (event["level"], exc["type"], exc["message"]) == (
        "error",
        "ValueError",
        "no such order\nsecond line",
    )
    assert "Traceback (most recent call last)" in exc["stack"]
    assert 'raise ValueError("no such order' in exc["stack"]


def test_stdlib_exception_is_structured(json_logs: Any) -> None:
    """logging.exception() gives the same structured exception fields."""

    try:
        {}["missing"]
    except KeyError:
        logging.getLogger("x").exception("lookup failed")

    (event,) = json_logs()
    assert event["exception"]["type"] == "KeyError"
    assert event["event"] == "lookup failed"


@dataclasses.dataclass
class Point:
    """A dataclass value."""

    x: int
    y: int


class Opaque:
    """An object with a repr that raises."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def test_odd_values_never_break_logging(json_logs: Any) -> None:
    """datetime, UUID, Decimal, bytes, sets, dataclasses, huge ints and odd objects are encoded."""

    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    when = datetime.datetime(2026, 11, 24, 12, 0, tzinfo=datetime.timezone.utc)

    msatrace.get_logger("a").info(
        "odd",
        when=when,
        id=u,
        amount=decimal.Decimal("1.10"),
        raw=b"\xff\x00ok",
        tags={"b", "a"},
        point=Point(1, 2),
        big=2**100,
        opaque=Opaque(),
        surrogate="\ud800",
        nested={1: [object.__new__(Opaque)]},
    )

    (event,) = json_logs()
    assert event["when"] == "2026-11-24T12:00:00+00:00"
    assert event["id"] == str(u)
    assert event["amount"] == "1.10"
    assert event["raw"] == "\\xff\x00ok"
    assert event["tags"] == ["a", "b"]
    assert event["point"] == {"x": 1, "y": 2}
    assert event["big"] == str(2**100)
    assert event["opaque"] == "<unrepresentable Opaque>"
    assert event["surrogate"] == "\\ud800"


def test_control_characters_cannot_forge_a_json_line(json_logs: Any) -> None:
    """CR, LF and other control characters in any value stay inside one JSON line."""

    msatrace.get_logger("a").info('x\n{"level":"critical"}\r\x1b[2J', field="a\nb\x00")

    (event,) = json_logs()
    assert event["event"] == 'x\n{"level":"critical"}\r\x1b[2J'
    assert event["field"] == "a\nb\x00"


def test_console_format_escapes_control_characters(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The console format prints one line per event with control characters escaped."""

    msatrace.init(service_name="svc", log_format="console", patch="none")
    capsys.readouterr()  # init()'s start-up line (where spans go)

    msatrace.get_logger("a").warning("two\nlines\r\x1b[31m", who="x\ny")
    logging.getLogger("b").error("std\nlib")

    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert "two\\nlines\\r\\x1b[31m" in lines[0]
    assert "x\\ny" in lines[0]
    assert "std\\nlib" in lines[1]
    assert "\x1b[31m" not in out  # not a TTY: no colours, and the user's escape is escaped


def test_console_format_is_aligned_and_carries_trace_fields(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_trace: None
) -> None:
    """Console lines show level, event and the trace ID's first 8 hex digits (for eyes: the
    full ID is on the access line, in the X-Trace-ID header and in JSON)."""

    msatrace.init(service_name="svc", environment="development", patch="none")
    capsys.readouterr()  # init()'s start-up line, with the service fields

    msatrace.get_logger("a").debug("hello", n=1)

    line = capsys.readouterr().out
    assert "debug" in line
    assert "hello" in line
    assert f"trace_id={TRACE_ID[:8]} " in line
    assert TRACE_ID not in line
    assert "n=1" in line


def test_level_strategy_and_per_logger_levels(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Production logs INFO and up; a per-logger level overrides for that logger and below."""

    msatrace.init(service_name="svc", patch="none", log_levels={"noisy": "ERROR", "db": "DEBUG"})
    capsys.readouterr()  # init()'s start-up line (where spans go)

    msatrace.get_logger("app").debug("dropped: below INFO")
    msatrace.get_logger("app").info("kept")
    msatrace.get_logger("noisy.child").warning("dropped: below ERROR")
    logging.getLogger("noisy").warning("dropped too")
    msatrace.get_logger("db").debug("kept: db is DEBUG")
    logging.getLogger("db.pool").debug("kept from stdlib too")

    events = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    assert events == ["kept", "kept: db is DEBUG", "kept from stdlib too"]


def test_user_handlers_keep_working(json_logs: Any) -> None:
    """A handler the user added to a logger still receives its records."""

    seen: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    handler = Collect()
    logging.getLogger("mine").addHandler(handler)
    try:
        logging.getLogger("mine").warning("to both")
    finally:
        logging.getLogger("mine").removeHandler(handler)

    assert seen == ["to both"]
    assert [e["event"] for e in json_logs()] == ["to both"]


def test_capture_logs_collects_events(env: pytest.MonkeyPatch) -> None:
    """msatrace.testing.capture_logs() collects events instead of printing them."""

    msatrace.init(service_name="svc", patch="none")

    with msatrace.testing.capture_logs() as events:
        msatrace.get_logger("a").info("caught", n=2)

    assert [(e["event"], e["n"]) for e in events] == [("caught", 2)]


@pytest.mark.parametrize(
    ("trace_header", "request_id", "expected"),
    [
        (TRACE_ID.upper(), "req-1", (TRACE_ID, "req-1")),
        (TRACE_ID, "bad id\r\n", (TRACE_ID, None)),  # an invalid request ID is not trusted
        ("not-a-trace\r\nX-Evil: 1", "req-1", (None, None)),  # nor an invalid trace ID
        (None, "req-1", (None, None)),  # no X-Trace-ID in the response: nothing to take
    ],
)
def test_gunicorn_access_line_takes_ids_from_its_response_headers(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    trace_header: str | None,
    request_id: str,
    expected: tuple[str | None, str | None],
) -> None:
    """gunicorn logs its access line after the request; the IDs come from its header atoms."""
    msatrace.init(service_name="svc", patch="none", access_log=False)
    capsys.readouterr()
    atoms = {"h": "127.0.0.1", "r": "GET /items/42 HTTP/1.1", "s": "200"}
    if trace_header is not None:
        atoms["{x-trace-id}o"] = trace_header
    atoms["{x-request-id}o"] = request_id

    logging.getLogger("gunicorn.access").info('%(h)s "%(r)s" %(s)s', atoms)

    (line,) = [json.loads(s) for s in capsys.readouterr().out.splitlines()]
    assert line["event"] == '127.0.0.1 "GET /items/42 HTTP/1.1" 200'
    assert (line["trace_id"], line["request_id"]) == expected
    assert line["span_id"] is None


def test_a_per_logger_level_decides_whether_msatrace_writes_its_own_line() -> None:
    """``log_levels`` silences msatrace's own lines (the access line) below the level of their
    logger or its nearest named parent, and leaves other loggers at the global level."""
    from msatrace._core.logs import configure

    msatrace.init(
        service_name="svc",
        patch="none",
        log_levels={"msatrace": "ERROR", "msatrace.access": "WARNING"},
    )

    assert not configure.enabled("msatrace.access", "info")
    assert configure.enabled("msatrace.access", "warning")
    assert not configure.enabled("msatrace.access.child", "info")
    assert not configure.enabled("msatrace.other", "warning")
    assert configure.enabled("app", "info")
