"""Rendering never fails the application: exceptions, odd values, escaping, depth, a closed
stdout and lines written after shutdown(), in console and JSON format (issue 13, items 1, 11,
12 and 13)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
import structlog.testing
from hypothesis import given
from hypothesis import strategies as st
from tests.fixed_trace import SPAN_ID, TRACE_ID

import msatrace
from msatrace._core import safety
from msatrace._core.logs import access, builder, configure, console, render

# Every character str.splitlines() splits on, and what JSON and console must not carry raw.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
RAW_JSON = ("\x7f", "\x80", "\x85", "\x9b", "\x9f", "\u2028", "\u2029")


@pytest.fixture(params=["json", "console"])
def fmt(request: pytest.FixtureRequest) -> str:
    """Each output format."""
    return str(request.param)


@pytest.fixture
def logged(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str
) -> Callable[[], list[str]]:
    """msatrace initialised in ``fmt``; call it for the lines (each event with its stack lines).

    Redaction off: these tests are about the renderers (tests/unit/test_redact.py and the
    redaction properties cover what redaction does to a line)."""
    msatrace.init(service_name="svc", log_format=fmt, patch="none", tracing=False, redact=False)
    capsys.readouterr()

    def lines() -> list[str]:
        out = capsys.readouterr().out
        assert out.endswith("\n"), out
        events: list[str] = []
        for text in out[:-1].split("\n"):
            if text.startswith("    ") and events:  # a console stack line, indented
                events[-1] += "\n" + text
            else:
                events.append(text)
        return events

    return lines


def _stack(line: str) -> str:
    return json.loads(line)["exception"]["stack"] if line.startswith("{") else line


def _chained() -> None:
    try:
        {}["missing"]
    except KeyError as exc:
        raise ValueError("declined\nsecond line") from exc


def _implicit() -> None:
    try:
        raise KeyError("first")
    except KeyError:
        1 / 0  # noqa: B018  (the implicit context: "During handling ...")


@pytest.mark.parametrize(
    ("raiser", "chain"),
    [
        (_chained, "The above exception was the direct cause of the following exception"),
        (_implicit, "During handling of the above exception, another exception occurred"),
    ],
    ids=["raise-from", "implicit-context"],
)
def test_log_exception_inside_except_writes_the_chain(
    logged: Callable[[], list[str]], raiser: Callable[[], None], chain: str, in_trace: None
) -> None:
    """log.exception() inside except: one event, the whole chain in its stack, never a raise."""

    try:
        raiser()
    except Exception:
        msatrace.get_logger("app").exception("failed", order_id=42)

    (line,) = logged()
    assert chain in _stack(line)
    assert "KeyError" in _stack(line)
    # The console shows the trace ID's first 8 hex digits (the access line shows it in full).
    assert (TRACE_ID if line.startswith("{") else TRACE_ID[:8]) in line.split("\n")[0]


def test_stdlib_exception_through_the_bridge_writes_the_chain(
    logged: Callable[[], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """logging.getLogger().exception() (exc_info from the bridge) and exc_info=exc instances."""

    try:
        _chained()
    except ValueError as exc:
        logging.getLogger("lib").exception("bridged")
        msatrace.get_logger("app").error("instance", exc_info=exc)

    lines = logged()
    assert len(lines) == 2
    assert all("The above exception was the direct cause" in _stack(ln) for ln in lines)
    assert "--- Logging error ---" not in capsys.readouterr().err


def test_console_stack_lines_cannot_pass_for_events(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A message with line breaks stays inside the indented stack, escaped."""
    msatrace.init(service_name="svc", log_format="console", patch="none", tracing=False)
    capsys.readouterr()  # init()'s start-up line (where spans go)

    try:
        raise ValueError("x\n2026-01-01T00:00:00.000Z [critical] forged\x85\u2028")
    except ValueError:
        msatrace.get_logger("app").exception("failed")

    head, *stack = capsys.readouterr().out.splitlines()
    assert "[error    ] failed" in head
    assert stack
    assert all(line.startswith("    ") for line in stack)
    assert "    2026-01-01T00:00:00.000Z [critical] forged\\x85\\u2028" in stack


class Unprintable:
    """A value whose repr and str raise."""

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


def _deep(levels: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    cursor = root
    for _ in range(levels):
        cursor["d"] = {}
        cursor = cursor["d"]
    return root


def test_unrenderable_values_give_one_line(logged: Callable[[], list[str]], fmt: str) -> None:
    """Raising reprs, bytes, sets, deep, cyclic, huge values and odd keys: one line each."""
    cycle: list[Any] = []
    cycle.append(cycle)
    cycle.append(cycle)  # twice: a walk that follows cycles would never end

    msatrace.get_logger("app").info(
        "odd",
        unprintable=Unprintable(),
        raw=b"\xff\x00",
        tags={"b", "a"},
        deep=_deep(1000),
        deep_list=[[[[[[[[[[[]]]]]]]]]]] * 3,
        cycle=cycle,
        keys={1: "int", (2, 3): "tuple", None: "none", Unprintable(): "key"},
        big=2**100,
        huge=list(range(100_000)),
    )

    (line,) = logged()
    assert "<too deep>" in line
    assert "<cycle>" in line
    assert "<unrepresentable Unprintable>" in line
    if fmt == "json":
        event = json.loads(line)
        assert event["raw"] == "\\xff\x00"
        assert event["tags"] == ["a", "b"]
        assert event["keys"]["<unrepresentable Unprintable>"] == "key"
        assert len(event["huge"]) == 100_000
    else:
        assert "raw=b'\\xff\\x00'" in line
        assert "keys={1: 'int', (2, 3): 'tuple', None: 'none'" in line


def test_depth_is_bounded_at_max_depth(logged: Callable[[], list[str]], fmt: str) -> None:
    """Nesting deeper than MAX_DEPTH is cut with a placeholder; shallower is written whole."""

    msatrace.get_logger("app").info("deep", shallow=_deep(10), deep=_deep(1000))

    (line,) = logged()
    if fmt == "json":
        event = json.loads(line)
        assert json.dumps(event["shallow"]) == json.dumps(_deep(10))
        depth, value = 0, event["deep"]
        while isinstance(value, dict):
            depth, value = depth + 1, value["d"]
        assert (depth, value) == (render.MAX_DEPTH, render.TOO_DEEP)
    else:
        assert "shallow=" + "{'d': " * 10 + "{}" + "}" * 10 in line
        assert line.count("{'d': ") == 10 + render.MAX_DEPTH


@pytest.mark.parametrize("fmt", ["json"], indirect=True)
def test_json_escapes_line_separators_in_keys_and_values(logged: Callable[[], list[str]]) -> None:
    """DEL, C1 controls and U+2028/U+2029 are written as escapes, in names and values alike."""
    odd = "".join(RAW_JSON)

    msatrace.get_logger("app").info("e" + odd, **{"k" + odd: "v" + odd})

    (line,) = logged()
    assert not [c for c in RAW_JSON if c in line]
    assert "\\u007f\\u0080\\u0085\\u009b\\u009f\\u2028\\u2029" in line
    assert json.loads(line)["k" + odd] == "v" + odd


@pytest.mark.parametrize("fmt", ["console"], indirect=True)
def test_console_escapes_field_names(logged: Callable[[], list[str]]) -> None:
    """A field name cannot carry a line break or a terminal escape into the console."""

    with msatrace.bound(**{"bound\n\x1b[31m": 1}):
        msatrace.get_logger("app").info("e", **{"name\r\x85\u2028": "v"})

    (line,) = logged()
    assert "bound\\n\\x1b[31m=1" in line
    assert "name\\r\\x85\\u2028=v" in line
    assert len(line.splitlines()) == 1


def test_access_line_escapes_a_user_agent(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The access line's own fast path escapes C1 controls (a Latin-1 decoded header)."""
    msatrace.init(service_name="svc", patch="none", tracing=False)
    capsys.readouterr()

    access.write_access_line(
        "msatrace.access", "info", "GET / 200", (TRACE_ID, SPAN_ID), "req-1",
        "GET", None, "/\x7f", 200, 1.0, None, "agent\x85\x9b", 1_700_000_000_000_000_000,
    )  # fmt: skip

    line = capsys.readouterr().out
    assert line.count("\n") == 1
    assert len(line.splitlines()) == 1
    assert json.loads(line)["user_agent"] == "agent\x85\x9b"
    assert "\\u007f" in line


# Any text but lone surrogates, which UTF-8 cannot carry (written as backslash escapes instead).
TEXT = st.text(st.characters(exclude_categories=("Cs",)))


@given(st.dictionaries(TEXT, TEXT, max_size=5))
def test_any_text_round_trips_on_one_json_line(fields: dict[str, str]) -> None:
    """Any str keys and values: json.loads gives them back; no line break but the last."""

    line = render.json_line(fields).decode("utf-8")

    assert json.loads(line) == fields
    assert line.endswith("\n")
    assert line.splitlines() == [line[:-1]]


# Names the development console treats apart (said once, shortened, left out when empty).
CONSOLE_NAMES = st.sampled_from(["service", "version", "trace_id", "span_id", "request_id"])


@given(
    st.dictionaries(
        TEXT | CONSOLE_NAMES, TEXT | st.integers() | st.binary() | st.none(), max_size=5
    ),
    st.booleans(),
    st.sampled_from(["app", "msatrace.access"]),
)
def test_any_text_is_one_console_line(fields: dict[str, Any], colors: bool, logger: str) -> None:
    """Any field names and values give exactly one console line, its breaks escaped, also
    after the first line (the service fields hidden), with colours and on the access line."""

    render_line = console.console_renderer(colors=colors, static={"service": "svc", "version": ""})
    render_line({"event": "the first line shows the service fields"})
    line = render_line({"event": "e", "logger": logger, **fields})

    assert line.endswith("\n")
    assert line.splitlines() == [line[:-1]]
    assert "log_error" not in line  # rendered, not the fallback
    assert not any(c in line[:-1] for c in LINE_BREAKS)


class Broken(dict[str, Any]):
    """A dict whose items() raises: orjson reads it directly, the fallbacks call items()."""

    def items(self) -> Any:
        raise RuntimeError("broken items")


def test_a_renderer_failure_gives_a_fallback_line_and_one_report(
    logged: Callable[[], list[str]], fmt: str, in_trace: None
) -> None:
    """Should rendering fail, the line still has the event and trace fields, and log_error."""
    previous = safety.set_strict(False)
    safety.reset()
    try:
        for _ in range(2):
            msatrace.get_logger("app").info("kept", value=Broken(a=1), big=2**70)
    finally:
        safety.set_strict(previous)

    report, first, second = logged()  # reported while the first line is rendered
    for line in (first, second):
        assert "kept" in line
        assert TRACE_ID in line
        assert "log_error" in line
    assert "internal error in logs.render" in report
    if fmt == "json":
        assert json.loads(first)["log_error"] == "this line could not be rendered (RuntimeError)"


class Unmeasurable(tuple[int, int, int]):
    """An exc_info tuple whose len() raises: building the event itself fails."""

    def __len__(self) -> int:
        raise RuntimeError("no len")


def test_an_event_that_cannot_be_built_gives_a_fallback_line(
    logged: Callable[[], list[str]], fmt: str, in_trace: None
) -> None:
    """Should building the event fail, the line still has the event, its trace and log_error."""
    previous = safety.set_strict(False)
    safety.reset()
    try:
        msatrace.get_logger("app").info("kept", exc_info=Unmeasurable((1, 2, 3)))
    finally:
        safety.set_strict(previous)

    report, line = logged()
    assert "internal error in logs.render" in report
    assert "kept" in line
    assert TRACE_ID in line
    assert "log_error" in line


def test_a_renderer_failure_raises_in_strict_mode(logged: Callable[[], list[str]]) -> None:
    """The test suite's strict guards surface a renderer failure instead of hiding it."""

    with pytest.raises(RuntimeError, match="broken items"):
        msatrace.get_logger("app").info("kept", value=Broken(a=1), big=2**70)


def test_stdlib_arguments_that_do_not_fit_are_written_as_they_came(
    logged: Callable[[], list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """logging's "not enough arguments": the line has the format and the arguments."""
    record = logging.LogRecord("lib", logging.WARNING, __file__, 1, "%s and %s", ("one",), None)
    bridge = configure._state.bridge
    assert bridge is not None

    bridge.handle(record)  # msatrace's handler alone: pytest's own would raise

    (line,) = logged()
    assert "%s and %s % ('one',)" in line
    assert "--- Logging error ---" not in capsys.readouterr().err


def test_closed_stdout_is_counted_and_reported_once(
    logged: Callable[[], list[str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """With sys.stdout closed, logging raises nothing; stderr says so once; lines are counted."""
    closed = (tmp_path / "out").open("w")
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)

    for _ in range(3):
        msatrace.get_logger("app").info("lost")
        logging.getLogger("lib").warning("lost too")
    access.write_access_line(
        "msatrace.access", "info", "GET / 200", (TRACE_ID, SPAN_ID), "req-1",
        "GET", None, "/", 200, 1.0, None, None, 1_700_000_000_000_000_000,
    )  # fmt: skip

    monkeypatch.undo()
    err = capsys.readouterr().err
    assert err.count("msatrace: cannot write log lines") == 1, err
    assert "ValueError" in err
    assert builder.pipeline.output.errors == 7


def test_broken_pipe_on_the_fast_path_is_counted(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream whose reader is gone (BrokenPipeError) after lines went through the fast path."""

    class Pipe:
        def __init__(self) -> None:
            self.broken = False

        def write(self, data: bytes) -> int:
            if self.broken:
                raise BrokenPipeError(32, "Broken pipe")
            return len(data)

        def flush(self) -> None:
            pass

    class Stream:
        buffer = Pipe()

    msatrace.init(service_name="svc", patch="none", tracing=False)
    output = render.Output(stream=Stream())  # type: ignore[arg-type]  # a stream-like stub
    builder.set_output(output)
    msatrace.get_logger("app").info("written")
    Stream.buffer.broken = True

    msatrace.get_logger("app").info("lost")
    access.write_access_line(
        "msatrace.access", "info", "GET / 200", (TRACE_ID, SPAN_ID), "req-1",
        "GET", None, "/", 200, 1.0, None, None, 1_700_000_000_000_000_000,
    )  # fmt: skip

    assert output.errors == 2
    assert capsys.readouterr().err.count("BrokenPipeError") == 1


def test_lines_after_shutdown_keep_the_configured_format(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_trace: None
) -> None:
    """After shutdown(), msatrace's loggers, structlog's and the access line stay JSON."""
    log = msatrace.get_logger("app")
    msatrace.init(service_name="svc", patch="none", tracing=False)
    capsys.readouterr()  # init()'s start-up line (where spans go)
    log.info("before")

    msatrace.shutdown()
    log.info("after")
    structlog.get_logger("direct").info("structlog after")
    access.write_access_line(
        "msatrace.access", "info", "GET / 200", (TRACE_ID, SPAN_ID), "req-1",
        "GET", None, "/", 200, 1.0, None, None, 1_700_000_000_000_000_000,
    )  # fmt: skip

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(ln["event"], ln["service"], ln["trace_id"]) for ln in lines] == [
        ("before", "svc", TRACE_ID),
        ("after", "svc", TRACE_ID),
        ("structlog after", "svc", TRACE_ID),
        ("GET / 200", "svc", TRACE_ID),
    ]


@pytest.mark.parametrize("shut_down", [False, True], ids=["initialised", "after-shutdown"])
def test_structlog_capture_logs_sees_msatrace_loggers(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], shut_down: bool
) -> None:
    """structlog.testing.capture_logs() captures msatrace's loggers, also after shutdown()."""
    msatrace.init(service_name="svc", patch="none", tracing=False)
    capsys.readouterr()  # init()'s start-up line (where spans go)
    if shut_down:
        msatrace.shutdown()

    with structlog.testing.capture_logs() as captured:
        msatrace.get_logger("app").info("captured", n=1)
    msatrace.get_logger("app").info("written")

    assert captured == [{"event": "captured", "n": 1, "log_level": "info"}]
    assert [json.loads(ln)["event"] for ln in capsys.readouterr().out.splitlines()] == ["written"]
