"""worker: the Celery worker that runs the tasks in ``tasks.py``.

    REDIS_URL=redis://127.0.0.1:6379/0 celery -A worker worker --pool solo

``msatrace.init()`` is the whole integration: it sees Celery and instruments it, so each task runs
in a CONSUMER span of the trace of the request that queued it, and Celery's own log lines come
out as msatrace JSON with that trace ID.
"""

from __future__ import annotations

import msatrace
from tasks import app  # the Celery app: `celery -A worker` finds it here

msatrace.init(service_name="worker")

__all__ = ["app"]
