"""/livez, /readyz and /healthz answered by msatrace, through each framework's test client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.adapters import django_app
from tests.conftest import need

import msatrace
from msatrace import health, testing
from msatrace._core.health.registry import REGISTRY

need("fastapi")
need("flask")
django_app.configure()

from django.test import AsyncClient, Client, override_settings  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from flask import Flask  # noqa: E402
from tests.starlette_client import TestClient  # noqa: E402

import msatrace.django  # noqa: E402
import msatrace.fastapi  # noqa: E402
import msatrace.flask  # noqa: E402

# (status, content type, body, header) from a GET through one framework's test client
Get = Callable[[str, dict[str, str]], tuple[int, str, bytes]]


def _fastapi() -> Get:
    app = FastAPI()

    @app.get("/readyz")
    def app_readyz() -> dict[str, str]:
        return {"from": "app"}

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    msatrace.fastapi.instrument(app)
    client = TestClient(app)

    def get(path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        r = client.get(path, headers=headers)
        return r.status_code, r.headers.get("content-type", ""), r.content

    return get


def _flask() -> Get:
    app = Flask(__name__)

    @app.get("/readyz")
    def app_readyz() -> dict[str, str]:
        return {"from": "app"}

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    msatrace.flask.instrument(app)
    client = app.test_client()

    def get(path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        with client.get(path, headers=headers) as r:
            return r.status_code, r.headers.get("content-type", ""), r.data

    return get


def _django(client_class: type[Any]) -> Get:
    def get(path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        with override_settings(
            ROOT_URLCONF=django_app.__name__,
            MIDDLEWARE=django_app.MIDDLEWARE,
            ALLOWED_HOSTS=["only.example.com"],  # probes come by IP: they must not be refused
        ):
            client = client_class(raise_request_exception=False)
            response = client.get(path, headers=headers)
            if client_class is AsyncClient:
                import asyncio

                response = asyncio.run(response)
            return response.status_code, response.get("content-type", ""), response.content

    return get


FRAMEWORKS: dict[str, Callable[[], Get]] = {
    "fastapi": _fastapi,
    "flask": _flask,
    "django": lambda: _django(Client),
    "django-async": lambda: _django(AsyncClient),
}


# Starlette 0.36 (the minimum) uses an anyio name that newer anyio releases deprecate.
pytestmark = pytest.mark.filterwarnings("ignore:The anyio.abc.BlockingPortal alias is deprecated")


@pytest.fixture(params=sorted(FRAMEWORKS))
def get(request: pytest.FixtureRequest) -> Iterator[Get]:
    msatrace.init(service_name="orders", service_version="1.4.0", patch="none", log_format="json")
    REGISTRY.ttl = 0.0
    yield FRAMEWORKS[request.param]()
    REGISTRY.clear()
    REGISTRY.ttl = 5.0


def test_livez_answers_200_health_json_and_untraced(get: Get) -> None:
    """/livez: 200, application/health+json, no span and no access line for it."""
    with testing.capture_spans() as spans, testing.capture_logs() as logs:
        status, ctype, body = get("/livez", {})
    assert (status, ctype) == (200, "application/health+json")
    assert json.loads(body) == {"status": "pass", "serviceId": "orders", "releaseId": "1.4.0"}
    assert list(spans.get_finished_spans()) == []
    assert [e for e in logs if e.get("logger") == "msatrace.access"] == []


def test_readyz_runs_the_checks_and_the_app_never_sees_it(get: Get) -> None:
    """/readyz answers from the checks (the app's own /readyz route is not reached)."""
    health.add_check("cache", lambda: None, component_type="datastore")
    status, ctype, body = get("/readyz", {})
    doc = json.loads(body)
    assert (status, ctype, doc["status"]) == (200, "application/health+json", "pass")
    assert doc["checks"]["cache:responseTime"][0]["status"] == "pass"


def test_a_failing_check_gives_503_and_details_only_with_the_token(get: Get) -> None:
    """A failing critical check: 503; its error text only for a bearer of the health token."""

    def database() -> None:
        raise ConnectionError("could not connect to server db-7")

    health.add_check("database", database)
    status, _, body = get("/readyz", {})
    assert status == 503
    entry = json.loads(body)["checks"]["database:responseTime"][0]
    assert entry["status"] == "fail"
    assert "output" not in entry
    # no token configured: nobody sees the details
    _, _, body = get("/readyz", {"Authorization": "Bearer anything"})
    assert "output" not in json.loads(body)["checks"]["database:responseTime"][0]


def test_healthz_is_liveness_by_default(get: Get) -> None:
    """/healthz answers as /livez unless told otherwise: a failing check does not fail it."""

    def database() -> None:
        raise ConnectionError("down")

    health.add_check("database", database)
    status, _, body = get("/healthz", {})
    assert (status, json.loads(body)["status"]) == (200, "pass")


def test_other_paths_reach_the_application(get: Get) -> None:
    """Everything else is the application's."""
    status, _, body = get("/missing", {})
    assert status == 404
    assert b"status" not in body  # the application's 404, not a health document


def test_health_token_shows_the_error_to_its_bearer_only() -> None:
    """With health_token set, the bearer sees the error text; a wrong token does not."""
    msatrace.init(service_name="s", patch="none", log_format="json", health_token="t0ken-1")
    REGISTRY.ttl = 0.0
    try:

        def database() -> None:
            raise ConnectionError("could not connect to server db-7")

        health.add_check("database", database)
        get = _flask()
        _, _, body = get("/readyz", {"Authorization": "Bearer t0ken-1"})
        entry = json.loads(body)["checks"]["database:responseTime"][0]
        assert entry["output"] == "ConnectionError: could not connect to server db-7"
        _, _, body = get("/readyz", {"Authorization": "Bearer wrong"})
        assert "output" not in json.loads(body)["checks"]["database:responseTime"][0]
    finally:
        REGISTRY.clear()
        REGISTRY.ttl = 5.0


def test_settings_move_or_turn_off_the_probes() -> None:
    """Paths are configurable; health=False leaves them to the application."""
    msatrace.init(
        service_name="s", patch="none", log_format="json",
        health_ready_path="/ready", health_path_answers="ready",
    )  # fmt: skip
    get = _fastapi()
    assert get("/ready", {})[0] == 200
    assert json.loads(get("/readyz", {})[2]) == {"from": "app"}  # no longer ours
    msatrace.shutdown()
    msatrace.init(service_name="s", patch="none", log_format="json", health=False)
    get = _flask()
    assert json.loads(get("/readyz", {})[2]) == {"from": "app"}
    assert get("/livez", {})[0] == 404


def test_a_bad_path_setting_is_refused() -> None:
    """A path that does not start with / is a ConfigError naming the setting."""
    with pytest.raises(msatrace.ConfigError, match="health_live_path"):
        msatrace.init(health_live_path="livez")
