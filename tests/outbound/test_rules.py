"""The pure rules of outgoing calls: which hosts get headers, what url.full may show."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from msatrace._core.lifecycle.outbound import HostPolicy, url_full
from msatrace._core.spans.tracing import error_type


@pytest.mark.parametrize(
    ("patterns", "host", "allowed"),
    [
        (("*",), "api.stripe.com", True),
        (("*.internal",), "orders.internal", True),
        (("*.internal",), "ORDERS.Internal", True),
        (("*.internal",), "internal.evil.com", False),
        (("*.internal",), "orders.internal.evil.com", False),
        (("re:10\\.0\\.\\d+\\.\\d+",), "10.0.3.7", True),
        (("re:10\\.0\\.\\d+\\.\\d+",), "110.0.3.7", False),
        (("re:^10\\.0\\.\\d+\\.\\d+$",), "10.0.3.7", True),
        (("orders", "re:.*\\.svc\\.cluster\\.local"), "pay.default.svc.cluster.local", True),
        (("orders",), "orders2", False),
        ((), "orders", False),
    ],
)
def test_host_policy(patterns: tuple[str, ...], host: str, allowed: bool) -> None:
    """Globs and re: regexes must match the whole host name, case-insensitively."""
    policy = HostPolicy(patterns)

    assert policy.allows(host) is allowed


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://svc:8080/a?b=1", "http://svc:8080/a?b=1"),
        ("https://u:p@svc/a", "https://REDACTED:REDACTED@svc/a"),
        ("https://token@svc/a", "https://REDACTED:REDACTED@svc/a"),
        (
            "https://s3/o?AWSAccessKeyId=AK&Signature=s&Expires=1",
            "https://s3/o?AWSAccessKeyId=REDACTED&Signature=REDACTED&Expires=1",
        ),
        ("https://blob/c?sv=1&sig=abc%2F", "https://blob/c?sv=1&sig=REDACTED"),
        ("https://g/o?x-goog-signature=keep", "https://g/o?x-goog-signature=keep"),
        ("https://g/o?design=1", "https://g/o?design=1"),
    ],
)
def test_url_full_redaction(url: str, expected: str) -> None:
    """Credentials and signature query values are REDACTED; other parts are left as they were."""
    assert url_full(url) == expected


@given(
    user=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=3, max_size=12),
    password=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=3, max_size=12),
    query=st.lists(st.sampled_from(["a=1", "sig=S3CR3T", "Signature=S3CR3T", "q=x"]), max_size=4),
)
def test_url_full_never_shows_secrets(user: str, password: str, query: list[str]) -> None:
    """Whatever the URL, url.full shows neither its password nor a signature value."""
    url = f"https://{user}:{password}@host.test/p?{'&'.join(query)}"

    shown = url_full(url)

    assert password not in shown
    assert "S3CR3T" not in shown
    assert url_full(shown) == shown


def test_error_type_is_the_qualified_class_name() -> None:
    """error.type is the exception's fully-qualified class name (bare for builtins)."""
    decode_error = json.JSONDecodeError("bad", "{", 0)

    assert (error_type(TimeoutError()), error_type(decode_error)) == (
        "TimeoutError",
        "json.decoder.JSONDecodeError",
    )
