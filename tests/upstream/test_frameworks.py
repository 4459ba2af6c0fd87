"""FastAPI, Flask-Login, Starlette and structlog entries."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from msatrace._core import upstream
from tests.conftest import need
from tests.upstream.conftest import canary


def test_canary_fastapi_telemetry(env: pytest.MonkeyPatch) -> None:
    """FastAPI's tracing switch can be turned off after construction, and back on."""
    fastapi = need("fastapi")
    app = fastapi.FastAPI()
    if not hasattr(app, "_telemetry"):
        assert upstream.fastapi_tracing_off(app) is None  # a FastAPI without built-in telemetry
        return

    undo = upstream.fastapi_tracing_off(app)
    off = (app._telemetry["tracing"], app._native_telemetry.config["tracing"])
    assert undo is not None, canary("fastapi.telemetry", fastapi.__version__, "_telemetry")
    undo()

    message = canary("fastapi.telemetry", f"FastAPI {fastapi.__version__}", "_telemetry")
    assert off == (False, False), message
    assert app._telemetry["tracing"] is True, message


def test_fastapi_telemetry_falls_back_when_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings of another shape are left alone, and the entry is reported."""
    fastapi = need("fastapi")
    app = fastapi.FastAPI()
    monkeypatch.setattr(app, "_telemetry", ("tracing", True), raising=False)

    assert upstream.fastapi_tracing_off(app) is None
    assert upstream.fallen_back() == {"fastapi.telemetry"}


def test_fastapi_tracing_off_only_while_msatrace_runs(env: pytest.MonkeyPatch) -> None:
    """FastAPI's own tracing is off from init() to shutdown(), a re-init included, then back."""
    fastapi = need("fastapi")
    import msatrace
    import msatrace.fastapi

    app = msatrace.fastapi.instrument(fastapi.FastAPI())
    if not hasattr(app, "_telemetry"):
        pytest.skip("this FastAPI has no built-in telemetry")  # the minimum-versions session
    seen = [app._telemetry["tracing"]]

    msatrace.init(service_name="t", traces_exporter="none")
    seen.append(app._telemetry["tracing"])
    msatrace.init(service_name="t", traces_exporter="none", log_format="json")  # reconfigured
    seen.append(app._native_telemetry.config["tracing"])
    msatrace.shutdown()
    seen.append(app._telemetry["tracing"])

    assert seen == [True, False, False, True]


def test_canary_flask_login_user() -> None:
    """Flask-Login keeps the user it loaded in ``g._login_user``."""
    flask = need("flask")
    flask_login = need("flask_login")

    class User(flask_login.UserMixin):  # type: ignore[misc,name-defined]  # need() gives Any
        id = "u-1"

    app = flask.Flask(__name__)
    app.secret_key = "test"
    flask_login.LoginManager(app)
    user = User()
    with app.test_request_context("/"):
        flask_login.login_user(user)
        found = upstream.flask_login_user(flask.g)

    version = flask_login.__version__ if hasattr(flask_login, "__version__") else "?"
    assert found is user, canary("flask-login.user", f"Flask-Login {version}", "g._login_user")


def test_flask_login_user_falls_back_to_none() -> None:
    """An application context where Flask-Login left nothing gives no user."""
    flask = need("flask")
    app = flask.Flask(__name__)

    with app.app_context():
        assert upstream.flask_login_user(flask.g) is None


def test_canary_structlog_proxy_to_logger() -> None:
    """structlog's documented override point keeps its signature; ``get_context`` reads it."""
    structlog = need("structlog")
    params = list(inspect.signature(structlog.BoundLoggerBase._proxy_to_logger).parameters)
    bound = structlog.wrap_logger(structlog.PrintLogger(), processors=[]).bind(a=1)

    message = canary("structlog.proxy-to-logger", f"structlog {structlog.__version__}", "it")
    assert params == ["self", "method_name", "event", "event_kw"], message
    assert dict(structlog.get_context(bound)) == {"a": 1}, message


def test_canary_starlette_names() -> None:
    """Starlette's stack builder and route template attributes msatrace reads are there."""
    need("starlette")
    from starlette.applications import Starlette
    from starlette.routing import Route

    app = Starlette()
    route = Route("/items/{item_id:int}", lambda request: None)

    message = canary("starlette.names", "Starlette", "build_middleware_stack or Route")
    assert callable(app.build_middleware_stack), message
    assert app.middleware_stack is None, message
    assert route.path_format == "/items/{item_id}", message
    assert isinstance(route.path_regex, re.Pattern), message


def test_canary_celery_request_headers() -> None:
    """A Celery task request keeps protocol-2 message headers as attributes (``vars()``)."""
    need("celery")
    from celery.app.task import Context

    request: Any = Context({"traceparent": "00-x", "id": "1"})

    message = canary("celery.request-vars", "Celery", "task.request")
    assert vars(request).get("traceparent") == "00-x", message
