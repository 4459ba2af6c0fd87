"""``name : value`` with blanks around the separator (JSON as pretty-printers write it, config
dumps) is an assignment like ``name: value``, on the event's first look and per field."""

from __future__ import annotations

import pytest

from msatrace._core.redact.engine import Redactor

REDACTOR = Redactor()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password : hunter2", "password : [REDACTED:password]"),
        ("password\t: hunter2", "password\t: [REDACTED:password]"),
        ("password :hunter2", "password :[REDACTED:password]"),
        ('"token" : "abc"', '"token" : "[REDACTED:token]"'),
        (
            '{"user" : "kim", "password" : "hunter2", "n" : 3}',
            '{"user" : "kim", "password" : "[REDACTED:password]", "n" : 3}',
        ),
        ("{'api_key' : 'k-123'}", "{'api_key' : '[REDACTED:token]'}"),
        ("password = hunter2", "password = [REDACTED:password]"),
        ("client_secret\t=\ts3cr3t", "client_secret\t=\t[REDACTED:secret]"),
        ('"Authorization" : "Token abc"', '"Authorization" : "[REDACTED:auth]"'),
    ],
)
def test_blanks_around_the_separator_make_no_difference(text: str, expected: str) -> None:
    assert REDACTOR.text(text) == expected
    # the first look must not call it clean: the per-field path redacts the same
    assert REDACTOR.event({"event": "config", "detail": text})["detail"] == expected
    assert REDACTOR.event({"event": text})["event"] == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"order_id" : 42, "status" : "ok"}',
        "status : ok",
        "lunch 12 : 30 - 13 : 30",
        "the password : none given",  # a value that says there is none
        "password :",  # the word with no value
        "route /orders/<int : id>",
    ],
)
def test_a_spaced_assignment_of_a_name_that_is_not_sensitive_is_kept(text: str) -> None:
    assert REDACTOR.text(text) == text
    event = {"event": "config", "detail": text}
    assert REDACTOR.event(event) == event
