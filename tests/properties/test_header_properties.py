"""Hypothesis properties of every header parser: a valid normalised value or None, never a raise."""

from __future__ import annotations

import re
import string

from hypothesis import given
from hypothesis import strategies as st

from msatrace._core.trace import headers

HEX = "0123456789abcdef"
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
any_text = st.text(max_size=300)
near_traceparent = st.builds(
    lambda v, t, s, f, tail: f"{v}-{t}-{s}-{f}{tail}",
    st.text(alphabet=HEX + "xF", min_size=2, max_size=2),
    st.text(alphabet=HEX + "A", min_size=31, max_size=33),
    st.text(alphabet=HEX, min_size=15, max_size=17),
    st.text(alphabet=HEX, min_size=1, max_size=3),
    st.sampled_from(["", "-", "-x", "x"]),
)
ids = st.tuples(
    st.integers(min_value=1, max_value=2**128 - 1),
    st.integers(min_value=1, max_value=2**64 - 1),
    st.integers(min_value=0, max_value=255),
)


@given(st.one_of(any_text, near_traceparent))
def test_traceparent_parse_is_valid_or_none(value: str) -> None:
    """Any string parses to non-zero IDs in range, or to None."""

    tp = headers.parse_traceparent(value)

    if tp is not None:
        assert 0 < tp.trace_id < 2**128
        assert 0 < tp.span_id < 2**64
        assert 0 <= tp.flags < 256
        assert TRACEPARENT.fullmatch(headers.format_traceparent(*tp))


@given(ids)
def test_traceparent_format_then_parse_round_trips(parts: tuple[int, int, int]) -> None:
    """Formatting valid IDs and parsing the result gives the same IDs back."""

    text = headers.format_traceparent(*parts)

    assert headers.parse_traceparent(text) == parts
    assert headers.format_traceparent(*parts) == text


@given(st.one_of(any_text, st.lists(st.tuples(st.text(max_size=6), st.text(max_size=6)))))
def test_tracestate_parse_is_valid_or_none(raw: object) -> None:
    """Any tracestate parses to at most 32 unique valid members that format back, or to None."""

    value = raw if isinstance(raw, str) else ",".join(f"{k}={v}" for k, v in raw)  # type: ignore[attr-defined]

    members = headers.parse_tracestate(value)

    if members is not None:
        assert len(members) <= 32
        assert len({k for k, _ in members}) == len(members)
        assert headers.parse_tracestate(headers.format_tracestate(members)) == members


@given(
    st.one_of(
        any_text, st.uuids().map(str), st.text(alphabet=HEX + "ABCDEF", min_size=32, max_size=32)
    )
)
def test_trace_id_parse_is_normalised_or_none(value: str) -> None:
    """Any X-Trace-ID becomes 32 lowercase non-zero hex digits, or is ignored."""

    tid = headers.parse_trace_id(value)

    if tid is not None:
        assert re.fullmatch(r"[0-9a-f]{32}", tid)
        assert tid != "0" * 32


@given(st.uuids())
def test_uuid_trace_id_keeps_its_digits(u: object) -> None:
    """A UUID's textual form normalises to its 32 hex digits."""

    assert headers.parse_trace_id(str(u)) == u.hex  # type: ignore[attr-defined]


@given(st.one_of(any_text, st.text(alphabet=string.ascii_letters + "._:-", max_size=140)))
def test_request_id_parse_is_safe_or_none(value: str) -> None:
    """A kept request ID is 1-128 safe characters, so it can never forge a header or log line."""

    rid = headers.parse_request_id(value)

    if rid is not None:
        assert re.fullmatch(r"[A-Za-z0-9._:\-]{1,128}", rid)


@given(any_text)
def test_host_and_port_parse_is_safe(value: str) -> None:
    """Any Host header splits without raising; a port is kept only when it is a valid TCP port."""

    address, port_text = headers.split_host(value)
    port = headers.parse_port(port_text)

    assert address is None or address in value
    if port is not None:
        assert 0 <= port <= 65535
        assert str(port) == port_text.lstrip("0") or port == 0


def test_host_forms() -> None:
    """Name, name:port, [IPv6]:port; a bad or too large port is dropped."""

    assert headers.split_host("api.internal:8080") == ("api.internal", "8080")
    assert headers.split_host("[::1]:443") == ("::1", "443")
    assert headers.split_host("example.com") == ("example.com", "")
    assert [headers.parse_port(p) for p in ("8080", "65536", "x1", "", "٣")] == [
        8080,
        None,
        None,
        None,
        None,
    ]
