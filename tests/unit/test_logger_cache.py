"""msatrace.get_logger() caches structlog's logger per init(); init() and shutdown() reset it."""

from __future__ import annotations

import json

import pytest

import msatrace


def _events(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]


def test_logger_created_before_init_follows_init(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module-level logger obtained before init() writes msatrace's JSON lines after it."""
    log = msatrace.get_logger("early")

    msatrace.init(service_name="svc", patch="none")
    capsys.readouterr()  # init()'s start-up line (where spans go)
    log.info("after init")

    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["logger"] == "early"


def test_logger_follows_a_new_level_after_reinit(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A logger used under one init() obeys the level of the next init()."""
    log = msatrace.get_logger("app")
    msatrace.init(service_name="svc", patch="none", log_level="INFO")
    log.debug("dropped at INFO")
    msatrace.shutdown()

    msatrace.init(service_name="svc", patch="none", log_level="DEBUG")
    capsys.readouterr()  # init()'s start-up line (where spans go)
    log.debug("kept at DEBUG")

    assert _events(capsys) == ["kept at DEBUG"]
