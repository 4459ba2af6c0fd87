"""requests entry: ``Response._content_consumed``."""

from __future__ import annotations

from tests.conftest import need
from tests.outbound.conftest import EchoServer
from tests.upstream.conftest import canary

requests = need("requests")

from msatrace._core import upstream  # noqa: E402


def test_canary_content_consumed(echo: EchoServer) -> None:
    """A streamed response reads as unread until its body is read, then as read."""
    with requests.get(echo.url + "/echo", stream=True, timeout=10) as response:
        before = upstream.requests_body_unread(response)
        response.content  # noqa: B018  # reads the body
        after = upstream.requests_body_unread(response)

    message = canary("requests.content-consumed", f"requests {requests.__version__}", "Response")
    assert (before, after) == (True, False), message
    assert not upstream.fallen_back(), message


def test_content_consumed_falls_back_to_read(echo: EchoServer) -> None:
    """Without the attribute the body counts as read (the span ends when send returns)."""
    with requests.get(echo.url + "/echo", stream=True, timeout=10) as response:
        del response._content_consumed

        unread = upstream.requests_body_unread(response)
        response._content_consumed = False  # requests' own close() reads it

    assert unread is False
    assert upstream.fallen_back() == {"requests.content-consumed"}
