"""Flask test app, served by gunicorn in the integration tests (``flask_app:app``).

Routes: ``/health`` (excluded from tracing), ``/items/<int:item_id>``, ``/work`` (logs, yields
with ``time.sleep``, logs again: the isolation test), ``/work_async`` (the same as an async
view, run by Flask through asgiref), ``/me`` (``msatrace.set_user``), ``/stream`` (logs
between chunks), ``/boom`` (unhandled exception), ``/bug`` (another one, from another function:
a second bug for error tracking) and ``/pid?pause=`` (which process served it: the ``--preload``
test). What each view does is ``shared_views``' (the Django test project's views do the same).
"""

from __future__ import annotations

from typing import Any

import shared_views as shared
from flask import Flask, Response, request

import msatrace

msatrace.init()

app = Flask(__name__)


@app.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/items/<int:item_id>")
def item(item_id: int) -> dict[str, Any]:
    return shared.item(item_id)


@app.get("/debug_work")
def debug_work() -> Any:
    """Debug on error: see ``shared_views.debug_work``."""
    args = request.args
    return shared.debug_work(args["marker"], args.get("fail", "no"), int(args.get("steps", 3)))


@app.get("/work")
def work() -> dict[str, Any]:
    return shared.work(*_work_args())


@app.get("/work_async")
async def work_async() -> dict[str, Any]:
    return await shared.work_async(*_work_args())


def _work_args() -> tuple[str, int, float]:
    args = request.args
    return args["marker"], int(args.get("steps", 3)), float(args.get("pause", 0.005))


@app.get("/me")
def me() -> dict[str, Any]:
    return shared.me()


@app.get("/stream")
def stream() -> Response:
    body = shared.stream_body(
        int(request.args.get("chunks", 3)), float(request.args.get("pause", 0.01))
    )
    return Response(body, mimetype="text/plain")


@app.get("/boom")
def boom() -> dict[str, Any]:
    shared.boom()


@app.get("/bug")
def bug() -> dict[str, Any]:
    return shared.bug()


@app.get("/pid")
def pid() -> dict[str, Any]:
    return shared.pid(float(request.args.get("pause", 0)))


msatrace.flask.instrument(app)
