"""Flask: one trace per request, named by route, with the Flask-Login user.

    app = Flask(__name__)
    msatrace.init()
    msatrace.flask.instrument(app)

``instrument(app)`` wraps ``app.wsgi_app`` in :class:`msatrace.wsgi.TraceMiddleware` (so
everything the WSGI middleware does applies) and adds what only Flask knows:

- the route template: the matched rule as Flask writes it (``/orders/<int:order_id>``) names the
  span (``GET /orders/<int:order_id>``) and fills ``http.route`` and the access line's ``route``;
- the user: with Flask-Login, an authenticated user already loaded by the request (``current_user``
  used by the view or by ``login_required``) becomes ``user_id`` / ``user.id``. msatrace reads
  Flask-Login's per-request cache and never triggers the user loader itself, so it adds no query;
- errors: an exception Flask turns into a 500 is recorded on the span (``got_request_exception``)
  and logged once: by Flask's own ``app.logger`` line ("Exception on /path [GET]"), which runs
  inside the request and so carries the trace ID and the exception as structured fields. When
  Flask propagates the exception instead (``PROPAGATE_EXCEPTIONS``, testing, debug), msatrace's
  "unhandled exception" line is the one. The 500 response carries ``X-Trace-ID`` either way.

As with any WSGI server, the span and the access line are written when the response is closed:
with Flask's test client that is ``response.close()`` or ``client.get(..., buffered=True)``.

Needs the ``flask`` extra (``pip install 'msatrace[flask]'``).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

try:
    import flask
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError("msatrace.flask needs Flask: install 'msatrace[flask]'") from None

from msatrace._core import upstream
from msatrace._core.lifecycle.inbound import RequestScope
from msatrace._core.logs import configure
from msatrace.wsgi import SCOPE_KEY, TraceMiddleware

__all__ = ["instrument"]

_EXTENSION = "msatrace"


def instrument(app: flask.Flask) -> flask.Flask:
    """Trace every request ``app`` serves; calling it again does nothing.

    Adds :class:`msatrace.wsgi.TraceMiddleware` around ``app.wsgi_app``, names spans by route
    rule, records the Flask-Login user and records exceptions Flask handles itself. Routes Flask's
    and werkzeug's loggers through msatrace's structured output (call ``msatrace.init()`` first).

    Returns:
        The same application, for chaining.
    """
    if _EXTENSION in app.extensions:
        return app
    app.extensions[_EXTENSION] = True
    # Without Flask-Login installed there is no user to look for on any request.
    user = _login_user_id if _installed("flask_login") else None
    app.wsgi_app = TraceMiddleware(app.wsgi_app, route=_route, user=user)  # type: ignore[method-assign]  # Flask's documented way to add WSGI middleware
    flask.got_request_exception.connect(_on_exception, app, weak=False)
    _adopt_logger(app)
    return app


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, a module without a spec
        return module in sys.modules


# The lookups run when Flask starts the response (start_response, inside wsgi_app): the request
# and app contexts are still there, and Flask needs no hook of ours on each request.
def _route(environ: dict[str, Any]) -> str | None:
    """The matched rule as Flask writes it (``/orders/<int:order_id>``); ``None`` on a 404."""
    request = environ.get("werkzeug.request")  # the flask.Request werkzeug puts in the environ
    rule = getattr(request, "url_rule", None)
    return rule.rule if rule is not None else None


def _login_user_id(environ: dict[str, Any]) -> str | None:
    """Flask-Login's user if the request already loaded it (``g._login_user``), else ``None``.

    Never ``current_user``: that would run the user loader (a query) for a view that did not.
    """
    if "flask_login" not in sys.modules or not flask.has_app_context():
        return None  # no Flask-Login, or a middleware inside ours answered after Flask returned
    user = upstream.flask_login_user(flask.g)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    user_id = user.get_id()
    return None if user_id is None else str(user_id)


# got_request_exception: Flask sends it for an exception it is about to turn into a 500, before
# it logs it (or re-raises it under PROPAGATE_EXCEPTIONS); the middleware never sees it otherwise.
def _on_exception(_: flask.Flask, exception: BaseException, **__: Any) -> None:
    req = flask.request.environ.get(SCOPE_KEY)
    if isinstance(req, RequestScope):
        req.facts.route = _route(flask.request.environ) or req.facts.route  # for the report
        req.fail(exception, log=False)  # Flask's own app.logger line is the one exception line


def _adopt_logger(app: flask.Flask) -> None:
    """Let ``app.logger`` records reach msatrace's bridge instead of Flask's stderr handler.

    Flask adds its ``default_handler`` (a stream handler on ``sys.stderr`` outside a request) when
    the logger is first used before ``msatrace.init()``; adopting removes it like any console
    handler, so each line is written once, as JSON.
    """
    configure.adopt_framework_loggers((app.logger.name, "werkzeug"))
