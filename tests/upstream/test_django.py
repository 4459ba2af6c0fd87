"""Django entries: the cached user, ``FileResponse.file_to_stream``, ``log_response``."""

from __future__ import annotations

import asyncio
import inspect
import io
from types import SimpleNamespace

import pytest

from tests.conftest import need
from tests.upstream.conftest import canary

django = need("django")

from tests.adapters import django_app  # noqa: E402

django_app.configure()

from django.contrib.auth import middleware as auth_middleware  # noqa: E402
from django.contrib.sessions.backends.signed_cookies import SessionStore  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.http import FileResponse, HttpRequest  # noqa: E402
from django.utils import log as django_log  # noqa: E402

import msatrace.django  # noqa: E402
from msatrace._core import upstream  # noqa: E402
from tests.adapters.test_django import get, traced  # noqa: E402

__all__ = ["traced"]
VERSION = f"Django {django.__version__}"


def _request() -> HttpRequest:
    request = HttpRequest()
    request.session = SessionStore()  # as SessionMiddleware sets it
    return request


def test_canary_cached_user() -> None:
    """AuthenticationMiddleware's loader keeps the user it loaded where msatrace reads it."""
    request = _request()

    loaded = auth_middleware.get_user(request)

    message = canary("django.cached-user", VERSION, "HttpRequest._cached_user")
    assert upstream.django_cached_user(request) is loaded, message


@pytest.mark.skipif(
    not hasattr(auth_middleware, "auser"), reason="Django before 5.0 has no async user loader"
)
def test_canary_async_cached_user() -> None:
    """The async loader keeps it too (``_acached_user``)."""
    request = _request()

    loaded = asyncio.run(auth_middleware.auser(request))

    message = canary("django.cached-user", VERSION, "HttpRequest._acached_user")
    assert upstream.django_cached_user(request) is loaded, message


def test_cached_user_falls_back_to_none() -> None:
    """A request where Django keeps the user elsewhere gives no user (none is recorded)."""
    request = _request()
    request.user = object()  # what Django sets: a lazy object

    assert upstream.django_cached_user(request) is None


def test_canary_file_to_stream() -> None:
    """A FileResponse keeps its file in ``file_to_stream``, which Django's WSGI handler reads."""
    body = io.BytesIO(b"file")

    found = upstream.django_file_to_stream(FileResponse(body))

    message = canary("django.file-to-stream", VERSION, "FileResponse.file_to_stream")
    assert found is body, message
    assert "file_to_stream" in inspect.getsource(WSGIHandler.__call__), message


def test_file_to_stream_falls_back_as_django_does() -> None:
    """Without the attribute the answer is ``None``, which Django's handler reads the same way."""
    assert upstream.django_file_to_stream(SimpleNamespace()) is None


def test_canary_log_response() -> None:
    """``django.utils.log.log_response`` still takes ``response`` and ``request``."""
    found = upstream.django_log_response(django_log)

    message = canary("django.log-response", VERSION, "django.utils.log.log_response")
    assert found is django_log.log_response, message


def test_log_response_falls_back_to_none() -> None:
    """Without it the probe answers ``None`` and reports the entry."""
    assert upstream.django_log_response(SimpleNamespace()) is None
    assert upstream.fallen_back() == {"django.log-response"}


def test_not_found_still_logged_without_log_response(
    traced: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without ``log_response`` msatrace writes nothing and Django's own line stays, once."""
    monkeypatch.setattr(msatrace.django, "_log_response", None)

    result = get("/no/such/path")

    lines = [e for e in result.by_logger("django.request") if e["event"].startswith("Not Found")]
    assert result.response.status_code == 404
    assert len(lines) == 1
