"""The application/health+json body: the draft's schema, status codes, what others may see."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import need
from tests.health.health_schema import HEALTH

from msatrace._core.health import report
from msatrace._core.health.checks import Check, Result, Status

jsonschema = need("jsonschema")
VALIDATOR = jsonschema.Draft202012Validator(
    HEALTH, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def _result(name: str, status: Status, output: str | None = None, **kw: object) -> Result:
    check = Check(name=name, probe=lambda: None, **kw)  # type: ignore[arg-type]
    return Result(check, status, 1.5, output, 1796403736.4834)


def test_readiness_body_follows_the_draft() -> None:
    """Keys component:measurement, arrays of checks with type, value, unit, status and time."""
    code, body = report.readiness(
        [_result("redis", "pass", component_type="datastore"), _result("api", "pass")],
        "orders",
        "1.2.3",
        details=True,
    )
    doc = json.loads(body)
    VALIDATOR.validate(doc)
    assert code == 200
    assert doc == {
        "status": "pass",
        "serviceId": "orders",
        "releaseId": "1.2.3",
        "checks": {
            "redis:responseTime": [
                {
                    "componentId": "redis",
                    "componentType": "datastore",
                    "status": "pass",
                    "time": "2026-12-04T17:02:16.483Z",
                    "observedValue": 1.5,
                    "observedUnit": "ms",
                }
            ],
            "api:responseTime": [
                {
                    "componentId": "api",
                    "componentType": "component",
                    "status": "pass",
                    "time": "2026-12-04T17:02:16.483Z",
                    "observedValue": 1.5,
                    "observedUnit": "ms",
                }
            ],
        },
    }


def test_a_failing_critical_check_answers_503_and_a_warning_200() -> None:
    """fail → 503; warn (a non-critical failure) → 200 with status warn."""
    failing = [_result("a", "pass"), _result("b", "fail")]
    code, body = report.readiness(failing, "s", "1", details=True)
    assert (code, json.loads(body)["status"]) == (503, "fail")
    warning = [_result("a", "warn"), _result("b", "pass")]
    code, body = report.readiness(warning, "s", "1", details=True)
    assert (code, json.loads(body)["status"]) == (200, "warn")


def test_error_details_only_for_trusted_callers() -> None:
    """The output (error text) is shown to a trusted caller and hidden from others."""
    failing = [_result("db", "fail", "OperationalError: password authentication failed for x")]
    _, trusted = report.readiness(failing, "s", "1", details=True)
    _, public = report.readiness(failing, "s", "1", details=False)
    assert json.loads(trusted)["checks"]["db:responseTime"][0]["output"].startswith("Operational")
    assert "output" not in json.loads(public)["checks"]["db:responseTime"][0]
    assert b"password" not in public


def test_liveness_asks_nothing_and_passes() -> None:
    """/livez: 200 and status pass, no checks."""
    code, body = report.liveness("orders", "1.2.3")
    doc = json.loads(body)
    VALIDATOR.validate(doc)
    assert (code, doc) == (200, {"status": "pass", "serviceId": "orders", "releaseId": "1.2.3"})


def test_no_checks_means_ready() -> None:
    """A service with no registered check is ready."""
    code, body = report.readiness([], "s", "1", details=False)
    assert (code, json.loads(body)) == (200, {"status": "pass", "serviceId": "s", "releaseId": "1"})


def test_rfc3339_times() -> None:
    """Times are UTC with milliseconds and Z."""
    assert report.rfc3339(0.0) == "1970-01-01T00:00:00.000Z"
    assert report.rfc3339(1.9999) == "1970-01-01T00:00:01.999Z"


names = st.text(st.characters(blacklist_characters=":", blacklist_categories=("Cs",)), min_size=1)
results = st.lists(
    st.builds(
        lambda n, s, o, v, t, u, c: Result(
            Check(name=n, probe=lambda: None, component_type=c, unit=u), s, v, o, t
        ),
        names,
        st.sampled_from(["pass", "warn", "fail"]),
        st.none() | st.text(),
        st.none() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
        st.floats(min_value=0, max_value=4e9),
        st.none() | st.sampled_from(["ms", "%", "connections"]),
        st.sampled_from(["component", "datastore", "system"]),
    ),
    max_size=8,
)


@given(results, st.booleans())
def test_any_results_give_a_valid_body_and_a_matching_status_code(
    rs: list[Result], details: bool
) -> None:
    """Property: the body validates; 503 exactly when a result fails; output only with details."""
    code, body = report.readiness(rs, "svc", "0.0.0", details=details)
    doc = json.loads(body)
    VALIDATOR.validate(doc)
    assert code == (503 if any(r.status == "fail" for r in rs) else 200)
    if not details:
        assert all("output" not in e for arr in doc.get("checks", {}).values() for e in arr)
