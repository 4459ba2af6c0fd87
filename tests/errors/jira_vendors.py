"""Stand-ins for Jira Cloud, PagerDuty Events v2 and Opsgenie, checking what the vendors check.

Jira: REST v3 with the description and comments validated against the Atlassian Document Format
JSON Schema that Atlassian publishes in ``@atlaskit/adf-schema`` (fetched from the npm registry
once into ``.cache/``), labels without spaces (Jira's own 400 text), one-line summaries; the old
``/rest/api/3/search`` answers 410 as Jira Cloud does; ``search_lag`` keeps new issues out of
search results for a while, as Jira's eventually consistent search does. PagerDuty and Opsgenie:
their documented field limits and answers (202 and their JSON bodies).
"""

from __future__ import annotations

import http.server
import json
import tarfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.conftest import need, require

ADF_VERSION = "57.7.22"
ADF_URL = f"https://registry.npmjs.org/@atlaskit/adf-schema/-/adf-schema-{ADF_VERSION}.tgz"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / f"adf-schema-{ADF_VERSION}"


def adf_validator() -> Any:
    """A validator for ADF documents, from Atlassian's published JSON Schema."""
    jsonschema = need("jsonschema")
    schema_file = CACHE / "full.json"
    if not schema_file.exists():
        try:
            CACHE.mkdir(parents=True, exist_ok=True)
            archive = CACHE / "adf-schema.tgz"
            urllib.request.urlretrieve(ADF_URL, archive)
            with tarfile.open(archive) as tar:
                member = tar.extractfile("package/dist/json-schema/v1/full.json")
                assert member is not None
                schema_file.write_bytes(member.read())
        except Exception as exc:
            require("@atlaskit/adf-schema JSON Schema", False, f"{type(exc).__name__}: {exc}")
    schema = json.loads(schema_file.read_text())
    return jsonschema.Draft4Validator(schema)


class Vendor:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any, dict[str, str]]] = []
        self.issues: dict[str, dict[str, Any]] = {}
        self.comments: dict[str, list[Any]] = {}
        self.search_lag = 0.0
        self.url = ""
        self.lock = threading.Lock()

    def created(self) -> list[dict[str, Any]]:
        return list(self.issues.values())


@contextmanager
def vendor_server() -> Iterator[Vendor]:
    """One server answering like Jira Cloud (/rest/api/3), PagerDuty (/v2/enqueue) and Opsgenie
    (/v2/alerts)."""
    state = Vendor()
    adf = adf_validator()

    def jira_error(field: str, message: str) -> tuple[int, Any]:
        return 400, {"errorMessages": [], "errors": {field: message}}

    def jira(method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == "/rest/api/3/search":
            return 410, {"errorMessages": ["The requested API has been removed."]}
        if method == "POST" and path == "/rest/api/3/issue":
            fields = body.get("fields", {})
            if fields.get("project", {}).get("key") != "SHOP":
                return jira_error("project", "Specify a valid project ID or key")
            summary = fields.get("summary", "")
            if not summary or "\n" in summary or len(summary) > 255:
                return jira_error("summary", "Summary must be a single line, at most 255 chars")
            for label in fields.get("labels", []):
                if " " in label:
                    return jira_error(
                        "labels", f"The label '{label}' contains spaces which is invalid."
                    )
            if not isinstance(fields.get("description"), dict):
                return jira_error("description", "Operation value must be an Atlassian Document")
            problems = [e.message for e in adf.iter_errors(fields["description"])]
            if problems:
                return jira_error("description", f"Invalid ADF: {problems[:2]}")
            with state.lock:
                key = f"SHOP-{len(state.issues) + 1}"
                state.issues[key] = {
                    "key": key,
                    "fields": fields,
                    "created": time.monotonic(),
                    "done": False,
                }
            return 201, {
                "id": str(10000 + len(state.issues)),
                "key": key,
                "self": f"{state.url}/rest/api/3/issue/{key}",
            }
        if method == "POST" and path == "/rest/api/3/search/jql":
            label = body["jql"].split('labels = "')[1].split('"')[0]
            now = time.monotonic()
            found = [
                i for i in state.issues.values()
                if label in i["fields"]["labels"] and now - i["created"] >= state.search_lag
            ]  # fmt: skip
            found.sort(key=lambda i: -i["created"])
            issues = [{"key": i["key"], "fields": {"status": _status(i)}} for i in found[:1]]
            return 200, {"issues": issues, "isLast": True}
        if path.startswith("/rest/api/3/issue/"):
            key = path.split("/")[5].split("?")[0]
            if key not in state.issues:
                return 404, {
                    "errorMessages": [
                        "Issue does not exist or you do not have permission to see it."
                    ]
                }
            if path.endswith("/comment") and method == "POST":
                problems = [e.message for e in adf.iter_errors(body.get("body"))]
                if problems:
                    return jira_error("comment", f"Invalid ADF: {problems[:2]}")
                state.comments.setdefault(key, []).append(body["body"])
                return 201, {"id": str(len(state.comments[key]))}
            if path.endswith("/transitions"):
                if method == "GET":
                    return 200, {
                        "transitions": [
                            {"id": "11", "name": "Reopen", "to": {"statusCategory": {"key": "new"}}}
                        ]
                    }
                state.issues[key]["done"] = False
                return 204, None
            if method == "GET":
                return 200, {"key": key, "fields": {"status": _status(state.issues[key])}}
        return 404, {"errorMessages": ["not found"]}

    def pagerduty(body: Any) -> tuple[int, Any]:
        errors = []
        if not isinstance(body.get("routing_key"), str) or len(body["routing_key"]) != 32:
            errors.append("'routing_key' is invalid")
        if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
            errors.append("'event_action' is invalid")
        if len(body.get("dedup_key", "")) > 255:
            errors.append("'dedup_key' is too long")
        payload = body.get("payload", {})
        if not payload.get("summary") or len(payload["summary"]) > 1024:
            errors.append("'payload.summary' is invalid")
        if not payload.get("source"):
            errors.append("'payload.source' is missing")
        if payload.get("severity") not in ("critical", "error", "warning", "info"):
            errors.append("'payload.severity' is invalid")
        if errors:
            return 400, {
                "status": "invalid event",
                "message": "Event object is invalid",
                "errors": errors,
            }
        return 202, {
            "status": "success",
            "message": "Event processed",
            "dedup_key": body.get("dedup_key"),
        }

    def opsgenie(body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        if not headers.get("authorization", "").startswith("GenieKey "):
            return 401, {
                "message": "Could not authenticate",
                "took": 0.0,
                "requestId": str(uuid.uuid4()),
            }
        limits = {"message": 130, "alias": 512, "description": 15000}
        for field, limit in limits.items():
            if field in body and len(body[field]) > limit:
                return 422, {"message": f"{field} is too long", "took": 0.0}
        if not body.get("message") or body.get("priority", "P3") not in (
            "P1",
            "P2",
            "P3",
            "P4",
            "P5",
        ):
            return 422, {"message": "Request body is not processable", "took": 0.0}
        return 202, {
            "result": "Request will be processed",
            "took": 0.01,
            "requestId": str(uuid.uuid4()),
        }

    class Handler(http.server.BaseHTTPRequestHandler):
        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length)) if length else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            with state.lock:
                state.requests.append((method, self.path, body, headers))
            if self.path.startswith("/rest/api/"):
                code, answer = jira(method, self.path, body)
            elif self.path == "/v2/enqueue":
                code, answer = pagerduty(body)
            elif self.path == "/v2/alerts":
                code, answer = opsgenie(body, headers)
            else:
                code, answer = 404, {"message": "not found"}
            data = b"" if answer is None else json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self._handle("POST")

        def do_GET(self) -> None:
            self._handle("GET")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def _status(issue: dict[str, Any]) -> dict[str, Any]:
    key = "done" if issue["done"] else "new"
    return {"name": "Done" if issue["done"] else "To Do", "statusCategory": {"key": key}}
