"""The scanner's shortcuts find what the plain rules find."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from msatrace._core.redact import rules
from msatrace._core.redact.engine import Redactor
from msatrace._core.redact.scan import _emails

_TEXT = st.lists(
    st.one_of(
        st.text(alphabet="ab.c_%+-@éx1 Z:/", max_size=12),
        st.sampled_from(["@", "kim@example.com", "a@b.co", "x@y.z.io", ".kr", "k" * 70, "k." * 35]),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_emails_found_from_each_at_are_those_the_rule_finds(text: str) -> None:
    found: list[tuple[int, int, str]] = []
    _emails(text, found.append)

    assert found == [(m.start(), m.end(), "email") for m in rules.EMAIL.finditer(text)]


# Text made of what each test of the first look is about, with and without blanks and tabs.
_LOOKED_AT = st.lists(
    st.one_of(
        st.text(alphabet="aA0 -.()\tJ/_é가%+@=:[", max_size=10),
        st.sampled_from(
            [
                "bearer",
                "Bearer ",
                "basic",
                "BASIC\t",
                "bearer\t",
                "basic\t",
                "eyJ",
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIi.x",
                "AKIAABCDEFGHIJKLMNOP",
                "-----BEGIN",
                "aws",
                "secret",
                "SECRET",
                "ws",
                "x" * 40,
                "4111 1111 1111 1111",
                "010-1234-5678",
                "12345678",
                "[REDACTED:email]",
                "dXNlcjpwYXNz",
                "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
                "kim%40example.com",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "password=",
                "/orders/42",
            ]
        ),
    ),
    max_size=8,
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(_LOOKED_AT, st.booleans())
@example("bearer\t/orders/42", False)  # a tab, no blank
@example("aws wJalrXUtnFeMI/K7MdENG/bPxRfiCYeXaMPLeKeY", False)  # no four capitals in a row
def test_text_the_quick_look_calls_clean_is_kept_by_the_rules(text: str, hint: bool) -> None:
    """``Scanner.clean`` answers as the first look does, but where no rule can match either."""
    redactor = Redactor()
    if redactor._scan.clean(text):
        assert redactor._text(text, hint) == text
        assert not redactor._scan.look(text, True) or " " not in text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("token bEaReR abcdefgh12345", "bearer"),
        ("x BaSiC dXNlcjpwYXNzd29yZA==", "basic_auth"),
        ("AwS key: wJalrXUtnFeMI/K7MdENG/bPxRfiCYeXaMPLeKeY", "aws_secret_key"),
        ("the SeCrEt is wJalrXUtnFeMI/K7MdENG/bPxRfiCYeXaMPLeKeY", "aws_secret_key"),
    ],
)
def test_the_case_insensitive_rules_are_looked_for_in_any_case(text: str, kind: str) -> None:
    """The first look asked for these rules only in some spellings (``earer``, ``WS``): a
    credential after ``bEaReR`` or ``AwS`` was kept, in a field and in free text."""
    redactor = Redactor()

    assert f"[REDACTED:{kind}]" in redactor.text(text)
    assert f"[REDACTED:{kind}]" in redactor.event({"note": text})["note"]
