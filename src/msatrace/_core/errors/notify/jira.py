"""Jira: one issue per bug, then comments; never a duplicate, never silence.

Jira's search is eventually consistent (a new issue is often not found for a while), so the
fingerprint -> issue-key map this notifier keeps comes first; the search (labels carry the
fingerprint) is only the fallback, for an issue filed by another process or before a restart. A
bug with an issue gets a comment per report (new count, new trace IDs). A bug that returns after
its issue was resolved gets a new issue (``on_done="new"``, the default) or its issue reopened
(``on_done="reopen"``), never silence.

Across processes (``errors_redis_url``), the map is kept in Redis too (:meth:`JiraNotifier.share`),
and a process about to file an issue first claims the bug there (``SET ... NX``): another
process reporting the same bug meanwhile waits and then comments, so search lag never files a
duplicate.

Jira Cloud uses REST v3 (descriptions and comments in the Atlassian Document Format, search at
``/rest/api/3/search/jql``); Jira Data Center (``api="datacenter"``) REST v2 with wiki-markup
text and ``/rest/api/2/search``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import urllib.parse
from typing import Any

from msatrace._core.errors.dispatch import DeliveryError
from msatrace._core.errors.http import post, request
from msatrace._core.errors.noise import Report
from msatrace._core.errors.notify._text import headline, stack, trace_url, truncate
from msatrace._core.errors.resp import Redis
from msatrace._core.safety import warn_once

LABEL = "msatrace"
KEY_TTL_MS = 30 * 24 * 3600 * 1000  # as long as the shared noise control remembers a bug


class JiraNotifier:
    """Files and comments on Jira issues for error reports."""

    name = "jira"

    def __init__(
        self,
        base_url: str,
        *,
        project: str,
        api_token: str,
        email: str | None = None,
        issue_type: str = "Bug",
        api: str = "cloud",
        on_done: str = "new",
        trace_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        if api not in ("cloud", "datacenter"):
            raise ValueError(f"api={api!r}: expected cloud or datacenter")
        if on_done not in ("new", "reopen"):
            raise ValueError(f"on_done={on_done!r}: expected new or reopen")
        if api == "cloud" and not email:
            raise ValueError("Jira Cloud authenticates with an e-mail address and an API token")
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.issue_type = issue_type
        self.api = api
        self.on_done = on_done
        self.trace_url = trace_url
        self.timeout = timeout
        if api == "cloud":
            pair = base64.b64encode(f"{email}:{api_token}".encode()).decode()
            self._auth = f"Basic {pair}"
        else:
            self._auth = f"Bearer {api_token}"
        self._version = "3" if api == "cloud" else "2"
        self._keys: dict[str, str] = {}
        self._shared: tuple[Redis, str] | None = None
        self._lock = threading.Lock()

    # --- what is sent -----------------------------------------------------------------------

    def share(self, redis: Redis, prefix: str = "msatrace:errors") -> None:
        """Keep the fingerprint -> issue map in Redis too (``errors_redis_url``): every worker
        and replica then comments on the issue another one filed, before search can find it."""
        self._shared = (redis, f"{prefix}:jira:{self.project}")

    def send(self, report: Report) -> None:
        fp = report.event.fingerprint
        with self._lock:  # one report at a time per fingerprint map
            key = self._keys.get(fp) or self._shared_key(fp) or self._search(fp)
            if key is not None and report.kind == "returned" and self._done(key):
                if self.on_done == "reopen":
                    self._reopen(key)
                else:
                    key = None
            if key is None:
                self._claim(fp)
                try:
                    key = self._create(report)
                    self._remember(fp, key)
                finally:
                    self._release(fp)
            else:
                self._remember(fp, key)
                self._comment(key, report)

    # --- the map shared through Redis (errors_redis_url) -------------------------------------

    def _shared_key(self, fp: str) -> str | None:
        if self._shared is None:
            return None
        redis, prefix = self._shared
        try:
            found = redis.call("GET", f"{prefix}:{fp}")
        except OSError as exc:
            warn_once("errors.jira.redis", "msatrace: Redis for Jira keys unreachable: %s", exc)
            return None
        return found.decode() if isinstance(found, bytes) else None

    def _claim(self, fp: str) -> None:
        """Before filing: only one process files an issue for a bug at a time. Another one
        filing it now means: try again shortly, and comment on the issue it will have filed."""
        if self._shared is None:
            return
        redis, prefix = self._shared
        try:
            won = redis.call("SET", f"{prefix}:{fp}:filing", str(os.getpid()), "NX", "PX", 30000)
        except OSError:
            return  # Redis gone: file it (a duplicate is better than silence)
        if won != b"OK":
            raise DeliveryError("another process is filing this issue", retry=True, retry_after=2)

    def _release(self, fp: str) -> None:
        if self._shared is not None:
            redis, prefix = self._shared
            with contextlib.suppress(OSError):
                redis.call("DEL", f"{prefix}:{fp}:filing")

    def _remember(self, fp: str, key: str) -> None:
        self._keys[fp] = key
        if self._shared is None:
            return
        redis, prefix = self._shared
        with contextlib.suppress(OSError):
            redis.call("SET", f"{prefix}:{fp}", key, "PX", KEY_TTL_MS)

    def labels(self, fingerprint: str) -> list[str]:
        """The issue's labels: no spaces (Jira refuses them), the fingerprint in one."""
        return [LABEL, f"{LABEL}-{fingerprint}"]

    def fields(self, report: Report) -> dict[str, Any]:
        e = report.event
        summary = " ".join(f"[{e.service}] {e.title}".split())  # one line
        return {
            "project": {"key": self.project},
            "issuetype": {"name": self.issue_type},
            "summary": truncate(summary, 255),
            "description": self._document(report),
            "labels": self.labels(e.fingerprint),
        }

    def _document(self, report: Report) -> Any:
        e = report.event
        facts = (
            f"Service {e.service or '-'} ({e.environment or '-'}, version {e.version or '-'}), "
            f"route {' '.join(p for p in (e.method, e.route) if p) or '-'}, "
            f"status {e.status if e.status is not None else '-'}, count {report.count}, "
            f"fingerprint {e.fingerprint}"
        )
        traces = list(report.trace_ids) or ([e.trace_id] if e.trace_id else [])
        if self.api == "datacenter":
            trace_text = ", ".join(
                f"[{t}|{trace_url(self.trace_url, t)}]" if self.trace_url else t for t in traces
            )
            return truncate(
                f"{headline(report)}\n\nTraces: {trace_text or '-'}\n\n{facts}\n\n"
                f"{{noformat}}\n{stack(report, 20000)}\n{{noformat}}",
                30000,
            )
        trace_nodes: list[dict[str, Any]] = [{"type": "text", "text": "Traces: "}]
        for i, t in enumerate(traces or ["-"]):
            node: dict[str, Any] = {"type": "text", "text": t}
            url = trace_url(self.trace_url, t) if t != "-" else None
            if url:
                node["marks"] = [{"type": "link", "attrs": {"href": url}}]
            if i:
                trace_nodes.append({"type": "text", "text": ", "})
            trace_nodes.append(node)
        return {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": headline(report)}]},
                {"type": "paragraph", "content": trace_nodes},
                {"type": "paragraph", "content": [{"type": "text", "text": facts}]},
                {
                    "type": "codeBlock",
                    "attrs": {"language": "text"},
                    "content": [{"type": "text", "text": stack(report, 20000) or "-"}],
                },
            ],
        }

    # --- Jira's REST API --------------------------------------------------------------------

    def _create(self, report: Report) -> str:
        answer = self._call("POST", "/issue", {"fields": self.fields(report)})
        key = answer.get("key") if isinstance(answer, dict) else None
        if not isinstance(key, str):
            raise DeliveryError(f"Jira created no issue key: {answer!r:.200}", retry=False)
        return key

    def _comment(self, key: str, report: Report) -> None:
        self._call(
            "POST", f"/issue/{urllib.parse.quote(key)}/comment", {"body": self._document(report)}
        )

    def _search(self, fingerprint: str) -> str | None:
        jql = (
            f'project = "{self.project}" AND labels = "{LABEL}-{fingerprint}" ORDER BY created DESC'
        )
        if self.api == "cloud":
            body = {"jql": jql, "fields": ["status"], "maxResults": 1}
            answer = self._call("POST", "/search/jql", body)
        else:
            answer = self._call(
                "POST", "/search", {"jql": jql, "fields": ["status"], "maxResults": 1}
            )
        issues = answer.get("issues") if isinstance(answer, dict) else None
        if issues:
            key = issues[0].get("key")
            return key if isinstance(key, str) else None
        return None

    def _done(self, key: str) -> bool:
        answer = self._call("GET", f"/issue/{urllib.parse.quote(key)}?fields=status", None)
        try:
            return bool(answer["fields"]["status"]["statusCategory"]["key"] == "done")
        except (KeyError, TypeError):
            return False

    def _reopen(self, key: str) -> None:
        path = f"/issue/{urllib.parse.quote(key)}/transitions"
        answer = self._call("GET", path, None)
        for transition in answer.get("transitions", []) if isinstance(answer, dict) else []:
            category = transition.get("to", {}).get("statusCategory", {}).get("key")
            if category and category != "done":
                self._call("POST", path, {"transition": {"id": transition["id"]}})
                return
        raise DeliveryError(f"Jira offers no transition reopening {key}", retry=False)

    def _call(self, method: str, path: str, body: Any) -> Any:
        url = f"{self.base_url}/rest/api/{self._version}{path}"
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if method == "POST":
            headers["Content-Type"] = "application/json"
            _, answer = post(url, json.dumps(body).encode(), headers, timeout=self.timeout)
        else:
            _, answer = request(method, url, headers, timeout=self.timeout)
        return json.loads(answer) if answer.strip() else {}
