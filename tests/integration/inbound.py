"""Shared pieces of the inbound real-server suite (``test_inbound_*.py``).

``KINDS`` lists the four servers of issue 3 (FastAPI/uvicorn, Flask/gunicorn, Django/gunicorn,
Django/uvicorn) with how to start each and its route-template syntax; the ``kind`` and ``srv``
fixtures in ``conftest.py`` parametrise tests over them. The helpers read a server's output the
way an on-call engineer would: by trace ID.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from msatrace.testing import OTLPReceiver, ReceivedSpan
from tests.integration.servers import Server, ServerPool

ACCESS = "msatrace.access"
SERVER_ACCESS = frozenset(("uvicorn.access", "gunicorn.access"))
GUNICORN_THREADS = 16


@dataclass(frozen=True)
class Kind:
    """One of the four servers: how to start it and what its route templates look like."""

    id: str
    modules: tuple[str, ...]  # what must be importable to run it
    item_route: str  # http.route of /items/42, in the framework's syntax
    work_paths: tuple[str, str]  # a sync and an async handler that log, yield, log, ...
    start: Callable[[ServerPool, str, dict[str, str]], Server]


def _fastapi(pool: ServerPool, name: str, env: dict[str, str]) -> Server:
    return pool.uvicorn("fastapi_app:app", name=name, env=env)


def _flask(pool: ServerPool, name: str, env: dict[str, str]) -> Server:
    return pool.gunicorn("flask_app:app", name=name, env=env, threads=GUNICORN_THREADS)


def _django_wsgi(pool: ServerPool, name: str, env: dict[str, str]) -> Server:
    return pool.django_gunicorn(name=name, env=env, threads=GUNICORN_THREADS)


def _django_asgi(pool: ServerPool, name: str, env: dict[str, str]) -> Server:
    return pool.django_uvicorn(name=name, env=env)


DJANGO_ROUTE = "/items/<int:item_id>"  # Django's route syntax, anchored at "/" like the path
DJANGO_WORK = ("/work", "/work_async")
KINDS = (
    Kind(
        "fastapi-uvicorn",
        ("fastapi", "uvicorn"),
        "/items/{item_id}",
        ("/work_sync", "/work"),
        _fastapi,
    ),
    Kind(
        "flask-gunicorn",
        ("flask", "gunicorn", "asgiref"),
        "/items/<int:item_id>",
        ("/work", "/work_async"),
        _flask,
    ),
    Kind("django-gunicorn", ("django", "gunicorn"), DJANGO_ROUTE, DJANGO_WORK, _django_wsgi),
    Kind("django-uvicorn", ("django", "uvicorn"), DJANGO_ROUTE, DJANGO_WORK, _django_asgi),
)


def new_trace_id() -> str:
    """A fresh random trace ID, 32 lowercase hex."""
    return uuid.uuid4().hex


def access_lines(lines: list[dict[str, Any]], trace_id: str) -> list[dict[str, Any]]:
    """msatrace's access lines of one trace."""
    return [ln for ln in lines if ln.get("logger") == ACCESS and ln.get("trace_id") == trace_id]


def settle(srv: Server, client: httpx.Client | None = None) -> None:
    """Wait until everything the previous requests on ``client`` logged has been read.

    A sentinel request on the same keep-alive connection is only read by the server after the
    previous one was completely handled (access logs included); once the sentinel's access line
    arrives, theirs have too.
    """
    sentinel = new_trace_id()
    mark = srv.mark()
    headers = {"X-Trace-ID": sentinel}
    try:
        if client is None:
            raise httpx.TransportError("no connection to reuse")
        client.get("/items/0", headers=headers)
    except httpx.TransportError:
        # The server closed the connection after the previous response (uvicorn does after an
        # unhandled exception, once it has logged it): a new connection is just as late.
        httpx.get(srv.url + "/items/0", headers=headers, timeout=30)
    srv.wait_for(lambda ls: bool(access_lines(ls, sentinel)), since=mark)


def server_spans(receiver: OTLPReceiver, trace_id: str, service: str) -> list[ReceivedSpan]:
    """Wait for, and return, the SERVER spans of ``trace_id`` exported by ``service``."""

    def found(spans: list[ReceivedSpan]) -> bool:
        return any(
            s.trace_id == trace_id and s.kind == "SERVER" and s.service == service for s in spans
        )

    spans = receiver.wait_for(found, timeout=30)
    return [s for s in spans if s.trace_id == trace_id and s.kind == "SERVER"]


def raw_request(port: int, request: bytes) -> tuple[int, dict[str, list[bytes]], bytes]:
    """Send raw bytes (what httpx refuses to send) and read the response to the end.

    The request should say ``Connection: close``. Returns the status (0 if the server closed
    without answering), the headers (lowercase names, raw values) and the whole raw response.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    lines = data.partition(b"\r\n\r\n")[0].split(b"\r\n")
    if not lines[0].startswith(b"HTTP/"):
        return 0, {}, data
    headers: dict[str, list[bytes]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers.setdefault(name.strip().decode("latin-1").lower(), []).append(value.strip())
    return int(lines[0].split(b" ")[1]), headers, data
