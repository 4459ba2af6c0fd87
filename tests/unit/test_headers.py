"""Header parsers by example: the W3C Trace Context rules and the legacy headers."""

from __future__ import annotations

import uuid

import pytest

from msatrace._core.trace import headers

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_valid_traceparent_is_parsed() -> None:
    """A version-00 traceparent yields its IDs and flags."""

    tp = headers.parse_traceparent(VALID)

    assert tp == (0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, 1)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",  # short flags
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  # uppercase
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # zero trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # zero parent-id
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff
        VALID + "-extra",  # version 00 must be exactly 55 characters
        "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  # no dash after 55
    ],
)
def test_invalid_traceparent_is_rejected(value: str) -> None:
    """Every malformed traceparent from the W3C rules is rejected."""

    assert headers.parse_traceparent(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-will-bring",
    ],
)
def test_higher_version_uses_forward_compatibility(value: str) -> None:
    """A higher version is read by the version-00 layout of its first 55 characters."""

    tp = headers.parse_traceparent(value)

    assert tp is not None
    assert tp.span_id == 0x00F067AA0BA902B7


def test_format_traceparent_round_trips() -> None:
    """Formatting parsed IDs gives the original header back."""

    tp = headers.parse_traceparent(VALID)

    assert tp is not None
    assert headers.format_traceparent(*tp) == VALID


def test_tracestate_members_keep_their_order() -> None:
    """tracestate list members are parsed in order, empty members skipped."""

    members = headers.parse_tracestate("rojo=00f067aa0ba902b7, ,congo=t61rcWkgMzE,a@b=x")

    assert members == [("rojo", "00f067aa0ba902b7"), ("congo", "t61rcWkgMzE"), ("a@b", "x")]


@pytest.mark.parametrize(
    "value",
    [
        "Rojo=1",  # uppercase key
        "rojo",  # no equals sign
        "rojo=a=b=",  # "=" cannot end a value
        "rojo=a,b",  # member without "="
        ",".join(f"k{i}=v" for i in range(33)),  # more than 32 members
    ],
)
def test_invalid_tracestate_is_dropped(value: str) -> None:
    """A tracestate with any invalid member or 33+ members is dropped whole."""

    assert headers.parse_tracestate(value) is None


@pytest.mark.parametrize(
    "key",
    [
        "1vendor",  # a digit first
        "a" * 256,  # the longest key
        "t" * 200 + "@" + "s" * 55,  # tenant@system, split as the older grammar forbade
        "0@" + "s" * 254,
        "x@y@z",  # "@" is a plain key character now
        "a_-*/@9",
    ],
)
def test_tracestate_keys_of_the_current_w3c_grammar(key: str) -> None:
    """Keys follow the current W3C text: (lcalpha / DIGIT) 0*255(keychar), "@" a keychar."""

    assert headers.parse_tracestate(f"{key}=v") == [(key, "v")]


@pytest.mark.parametrize("key", ["a" * 257, "@a", "_a", "a.b", "aB", "a b", ""])
def test_tracestate_keys_outside_the_grammar(key: str) -> None:
    """Keys longer than 256, with a bad first character or a character outside keychar fail."""

    assert headers.parse_tracestate(f"{key}=v") is None


def test_tracestate_duplicate_key_keeps_the_first() -> None:
    """A duplicated key does not drop the header: the first member stays, later ones go."""

    members = headers.parse_tracestate("rojo=1,congo=2,rojo=3,congo=4")

    assert members == [("rojo", "1"), ("congo", "2")]


def test_tracestate_empty_members_and_whitespace() -> None:
    """OWS-only list members are allowed; spaces and tabs around members are ignored."""

    assert headers.parse_tracestate("") == []
    assert headers.parse_tracestate(" \t, ,") == []
    assert headers.parse_tracestate("\trojo=a b ,, congo= x") == [("rojo", "a b"), ("congo", " x")]


def test_thirty_two_tracestate_members_are_allowed() -> None:
    """The limit is 32 members, inclusive."""

    value = ",".join(f"k{i}=v" for i in range(32))

    assert headers.parse_tracestate(value) is not None


def test_x_trace_id_accepts_hex_and_uuid() -> None:
    """X-Trace-ID takes 32 hex digits in any case, or a UUID, normalised to lowercase hex."""

    u = uuid.uuid4()

    assert headers.parse_trace_id(str(u)) == u.hex
    assert headers.parse_trace_id(u.hex.upper()) == u.hex


@pytest.mark.parametrize(
    "value",
    ["0" * 32, "00000000-0000-0000-0000-000000000000", "xyz", "a" * 31, "a" * 33, "{" + "a" * 32],
)
def test_x_trace_id_rejects_zero_and_garbage(value: str) -> None:
    """All-zero IDs and anything that is not hex or a UUID are ignored."""

    assert headers.parse_trace_id(value) is None


def test_request_id_is_kept_when_valid() -> None:
    """A request ID of allowed characters survives as it came."""

    assert headers.parse_request_id("req-1.a:B_2") == "req-1.a:B_2"


@pytest.mark.parametrize("value", ["", "a" * 129, "bad id", "evil\r\nx", "é"])
def test_request_id_is_rejected_when_invalid(value: str) -> None:
    """A request ID too long, empty, or with other characters is replaced."""

    assert headers.parse_request_id(value) is None
