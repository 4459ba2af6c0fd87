"""msatrace.flask.instrument in process: route templates, errors logged once, Flask-Login users."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import flask
import pytest
from flask_login import LoginManager, UserMixin, current_user, login_user
from opentelemetry.trace import StatusCode

import msatrace
import msatrace.flask
from msatrace import testing
from tests.adapters.wsgi_kit import Result, call, environ, init, is_trace_id


class User(UserMixin):
    """A Flask-Login user."""

    def __init__(self, user_id: str) -> None:
        self.id = user_id


def make_app(*, propagate: bool = False) -> flask.Flask:
    app = flask.Flask("shop")
    app.config["PROPAGATE_EXCEPTIONS"] = propagate
    app.secret_key = "test"
    loads: list[str] = []
    app.config["USER_LOADS"] = loads
    manager = LoginManager(app)

    @manager.user_loader
    def load(user_id: str) -> User:
        loads.append(user_id)
        return User(user_id)

    @app.get("/orders/<int:order_id>")
    def order(order_id: int) -> dict[str, object]:
        msatrace.get_logger("handler").info("order", order_id=order_id)
        return {"trace_id": msatrace.current_trace_id()}

    @app.get("/boom")
    def boom() -> str:
        raise ValueError("boom")

    @app.get("/login/<user_id>")
    def login(user_id: str) -> str:
        login_user(User(user_id))
        return "ok"

    @app.get("/me")
    def me() -> str:
        return str(current_user.get_id())

    @app.get("/anonymous-ok")
    def anonymous_ok() -> str:
        return "no user looked at"

    @app.get("/stream")
    def stream() -> flask.Response:
        @flask.stream_with_context
        def chunks() -> Iterator[str]:
            for i in range(2):
                msatrace.get_logger("handler").info("chunk", i=i, path=flask.request.path)
                yield f"{msatrace.current_trace_id()}\n"

        return flask.Response(chunks())

    return msatrace.flask.instrument(app)


@pytest.fixture
def app(env: pytest.MonkeyPatch) -> flask.Flask:
    init()
    return make_app()


def get(app: flask.Flask, path: str, **headers: str) -> Result:
    return call(app.wsgi_app, env=environ(path, headers))  # type: ignore[arg-type]  # Flask's wsgi_app is a WSGI app


def test_span_named_by_route_rule(app: flask.Flask) -> None:
    """The span is named after the rule as Flask writes it, and http.route carries it."""

    result = get(app, "/orders/7")

    span = result.server_span()
    assert span.name == "GET /orders/<int:order_id>"
    assert (span.attributes or {})["http.route"] == "/orders/<int:order_id>"
    assert result.by_logger("msatrace.access")[0]["route"] == "/orders/<int:order_id>"


def test_view_logs_and_response_share_the_trace(app: flask.Flask) -> None:
    """The view's log line, its response body and X-Trace-ID carry the same trace ID."""

    result = get(app, "/orders/7")

    trace_id = result.header("X-Trace-ID")
    assert is_trace_id(trace_id)
    assert result.by_logger("handler")[0]["trace_id"] == trace_id
    assert flask.json.loads(result.body)["trace_id"] == trace_id


def test_traceparent_continued_through_flask(app: flask.Flask) -> None:
    """A traceparent sent to a Flask app is continued."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    result = get(app, "/orders/1", traceparent=f"00-{trace_id}-00f067aa0ba902b7-01")

    assert result.header("X-Trace-ID") == trace_id


def test_unknown_path_has_no_route(app: flask.Flask) -> None:
    """A 404 is named by method only, never by its raw path."""

    result = get(app, "/nope/123")

    span = result.server_span()
    assert span.name == "GET"
    assert "http.route" not in (span.attributes or {})
    assert (span.attributes or {})["http.response.status_code"] == 404


def test_exception_gives_500_with_trace_id(app: flask.Flask) -> None:
    """Flask's 500 for an unhandled exception carries X-Trace-ID."""

    result = get(app, "/boom")

    assert result.status.startswith("500")
    assert is_trace_id(result.header("X-Trace-ID"))


def test_exception_logged_once_by_flask_with_trace(app: flask.Flask) -> None:
    """The exception is logged once, by Flask's own logger line, with the trace ID."""

    result = get(app, "/boom")

    errors = [e for e in result.logs if "exception" in e]
    assert len(errors) == 1
    assert errors[0]["logger"] == "shop"
    assert errors[0]["event"] == "Exception on /boom [GET]"
    assert errors[0]["exception"]["type"] == "ValueError"
    assert errors[0]["trace_id"] == result.header("X-Trace-ID")


def test_exception_recorded_on_span(app: flask.Flask) -> None:
    """The exception Flask swallowed is on the span, which has ERROR status."""

    result = get(app, "/boom")

    span = result.server_span()
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["error.type"] == "ValueError"
    assert [e.name for e in span.events] == ["exception"]


def test_propagated_exception_logged_once_by_msatrace(env: pytest.MonkeyPatch) -> None:
    """When Flask re-raises (PROPAGATE_EXCEPTIONS), msatrace logs it once and re-raises it."""
    init()
    app = make_app(propagate=True)

    with testing.capture_logs() as events, pytest.raises(ValueError, match="boom"):
        app.wsgi_app(environ("/boom"), lambda *a: None)

    errors = [e for e in events if "exception" in e]
    assert [e["logger"] for e in errors] == ["msatrace.error"]


def test_flask_login_user_recorded(app: flask.Flask) -> None:
    """A Flask-Login user the view loaded becomes user_id in the access line and user.id."""
    client = app.test_client()
    client.get("/login/u-42", buffered=True).close()
    cookie = client.get_cookie("session")
    assert cookie is not None

    result = get(app, "/me", Cookie=f"session={cookie.value}")

    assert result.body == b"u-42"
    assert result.by_logger("msatrace.access")[0]["user_id"] == "u-42"
    assert (result.server_span().attributes or {})["user.id"] == "u-42"


def test_flask_login_user_never_loaded_by_msatrace(app: flask.Flask) -> None:
    """A view that never looks at current_user triggers no user load and records no user."""
    client = app.test_client()
    client.get("/login/u-7", buffered=True).close()
    cookie = client.get_cookie("session")
    assert cookie is not None
    loads = app.config["USER_LOADS"]

    result = get(app, "/anonymous-ok", Cookie=f"session={cookie.value}")

    assert loads == []
    assert "user_id" not in result.by_logger("msatrace.access")[0]


def test_stream_with_context_is_covered(app: flask.Flask) -> None:
    """A streamed response's chunks log with the trace; the span ends after the last one."""

    result = get(app, "/stream")

    trace_id = result.header("X-Trace-ID")
    assert [e["trace_id"] for e in result.by_logger("handler")] == [trace_id, trace_id]
    assert result.body.decode().split() == [trace_id, trace_id]
    assert [e["logger"] for e in result.logs][-1] == "msatrace.access"
    assert result.server_span().name == "GET /stream"


def test_instrument_twice_traces_once(app: flask.Flask) -> None:
    """instrument() is idempotent: one span and one header per request."""
    msatrace.flask.instrument(app)

    result = get(app, "/orders/1")

    assert len(result.spans) == 1
    assert len([k for k, _ in result.headers if k.lower() == "x-trace-id"]) == 1


def test_flask_test_client_works(app: flask.Flask) -> None:
    """The Flask test client sees the trace headers and the view's logs carry the trace."""
    client = app.test_client()

    with testing.capture_logs() as events:
        response = client.get("/orders/3", buffered=True)
        response.close()

    trace_id = response.headers["X-Trace-ID"]
    assert response.get_json()["trace_id"] == trace_id
    assert [e["trace_id"] for e in events if e["logger"] == "handler"] == [trace_id]


def test_flask_login_lookup_only_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """instrument() adds the Flask-Login user lookup only if Flask-Login is installed."""
    msatrace_flask = msatrace.flask
    assert msatrace_flask._installed("flask_login")
    assert not msatrace_flask._installed("msatrace_no_such_module")
    # A module registered without a spec (find_spec raises ValueError): installed, as imported.
    monkeypatch.setitem(sys.modules, "msatrace_specless", types.ModuleType("msatrace_specless"))
    assert msatrace_flask._installed("msatrace_specless")

    monkeypatch.setattr(msatrace_flask, "_installed", lambda module: False)
    app = flask.Flask("no_login")
    msatrace_flask.instrument(app)
    assert app.wsgi_app.user is None  # type: ignore[attr-defined]
