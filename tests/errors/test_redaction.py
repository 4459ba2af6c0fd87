"""Error reports go through the log lines' redaction before any notifier sends them."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.errors.jira_vendors import vendor_server
from tests.errors.vendors import stand_in

import msatrace
from msatrace._core.errors.event import build
from msatrace._core.errors.redaction import redact_event
from msatrace._core.redact.engine import Redactor

EMAIL = "kim.minsu@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "010-1234-5678"
USER = "lee.jiwoo@example.org"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF"


def _refund(amount: int) -> None:
    # The literal sits in the raise line on purpose: notifiers show that source line.
    raise ValueError(f"refund {amount} to kim.minsu@example.com, card {CARD}, call {PHONE}")


def _wait(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.05)


@pytest.mark.parametrize("redact", [True, False])
def test_pii_in_an_exception_reaches_no_notifier_unless_redaction_is_off(redact: bool) -> None:
    """An e-mail, a card and a Korean phone in a message and its raise line: redacted in what
    Slack, Jira and PagerDuty receive; with ``redact=False`` they are there."""
    with stand_in("slack") as slack, vendor_server() as vendor:
        host = vendor.url.removeprefix("http://")
        msatrace.init(
            service_name="shop",
            patch="none",
            redact=redact,
            notify=[
                f"slack:{slack.url}",
                f"jira:http://bot%40example.com:tok@{host}?project=SHOP",
                f"pagerduty:{ROUTING_KEY}?url={vendor.url}/v2/enqueue",
            ],
        )
        with msatrace.bound(user_id=USER):
            try:
                _refund(42)
            except ValueError:
                msatrace.capture_exception()
        _wait(lambda: slack.received and len(vendor.requests) >= 2)
        msatrace.shutdown()

    sent = {
        "slack": json.dumps(slack.received, ensure_ascii=False),
        "jira": json.dumps(vendor.created(), ensure_ascii=False),
        "pagerduty": json.dumps(
            [r[2] for r in vendor.requests if r[1] == "/v2/enqueue"], ensure_ascii=False
        ),
    }
    assert all("refund 42" in body for body in sent.values())  # each got the report
    for vendor_name, body in sent.items():
        for value in (EMAIL, CARD, PHONE):
            assert (value in body) is not redact, (vendor_name, value)
        if redact:
            assert "[REDACTED:email]" in body, vendor_name
            assert "[REDACTED:card]" in body, vendor_name


def test_redacted_event_keeps_ids_and_code_location_and_changes_nothing_clean() -> None:
    """Free text is redacted; fingerprint, trace ID, module, function and line stay; a clean
    event comes back as the same object."""
    redactor = Redactor()
    try:
        _refund(7)
    except ValueError as exc:
        event = build(exc, context={"trace_id": "a" * 32, "user_id": USER, "route": "/refunds"})
    try:
        raise KeyError("sku-1")
    except KeyError as exc:
        clean = build(exc, context={"trace_id": "b" * 32, "route": "/orders/{id}"})

    redacted = redact_event(redactor, event)

    assert redacted.fingerprint == event.fingerprint
    assert redacted.trace_id == event.trace_id
    assert redacted.user_id == "[REDACTED:email]"
    [info] = redacted.exceptions
    assert EMAIL not in info.message
    assert PHONE not in info.message
    assert [(f.module, f.function, f.lineno) for f in info.frames] == [
        (f.module, f.function, f.lineno) for f in event.exceptions[0].frames
    ]
    assert not any(CARD in line for f in info.frames for line in f.context)
    assert redact_event(redactor, clean) is clean


_EMAILS = st.from_regex(
    r"[a-z][a-z0-9]{0,6}([._][a-z0-9]{1,6})?@(example|mail)\.(com|co\.kr)", fullmatch=True
)
_PHONES = st.builds(
    lambda mid, end: f"010-{mid:04d}-{end:04d}",
    st.integers(min_value=1000, max_value=9999),
    st.integers(min_value=0, max_value=9999),
)
_WORDS = st.text(alphabet="abcdefghij XYZ,:", max_size=30)


@settings(max_examples=300)
@given(_WORDS, st.one_of(_EMAILS, _PHONES), _WORDS)
def test_no_e_mail_or_phone_in_a_message_survives_and_the_ids_never_change(
    before: str, secret: str, after: str
) -> None:
    """Any message holding an e-mail or a Korean mobile: gone from the redacted event, whose
    fingerprint, trace ID and frames stay those of the original; redacting twice changes
    nothing more."""
    redactor = Redactor()
    try:
        raise ValueError(f"{before} {secret} {after}")
    except ValueError as exc:
        event = build(exc, context={"trace_id": "c" * 32, "request_id": "r-1"})

    once = redact_event(redactor, event)

    assert secret not in once.exceptions[0].message
    assert (once.fingerprint, once.trace_id, once.request_id) == (
        event.fingerprint, event.trace_id, event.request_id,
    )  # fmt: skip
    assert once.exceptions[0].frames == event.exceptions[0].frames
    assert redact_event(redactor, once) is once
