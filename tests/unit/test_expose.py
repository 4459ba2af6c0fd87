"""expose_headers: the setting, and the pure rule that merges Access-Control-Expose-Headers."""

from __future__ import annotations

import pytest

from msatrace._core.config.settings import resolve
from msatrace._core.trace import headers
from msatrace.exceptions import ConfigError

EXPOSE = headers.Expose(
    "access-control-expose-headers",
    "Access-Control-Expose-Headers",
    ("X-Trace-ID", "X-Request-ID"),
    ", ",
)


def test_expose_headers_is_off_by_default() -> None:
    """Without argument or variable, no response gets Access-Control-Expose-Headers."""

    assert resolve({}, {}).expose_headers is False


def test_expose_headers_from_the_environment() -> None:
    """MSATRACE_EXPOSE_HEADERS=true turns it on; the argument wins over the variable."""

    assert resolve({}, {"MSATRACE_EXPOSE_HEADERS": "true"}).expose_headers is True
    assert (
        resolve({"expose_headers": False}, {"MSATRACE_EXPOSE_HEADERS": "1"}).expose_headers is False
    )


def test_bad_expose_headers_names_the_variable() -> None:
    """A value that is not a boolean fails with ConfigError naming the variable."""

    with pytest.raises(ConfigError, match="MSATRACE_EXPOSE_HEADERS='sometimes'"):
        resolve({}, {"MSATRACE_EXPOSE_HEADERS": "sometimes"})


def test_added_when_the_application_set_none() -> None:
    """No list of the application's: ours is a header of its own, at the end."""
    out = [("Content-Type", "text/plain")]

    headers.exposing(out, EXPOSE)

    assert out == [
        ("Content-Type", "text/plain"),
        ("Access-Control-Expose-Headers", "X-Trace-ID, X-Request-ID"),
    ]


def test_names_listed_on_any_line_are_not_repeated() -> None:
    """Every line of the application's counts; the missing names go on its first line."""
    out = [
        ("access-control-expose-headers", "X-Custom"),
        ("ACCESS-CONTROL-EXPOSE-HEADERS", "x-trace-id"),
    ]

    headers.exposing(out, EXPOSE)

    assert out == [
        ("access-control-expose-headers", "X-Custom, X-Request-ID"),
        ("ACCESS-CONTROL-EXPOSE-HEADERS", "x-trace-id"),
    ]


def test_bytes_form() -> None:
    """ASGI's bytes headers are merged the same way."""
    expose = headers.Expose(
        b"access-control-expose-headers", b"access-control-expose-headers", (b"X-Trace-ID",), b", "
    )
    out = [(b"access-control-expose-headers", b"*")]

    headers.exposing(out, expose)

    assert out == [(b"access-control-expose-headers", b"*, X-Trace-ID")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "X-Trace-ID, X-Request-ID"),
        ("", "X-Trace-ID, X-Request-ID"),
        ("X-Custom", "X-Custom, X-Trace-ID, X-Request-ID"),
        ("x-request-id", "x-request-id, X-Trace-ID"),
        ("X-Request-ID,X-Trace-ID", None),  # listed already: leave the header as it is
    ],
)
def test_exposed_value_for_one_value_per_name(value: str | None, expected: str | None) -> None:
    """For frameworks with one value per header name (Django): the value to set, or None."""

    assert headers.exposed_value(value, EXPOSE) == expected
