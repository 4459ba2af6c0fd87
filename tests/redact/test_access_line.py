"""The access line's own check (``Redactor.access_line_clean``): a line it calls clean is one the
per-field path leaves unchanged; a line it does not goes through ``Redactor.event``."""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import msatrace
from msatrace._core.logs import access, builder
from msatrace._core.redact.engine import Redactor
from msatrace._core.trace import context
from msatrace.testing import capture_logs
from tests.redact import corpus

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
_PII = st.builds(
    lambda kind, seed: kind(random.Random(seed)),
    st.sampled_from([corpus.email, corpus.card, corpus.phone_kr, corpus.phone_intl, corpus.jwt]),
    st.integers(0, 2**32),
)
_PIECES = st.one_of(
    _PII,
    st.sampled_from(
        [
            "/orders/", "42", "{id}", "<int:i>", "?", "password=", "token:", "%40", "kim%40a.co",
            "/", "-", " ", "\n", "8801011234568", "010", "1234", "5678", "@", "=", ":", "+",
            "Bearer ", "ABCD", "rrn",
        ]
    ),
)  # fmt: skip
_TEXT = st.one_of(st.lists(_PIECES, max_size=5).map("".join), st.text(max_size=20))
_VALUES = st.one_of(_TEXT, st.integers(), st.none(), st.floats(allow_nan=False), st.booleans())
_BOUND_KEYS = st.sampled_from(
    ["request_id", "user_id", "note", "password", "rrn_note", "tenant", "path", "trace_id"]
)
_METHODS = st.sampled_from(["GET", "POST", "DELETE", "OPTIONS", "01012345678", "kim@example.com"])
_ROUTES = st.one_of(st.none(), st.sampled_from(["/orders/{id}", "/health", "/u/<int:i>"]), _TEXT)
_STATUS = st.one_of(st.none(), st.sampled_from([200, 404, 500, 4111111111111111, 10**12]))
_CLIENTS = st.one_of(
    st.none(),
    st.sampled_from(["127.0.0.1", "10.1.2.3", "192.168.100.200", "::1", "2001:db8::1"]),
    st.sampled_from(["010.1234.5678", "01012345678", "unix:/tmp/s"]),
    _TEXT,
)
_AGENTS = st.one_of(st.none(), st.sampled_from(["bench/1.0", CHROME]), _TEXT)
_REDACTORS: dict[str, Redactor] = {}
_OPTIONS: dict[str, dict[str, Any]] = {
    "default": {},
    "ip": {"ip": "redact"},
    "path key": {"keys": ("path",)},
    "allow": {"allow_keys": ("user_agent",)},
}


def _line(bound: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The dict ``access.write``'s shortcut builds (schema, bound fields, the line's fields)."""
    out: dict[str, Any] = {
        "timestamp": "2026-12-05T00:00:00.000Z",
        "level": "info",
        "logger": "msatrace.access",
        "event": fields["event"],
        "service": "svc",
        "environment": "production",
        "version": "1.0.0",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "request_id": None,
    }
    out.update(bound)
    out.update(fields)
    return out


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(_OPTIONS)),
    st.dictionaries(_BOUND_KEYS, _VALUES, max_size=3),
    _METHODS,
    _ROUTES,
    _TEXT,
    _STATUS,
    _CLIENTS,
    _AGENTS,
    st.booleans(),
    st.one_of(st.none(), st.sampled_from(["GET /orders/{id} 200", "ok"]), _TEXT),
)
# A status that is a card number, under a message remembered clean.
@example("default", {}, "GET", "/x/{id}", "/x/1", 4111111111111111, None, None, True, "ok")
def test_a_line_the_access_check_calls_clean_is_left_unchanged_by_the_per_field_path(
    options: str,
    bound: dict[str, Any],
    method: str,
    route: str | None,
    path: str,
    status: int | None,
    client: str | None,
    agent: str | None,
    warm: bool,
    other_message: str | None,
) -> None:
    """With what earlier examples (and, with ``warm``, this line itself) left remembered; the
    message is the one a request's end writes, or (the check must not rely on it) another."""
    redactor = _REDACTORS.setdefault(options, Redactor(**_OPTIONS[options]))
    message = f"{method} {route or path} {status}" if other_message is None else other_message
    fields = {
        "event": message,
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": 1.5,
        "client_address": client,
        "user_agent": agent,
    }
    line = _line(bound, fields)
    if warm:
        redactor.event(dict(line))
    if redactor.access_line_clean(
        MappingProxyType(bound), message, method, route, path, status, client, agent
    ):
        assert redactor._fields(line) == line
        assert redactor.event(line) is line


# --- through access.write, as a request's end writes it ---


@pytest.fixture
def looked_at(env: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """msatrace initialised (redaction on by default); the events ``Redactor.event`` is given."""
    msatrace.init(service_name="svc", patch="none", log_format="json")
    redactor = builder.pipeline.transforms[0].__self__  # type: ignore[attr-defined]
    assert isinstance(redactor, Redactor)
    seen: list[dict[str, Any]] = []
    clean = redactor._clean

    def spy(event: dict[str, Any]) -> bool:
        seen.append(event)
        return clean(event)

    env.setattr(redactor, "_clean", spy)
    return seen


def _write(path: str, route: str | None = "/orders/{id}", **bound: Any) -> None:
    token = context._fields.set(MappingProxyType({"request_id": "ab" * 16, **bound}))
    try:
        access.write(
            logger="msatrace.access",
            level="info",
            event=f"GET {route or path} 200",
            ids=("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"),
            method="GET",
            route=route,
            path=path,
            status=200,
            duration_ms=1.25,
            client_address="127.0.0.1",
            user_agent=CHROME,
            time_ns=1_764_072_000_123_456_789,
        )
    finally:
        context._fields.reset(token)


def test_a_clean_line_of_a_known_route_is_not_walked_field_by_field(
    looked_at: list[dict[str, Any]],
) -> None:
    with capture_logs() as events:
        _write("/orders/1")
        _write("/orders/2")
        _write("/orders/3", tenant="acme")

    assert [e["path"] for e in events] == ["/orders/1", "/orders/2", "/orders/3"]
    assert [e["path"] for e in looked_at] == ["/orders/1"]  # the first line teaches the route


@pytest.mark.parametrize(
    ("path", "route", "bound", "leak"),
    [
        ("/u/kim.minji@example.com", "/u/{email}", {}, "kim.minji"),
        ("/u/kim.minji%40example.com", "/u/{email}", {}, "kim.minji"),
        ("/u/010-1234-5678", None, {}, "1234-5678"),
        ("/orders/9", "/orders/{id}", {"customer": "kim.minji@example.com"}, "kim.minji"),
        ("/orders/9", "/orders/{id}", {"password": "hunter2pw"}, "hunter2pw"),
        ("/orders/9", "/orders/{id}", {"card": 4111111111111111}, "4111111111111111"),
    ],
)
def test_personal_data_in_a_later_line_is_still_redacted(
    looked_at: list[dict[str, Any]],
    path: str,
    route: str | None,
    bound: dict[str, Any],
    leak: str,
) -> None:
    with capture_logs() as events:
        _write("/orders/1")  # the route, method and user agent are remembered clean
        _write(path, route, **bound)

    assert leak not in repr(events[1])
    assert "[REDACTED:" in repr(events[1])
