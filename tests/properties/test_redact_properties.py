"""Hypothesis properties of redaction: safe replacements, one treatment everywhere, idempotent,
never raising."""

from __future__ import annotations

import random
import re
import urllib.parse
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tests.redact import corpus

from msatrace._core.redact.engine import Redactor
from msatrace._core.redact.spans import RedactingSpanExporter

REDACTOR = Redactor()
MARKER = re.compile(r"\[REDACTED:[a-z0-9_]+\]")
# Values that are personal data in full (the whole value is what a rule replaces).
WHOLE = corpus.WHOLE_VALUES
# Prose around them: letters of several scripts and spaces, nothing a rule could start on.
PROSE = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz 가나다라마바사 注文完了 äöüé"), max_size=30
).map(lambda s: s.strip())


@st.composite
def pii(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(sorted(WHOLE)))
    return WHOLE[kind](random.Random(draw(st.integers(0, 2**32))))


@st.composite
def sentence(draw: st.DrawFn) -> str:
    return f"{draw(PROSE)} {draw(pii())} {draw(PROSE)}".strip()


@settings(max_examples=300, deadline=None)
@given(PROSE, pii(), PROSE)
def test_the_replacement_never_contains_any_part_of_the_value(
    before: str, value: str, after: str
) -> None:
    """Only a ``[REDACTED:<kind>]`` marker replaces the value; the prose around it is kept."""
    out = REDACTOR.text(f"{before} {value} {after}")

    expected = re.escape(before) + r" \[REDACTED:[a-z0-9_]+\] " + re.escape(after)
    assert re.fullmatch(expected, out), out


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["password", "client_secret", "api-key", "Authorization", "jumin"]), pii())
def test_a_sensitive_key_s_value_is_replaced_whole(key: str, value: str) -> None:
    """Under a sensitive key any value becomes a marker holding nothing of it."""
    out = REDACTOR.event({key: value})[key]

    assert MARKER.fullmatch(out)


@settings(max_examples=200, deadline=None)
@given(sentence())
def test_a_span_attribute_gets_the_same_treatment_as_text(text: str) -> None:
    """A span attribute is redacted exactly as the same text in a log message."""
    assert REDACTOR.attributes({"note": text}) == {"note": REDACTOR.text(text)}


@settings(max_examples=200, deadline=None)
@given(sentence())
def test_a_url_query_string_gets_the_same_treatment_as_text(text: str) -> None:
    """A value in a (percent-encoded) query string is redacted as the same text would be."""
    url = "/search?q=" + urllib.parse.quote_plus(text)

    # written decoded or not, it reads the same once decoded
    assert urllib.parse.unquote_plus(REDACTOR.url(url)) == "/search?q=" + REDACTOR.text(text)


_MEMORY = InMemorySpanExporter()
_PROVIDER = TracerProvider()
_PROVIDER.add_span_processor(SimpleSpanProcessor(RedactingSpanExporter(_MEMORY, REDACTOR)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sentence())
def test_an_exception_message_gets_the_same_treatment_as_text(text: str) -> None:
    """An exception recorded on a span is exported with its message redacted as text is."""
    _MEMORY.clear()
    with _PROVIDER.get_tracer("p").start_as_current_span("s") as span:
        span.record_exception(ValueError(text))

    event = _MEMORY.get_finished_spans()[0].events[0]
    assert event.attributes["exception.message"] == REDACTOR.text(text)


FRAGMENTS = st.one_of(
    pii(),
    PROSE,
    st.text(max_size=40),
    st.sampled_from(["password=hunter2x", "Bearer abc123def456", "?token=x1y2z3", "ORD-1042",
                     "2026-12-04T17:23:28Z", "127.0.0.1:8080", "[REDACTED:email]", "v1.2.3"]),
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(FRAGMENTS, max_size=6).map(" ".join))
def test_redaction_is_idempotent(text: str) -> None:
    """Redacting redacted text changes nothing."""
    once = REDACTOR.text(text)

    assert REDACTOR.text(once) == once


class _Odd:
    def __str__(self) -> str:
        raise RuntimeError("no str")


ANYTHING = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(),
        st.sampled_from([_Odd(), object(), 10**18 + 7, float("nan"), b"\xff\xfe", "\ud800"]),
        pii(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(
            st.one_of(st.text(max_size=12), st.integers(), st.none()), inner, max_size=4
        ),
    ),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(ANYTHING)
def test_never_raises_on_any_value(value: Any) -> None:
    """Any value of any type, nested or not, goes through every entry point without raising."""
    REDACTOR.value(value)
    REDACTOR.event({"event": value, "password": value, "trace_id": value})
    REDACTOR.attributes({"k": value, "url.query": value})
    if isinstance(value, str):
        REDACTOR.text(value)
        REDACTOR.url(value)


# Log text around assignments: names sensitive or not (in several spellings), the separators an
# assignment may use, route templates, query strings, values and PII.
_NAMES = st.sampled_from(
    [
        "password", "Pass_Word", "p-a-s-s", "api_key", "X-Api-Key", "apiKey", "client.secret",
        "token", "Authorization", "cookie", "session", "sid", "code", "sig", "key", "pan",
        "japan", "monkey", "author", "order_id", "int", "name", "id", "주민번호", "\u212aey", "pw",
    ]
)  # fmt: skip
_SEPARATORS = st.sampled_from(
    ["=", ":", ": ", " = ", '": "', "='", "\t:", " : ", '" : "', " :", "\t: ", "%3D", "%3A"]
)
_PIECES = st.one_of(
    _NAMES,
    _SEPARATORS,
    st.sampled_from(
        [
            "<int:order_id>", "/orders/<int:i>", "{order_id}", '"', "'", "?", "&", ";", " ",
            "\n", "-", ".", "_", "null", "abc123", "s3cr3t", "42", "GET", "/items/7",
            "bench/1.0", "Mozilla/5.0 (X11; Linux x86_64)", "%40", "%2B82", "+", "%20", "%",
            "kim%40example.com", "%30%31%30", "%EC%A3%BC%EB%AF%BC%EB%B2%88%ED%98%B8",
            "%E2%80%94", "%C3%A9",
        ]
    ),
)  # fmt: skip
_PROSE = st.lists(_PIECES, max_size=6).map("".join)
_TEXT = st.one_of(
    st.lists(_PIECES, max_size=12).map("".join),
    st.builds(lambda *parts: "".join(parts), _PROSE, _NAMES, _SEPARATORS, _PIECES, _PROSE),
    st.builds(lambda *parts: "".join(parts), _PROSE, pii(), _PROSE),
)
_REDACTORS: dict[tuple[tuple[str, ...], tuple[str, ...], str], Redactor] = {}
_KEYS = st.sampled_from(
    ["event", "route", "path", "user_agent", "note", "detail", "order_id", "author", "password",
     "method", "client_address", "trace_id", "rrn_note"]
)  # fmt: skip
_ADDRESSES = st.sampled_from(
    ["127.0.0.1", "192.168.100.200", "010.1234.5678", "::1", "4111 1111 1111 1111"]
)


@settings(max_examples=1500, deadline=None)
@given(
    st.dictionaries(
        _KEYS,
        st.one_of(_TEXT, st.integers(), st.none(), st.floats(), st.booleans(), _ADDRESSES),
        max_size=6,
    ),
    st.sampled_from([(), ("order_id",), ("pw",)]),
    st.sampled_from([(), ("password",)]),
    st.sampled_from(["off", "redact"]),
)
def test_the_fast_path_never_keeps_what_the_per_field_path_would_redact(
    event: dict[str, Any], keys: tuple[str, ...], allow: tuple[str, ...], ip: str
) -> None:
    """An event the first look calls clean comes out of the per-field path unchanged (with the
    strings remembered clean from earlier examples, and plans made for earlier key tuples: one
    redactor per option set)."""
    redactor = _REDACTORS.setdefault(
        (keys, allow, ip), Redactor(keys=keys, allow_keys=allow, ip=ip)
    )
    if redactor._clean(event):
        assert redactor._fields(event) == event
