"""A browser's user agent (version numbers, "KHTML") never passes the first look; once the
per-field path has left it unchanged it is remembered, and the next access line with it takes
the fast path. What is remembered is only what the per-field path kept."""

from __future__ import annotations

from typing import Any

import pytest

from msatrace._core.redact.engine import Redactor

pytestmark = pytest.mark.bare

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def _access(user_agent: str, path: str = "/orders/42") -> dict[str, Any]:
    return {
        "event": "GET /orders/{id} 200",
        "route": "/orders/{id}",
        "path": path,
        "status": 200,
        "user_agent": user_agent,
    }


def _finds(redactor: Redactor, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The strings the scanner is asked to search (the per-field path's work)."""
    asked: list[str] = []
    find = redactor._scan.find

    def spy(s: str, *args: Any) -> Any:
        asked.append(s)
        return find(s, *args)

    monkeypatch.setattr(redactor._scan, "find", spy)
    return asked


def test_a_browser_user_agent_is_searched_once_then_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    redactor = Redactor()
    asked = _finds(redactor, monkeypatch)

    first = redactor.event(_access(CHROME, "/orders/1"))
    searched_first = CHROME in asked
    asked.clear()
    second = redactor.event(_access(CHROME, "/orders/2"))

    assert first["user_agent"] == second["user_agent"] == CHROME
    assert searched_first
    assert asked == []  # the second line took the fast path


def test_a_user_agent_holding_personal_data_is_never_remembered() -> None:
    redactor = Redactor()
    agent = CHROME + " contact/kim.minji@example.com"

    first = redactor.event(_access(agent))
    second = redactor.event(_access(agent))

    assert "kim.minji" not in first["user_agent"]
    assert "kim.minji" not in second["user_agent"]


def test_a_string_kept_under_a_registration_number_hint_is_not_remembered() -> None:
    """A key hinting at a registration number redacts bare 13-digit numbers: a value kept under
    another key must not teach the fast path anything about it, and the reverse."""
    redactor = Redactor()
    number = "8801011234568"  # a valid registration number, undashed: redacted only with a hint

    redactor.event({"user_agent": number, "route": number})
    hinted = redactor.event({"rrn_note": number})

    assert hinted["rrn_note"] != number
