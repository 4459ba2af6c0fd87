"""The redaction engine's options and guarantees, one behaviour per test."""

from __future__ import annotations

import copy
import logging
import re

import pytest

import msatrace
from msatrace._core import safety
from msatrace._core.config.settings import resolve
from msatrace._core.redact import rules
from msatrace._core.redact.engine import SCHEMA_FIELDS, Redactor
from msatrace.exceptions import ConfigError

SECRET = "s" * 20


@pytest.mark.parametrize("key", ["password", "PASSWORD", "db-password", "dbPassword",
                                 "X-Api-Key", "api_key", "apiKey", "client.secret",
                                 "Authorization", "set-cookie", "session_id", "PHPSESSID",
                                 "private_key", "card_number", "cvv", "jumin", "ssn"])  # fmt: skip
def test_sensitive_keys_are_matched_whatever_their_case_and_separators(key: str) -> None:
    """A sensitive key's value is replaced whole, whatever its case and separators."""
    redactor = Redactor()

    out = redactor.event({key: "v4lue-x"})

    assert out[key].startswith("[REDACTED:")
    assert "v4lue" not in out[key]


@pytest.mark.parametrize("key", ["monkey", "token_count", "max_tokens", "keyboard", "author",
                                 "compass", "passage", "cardinality", "tokenizer"])  # fmt: skip
def test_keys_that_merely_contain_a_word_are_not_sensitive(key: str) -> None:
    """``monkey`` is not ``key``: only whole names or endings count."""
    assert Redactor().event({key: "plain value"}) == {key: "plain value"}


@pytest.mark.parametrize("key", sorted({*rules.KEY_SUFFIXES, *rules.KEY_EXACT}))
def test_every_default_key_is_redacted_in_text(key: str) -> None:
    """``name=value`` in a message is redacted for every default sensitive name."""
    out = Redactor().text(f"login failed {key}=S3cretV4lue for user")

    assert re.fullmatch(rf"login failed {key}=\[REDACTED:[a-z_]+\] for user", out), out


def test_schema_fields_are_never_touched() -> None:
    """trace_id, span_id, request_id, timestamp, level, logger ... pass as they are."""
    event = dict.fromkeys(SCHEMA_FIELDS, "kim@example.com 010-1234-5678")

    assert Redactor().event(event) is event


def test_the_caller_s_objects_are_never_mutated() -> None:
    """Nested dicts, lists and tuples are copied where they change, never edited in place."""
    event = {"event": "mail kim@example.com", "user": {"tags": ["010-1234-5678"], "n": (1, 2)}}
    before = copy.deepcopy(event)

    out = Redactor().event(event)

    assert event == before
    assert out["user"]["tags"] == ["[REDACTED:phone]"]
    assert out["user"]["n"] is event["user"]["n"]


def test_an_event_without_personal_data_is_returned_as_it_is() -> None:
    """Nothing to redact: the very same dict comes back (no copy)."""
    event = {"event": "order created", "order": "ORD-1042", "items": 3, "ms": 12.5}

    assert Redactor().event(event) is event


def test_allow_listed_keys_keep_their_values() -> None:
    """An allow-listed key is neither redacted by name nor by value."""
    redactor = Redactor(allow_keys=["customer-email", "session"])

    out = redactor.event({"customer_email": "kim@example.com", "session": "abc123"})

    assert out == {"customer_email": "kim@example.com", "session": "abc123"}


def test_extra_keys_are_redacted() -> None:
    """``redact_keys`` adds names, matched like the defaults."""
    out = Redactor(keys=["pin"]).event({"user_pin": "1234", "pin": 9876})

    assert out == {"user_pin": "[REDACTED:secret]", "pin": "[REDACTED:secret]"}


def test_keyed_hash_correlates_without_revealing() -> None:
    """The same value gives the same hash under one secret and another under another secret."""
    a = Redactor(hash_secret=b"k" * 20, hash_values=True)
    b = Redactor(hash_secret=b"j" * 20, hash_values=True)

    one, two = a.text("kim@example.com"), a.text("to kim@example.com")

    assert re.fullmatch(r"\[REDACTED:email:[0-9a-f]{12}\]", one)
    assert two == "to " + one
    assert b.text("kim@example.com") != one


def test_keep_last4_keeps_a_card_s_last_four_digits() -> None:
    """With keep_last4 a card becomes ``[REDACTED:card:last4=1111]``."""
    out = Redactor(keep_last4=True).text("card 4111-1111-1111-1111")

    assert out == "card [REDACTED:card:last4=1111]"


def test_ip_addresses_are_kept_unless_asked() -> None:
    """IP addresses stay by default; ``redact`` replaces them, ``hash`` hashes them."""
    line = "client 203.0.113.7 via 2001:db8::1"

    kept = Redactor().text(line)
    gone = Redactor(ip="redact").text(line)
    hashed = Redactor(ip="hash", hash_secret=b"k" * 20).text(line)

    assert kept == line
    assert gone == "client [REDACTED:ip] via [REDACTED:ip]"
    assert re.fullmatch(
        r"client \[REDACTED:ip:[0-9a-f]{12}\] via \[REDACTED:ip:[0-9a-f]{12}\]", hashed
    )


def test_extra_patterns_name_their_kind() -> None:
    """A pattern given as ``{kind: regex}`` replaces its matches with that kind."""
    out = Redactor(patterns={"employee": re.compile(r"EMP-\d{6}")}).text("by EMP-123456 today")

    assert out == "by [REDACTED:employee] today"


def test_a_failing_recogniser_is_reported_once_and_its_text_redacted_whole(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A recogniser that raises never leaks the text and warns once."""

    def broken(text: str) -> list[tuple[int, int]]:
        raise RuntimeError("boom")

    safety.reset()
    redactor = Redactor(recognisers=[broken])

    with caplog.at_level(logging.WARNING, logger="msatrace"):
        outs = [redactor.text("customer Kim Minsu"), redactor.text("other text")]

    assert outs == ["[REDACTED:recogniser_failed]"] * 2
    assert len([r for r in caplog.records if "recogniser" in r.getMessage()]) == 1


def test_a_recogniser_s_spans_are_redacted() -> None:
    """A recogniser returning ``(start, end, kind)`` spans gets them replaced."""
    out = Redactor(recognisers=[lambda t: [(t.find("Kim"), t.find("Kim") + 9, "name")]]).text(
        "customer Kim Minsu paid"
    )

    assert out == "customer [REDACTED:name] paid"


def test_nesting_deeper_than_the_bound_is_replaced_whole() -> None:
    """A structure nested past max_depth is replaced, never walked without end."""
    deep: list[object] = []
    node = deep
    for _ in range(50):
        node.append([])
        node = node[0]  # type: ignore[assignment]  # a list of lists
    node.append("kim@example.com")

    out = Redactor(max_depth=8).value(deep)

    assert "kim@example.com" not in repr(out)
    assert "[REDACTED:depth]" in repr(out)


def test_a_self_referencing_list_does_not_loop() -> None:
    """A cycle ends at the depth bound."""
    cyclic: list[object] = ["kim@example.com"]
    cyclic.append(cyclic)

    out = Redactor().value(cyclic)

    assert out[0] == "[REDACTED:email]"


def test_objects_are_looked_at_as_their_repr() -> None:
    """An object the renderers write with repr() (both formats) is redacted as that text."""

    class User:
        def __repr__(self) -> str:
            return "User(kim@example.com)"

    class Opaque:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert Redactor().value(User()) == "User([REDACTED:email])"
    opaque = Opaque()
    assert Redactor().value(opaque) is opaque  # the renderers write a placeholder for it


def test_percent_encoded_query_values_are_redacted() -> None:
    """An e-mail in a query string (``%40``) is found in the decoded URL."""
    out = Redactor().url("/signup?email=kim%40example.com&plan=basic")

    assert out == "/signup?email=[REDACTED:email]&plan=basic"


def test_off_switch_returns_everything_unchanged() -> None:
    """``enabled=False`` (MSATRACE_REDACT=false) leaves every value as it was."""
    redactor = Redactor(enabled=False)
    event = {"password": "x", "event": "kim@example.com"}

    assert redactor.event(event) is event
    assert redactor.text("kim@example.com") == "kim@example.com"


def test_from_settings_builds_the_redactor_init_asked_for() -> None:
    """The settings' redact_* options shape the Redactor (one call for the runtime)."""
    settings = resolve(
        {"redact_keys": "pin", "redact_keep_last4": True, "redact_ip": "redact"}, env={}
    )

    redactor = Redactor.from_settings(settings)

    assert redactor.event({"pin": "1"}) == {"pin": "[REDACTED:secret]"}
    assert redactor.text("4111 1111 1111 1111 from 1.2.3.4") == (
        "[REDACTED:card:last4=1111] from [REDACTED:ip]"
    )


def test_a_bad_pattern_fails_init_naming_it() -> None:
    """``init(redact_patterns=...)`` with a bad regex raises a ConfigError naming the pattern."""
    with pytest.raises(ConfigError, match=r"redact_patterns: pattern '\(unclosed'"):
        msatrace.init(redact_patterns={"x": "(unclosed"})


def test_a_bad_pattern_in_the_environment_fails_naming_the_variable() -> None:
    """MSATRACE_REDACT_PATTERNS with a bad regex names the variable."""
    with pytest.raises(ConfigError, match="MSATRACE_REDACT_PATTERNS"):
        resolve({}, env={"MSATRACE_REDACT_PATTERNS": '["ok", "[z-a]"]'})


def test_hashing_without_a_secret_fails() -> None:
    """``redact_hash`` without ``redact_hash_secret`` is a ConfigError naming both."""
    with pytest.raises(ConfigError, match="MSATRACE_REDACT_HASH_SECRET"):
        resolve({"redact_hash": True}, env={})


def test_the_hash_secret_is_not_in_the_settings_repr() -> None:
    """The deployment secret never appears when the settings are printed."""
    settings = resolve({"redact_hash": True, "redact_hash_secret": SECRET}, env={})

    assert SECRET not in repr(settings)


def test_the_redactor_looks_deeper_than_the_renderers_write() -> None:
    """Every nesting level a log line shows has been redacted."""
    from msatrace._core.logs import render
    from msatrace._core.redact import engine

    # orjson writes a value whole up to 254 levels; deeper, the renderers cut at render.MAX_DEPTH
    assert engine.MAX_DEPTH > 254 > render.MAX_DEPTH


@pytest.mark.parametrize("route", ["/items/<int:item_id>", "/users/<uuid:id>/files/<path:p>"])
def test_a_route_template_keeps_the_access_line_on_the_fast_path(route: str) -> None:
    """Flask's and Django's ``<int:id>`` look like ``name: value`` but name nothing sensitive:
    the one look at the whole line says clean, with no per-field pass."""
    event = {"event": f"GET {route} 200", "route": route, "path": "/items/7", "status": 200}

    assert Redactor()._clean(event)
    assert Redactor().event(event) is event


@pytest.mark.parametrize(
    ("keys", "text"),
    [((), "retry: 3, password: hunter22"), ((), "GET /x?code=abc"),
     (("pw",), "retry 3 pw=hunter22"), ((), '"Api-Key":  "k3y-value"'),
     ((), "api\u212aey=v4lue-x")],
)  # fmt: skip
def test_a_sensitive_assignment_is_never_on_the_fast_path(keys: tuple[str, ...], text: str) -> None:
    """A sensitive name before ``=`` or ``:`` (any case, separators, a user's short key, a query
    parameter, a Unicode capital that lower-cases to ASCII) sends the event to the field pass."""
    redactor = Redactor(keys=keys)

    assert not redactor._clean({"note": text})
    assert "[REDACTED:" in redactor.event({"note": text})["note"]
