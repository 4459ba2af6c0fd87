"""The development console, for eyes (issue #19, "A console that a person reads"): the service
fields once, short IDs, no empty fields, colours by the NO_COLOR / FORCE_COLOR conventions, quiet
third-party loggers in development; the JSON format unchanged."""

from __future__ import annotations

import io
import json
import logging

import pytest
from tests.fixed_trace import SPAN_ID, TRACE_ID

import msatrace
from msatrace._core.logs import console
from msatrace._core.trace import context

GENERATED_REQUEST_ID = "0af7651916cd43dd8448eb211c80319c"
SERVICE = {"service": "svc", "environment": "development", "version": "1.2.3"}


def _init_console(capsys: pytest.CaptureFixture[str], **kwargs: object) -> str:
    """msatrace in development (console); returns init()'s start-up output."""
    msatrace.init(
        service_name="svc",
        service_version="1.2.3",
        environment="development",
        patch="none",
        tracing=False,
        **kwargs,  # type: ignore[arg-type]  # the test's own keyword arguments
    )
    return capsys.readouterr().out


def test_service_fields_are_on_the_first_line_only(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """init()'s start-up line carries service, environment and version; later lines do not."""
    banner = _init_console(capsys)

    for key, value in SERVICE.items():
        assert f"{key}={value}" in banner, banner
    msatrace.get_logger("app").info("one")
    logging.getLogger("lib").warning("two")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2, lines
    for line in lines:
        assert "service=" not in line
        assert "environment=" not in line
        assert "version=" not in line


def test_empty_fields_are_left_out_and_ids_shortened(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_trace: None
) -> None:
    """None and "" fields are not shown; trace, span and generated request IDs are 8 hex."""
    _init_console(capsys)

    with context.bound(request_id=GENERATED_REQUEST_ID):
        msatrace.get_logger("app").info("hello", empty="", nothing=None, zero=0, no=False)
    (line,) = capsys.readouterr().out.splitlines()

    assert f"trace_id={TRACE_ID[:8]} span_id={SPAN_ID[:8]} " in line, line
    assert f"request_id={GENERATED_REQUEST_ID[:8]} " in line, line
    assert TRACE_ID not in line
    assert GENERATED_REQUEST_ID not in line
    assert "empty=" not in line
    assert "nothing=" not in line
    assert "zero=0" in line
    assert "no=False" in line


def test_no_trace_no_id_fields(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Outside a trace and a request, the line has no ID fields at all (they are None)."""
    _init_console(capsys)

    msatrace.get_logger("app").info("plain", n=1)
    (line,) = capsys.readouterr().out.splitlines()

    assert line.endswith("[app] n=1"), line


def test_a_request_id_sent_by_a_caller_is_shown_whole(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only msatrace's own 32-hex request IDs are cut: a caller's is what people grep for."""
    _init_console(capsys)

    with context.bound(request_id="order-2026-12-04-000123"):
        msatrace.get_logger("app").info("hello")

    assert "request_id=order-2026-12-04-000123" in capsys.readouterr().out


def test_the_access_line_keeps_the_full_ids() -> None:
    """The access line (one per request) shows the IDs whole, to copy into a trace viewer."""
    event = {
        "timestamp": "t", "level": "info", "logger": "msatrace.access", "event": "GET / 200",
        "service": "svc", "trace_id": TRACE_ID, "span_id": SPAN_ID,
        "request_id": GENERATED_REQUEST_ID,
    }  # fmt: skip
    line = console.console_renderer(colors=False)(event)

    assert f"trace_id={TRACE_ID} span_id={SPAN_ID} request_id={GENERATED_REQUEST_ID}" in line


def test_a_differing_value_of_a_static_field_is_shown() -> None:
    """Only the process's own values are hidden: another value under the name is shown."""
    render_line = console.console_renderer(colors=False, static={"service": "svc"})
    render_line({"event": "banner", "service": "svc"})  # the first line shows them

    assert "service=" not in render_line({"event": "e", "service": "svc"})
    assert "service=other" in render_line({"event": "e", "service": "other"})


def test_json_format_is_unchanged(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], in_trace: None
) -> None:
    """JSON lines keep every field on every line: full IDs, the service fields, nulls."""
    msatrace.init(service_name="svc", service_version="1.2.3", patch="none", log_format="json")
    capsys.readouterr()

    msatrace.get_logger("app").info("hello")
    event = json.loads(capsys.readouterr().out)

    assert event["service"] == "svc"
    assert event["version"] == "1.2.3"
    assert event["trace_id"] == TRACE_ID
    assert event["span_id"] == SPAN_ID
    assert event["request_id"] is None


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "environ", "expected"),
    [
        (io.StringIO(), {}, False),
        (_Tty(), {}, True),
        (_Tty(), {"NO_COLOR": "1"}, False),
        (_Tty(), {"NO_COLOR": ""}, True),  # NO_COLOR counts only when not empty
        (io.StringIO(), {"FORCE_COLOR": "1"}, True),
        (io.StringIO(), {"FORCE_COLOR": "0"}, False),
        (_Tty(), {"FORCE_COLOR": "false"}, False),
        (io.StringIO(), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),  # NO_COLOR wins
        (_Tty(), {"TERM": "dumb"}, False),
        (object(), {}, False),  # no isatty at all
    ],
)
def test_colours_follow_the_terminal_and_the_conventions(
    stream: object, environ: dict[str, str], expected: bool
) -> None:
    assert console.use_colors(stream, environ) is expected


def test_force_color_colours_a_pipe(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """FORCE_COLOR gives colours where the output is not a terminal; escapes stay escaped."""
    env.setenv("FORCE_COLOR", "1")
    _init_console(capsys)

    msatrace.get_logger("app").warning("hello\x1b[2J")
    out = capsys.readouterr().out

    assert "\x1b[33m" in out  # the warning's colour
    assert "\x1b[2J" not in out
    assert "hello\\x1b[2J" in out


def test_noisy_loggers_are_quiet_in_development(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """In development, httpcore's DEBUG and watchfiles' INFO are dropped; the app's DEBUG and
    a noisy logger's warnings are written."""
    _init_console(capsys)

    logging.getLogger("httpcore.connection").debug("connect_tcp.started")
    logging.getLogger("watchfiles.main").info("1 change detected")
    logging.getLogger("urllib3").info("kept: urllib3 is at INFO")
    logging.getLogger("hpack.hpack").warning("kept: a warning")
    msatrace.get_logger("app").debug("kept: the application's DEBUG")
    logging.getLogger("mylib").debug("kept: a library not on the list")

    out = capsys.readouterr().out
    assert "connect_tcp" not in out
    assert "change detected" not in out
    assert out.count("kept:") == 4, out


def test_log_levels_override_the_noisy_defaults(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A per-logger level for a noisy logger wins over its development default."""
    _init_console(capsys, log_levels={"httpcore": "DEBUG", "asyncio": "ERROR"})

    logging.getLogger("httpcore.http11").debug("kept: asked for")
    logging.getLogger("asyncio").warning("dropped: below ERROR")

    out = capsys.readouterr().out
    assert "kept: asked for" in out
    assert "dropped" not in out


def test_noisy_defaults_are_development_only_and_undone(env: pytest.MonkeyPatch) -> None:
    """Production leaves third-party levels alone; shutdown() gives back what development set."""
    httpcore = logging.getLogger("httpcore")
    before = httpcore.level

    msatrace.init(service_name="svc", patch="none", tracing=False)  # production
    assert httpcore.level == before
    msatrace.shutdown()

    msatrace.init(service_name="svc", environment="dev", patch="none", tracing=False)
    assert httpcore.level == logging.INFO
    msatrace.shutdown()
    assert httpcore.level == before


def test_noisy_defaults_never_lower_a_logger_below_the_global_level(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Development at WARNING: asyncio's INFO default would let its INFO lines through; it is
    not applied, and the WARNING defaults change nothing either."""
    _init_console(capsys, log_level="WARNING")

    logging.getLogger("asyncio").info("dropped: below WARNING")
    logging.getLogger("asyncio").warning("kept: a warning")

    out = capsys.readouterr().out
    assert "dropped" not in out
    assert "kept: a warning" in out
