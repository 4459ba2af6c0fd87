"""``uvicorn.run(app)`` from code, after an ``init()`` at import: every line once, all JSON."""

from __future__ import annotations

import sys

import httpx

from tests.integration.servers import start

SCRIPT = "import uvicorn, fastapi_app; uvicorn.run(fastapi_app.app, host='127.0.0.1', port={port})"


def test_uvicorn_run_after_init_writes_each_request_once_as_json() -> None:
    """uvicorn's own logging set-up comes after init(): its access and error lines stay ours."""
    with start([sys.executable, "-c", SCRIPT], name="uvicorn-run") as srv:
        mark = srv.mark()
        httpx.get(srv.url + "/items/1", timeout=10)
        httpx.get(srv.url + "/boom", timeout=10)
        srv.wait_for(
            lambda lines: sum(ln.get("logger") == "msatrace.access" for ln in lines) == 2,
            since=mark,
        )
        srv.stop()
        records = srv.records(since=mark)

    plain_stdout = [r.text for r in records if r.stream == "stdout" and r.data is None]
    assert plain_stdout == []  # uvicorn's plain '"GET /items/1 HTTP/1.1" 200' line before
    assert not any("Exception in ASGI application" in r.text for r in records)
    errors = [r.data for r in records if r.data and r.data.get("logger") == "msatrace.error"]
    assert len(errors) == 1
