"""A Celery app for the integration tests: ``celery -A celery_app worker`` runs its tasks.

The broker is Redis at ``CELERY_APP_BROKER`` (the tests start their own ``redis-server``).
``msatrace.init()`` runs first, as a user would do it; Celery is patched when it is imported.
``celery_app.web:app`` is the web service that queues these tasks.
"""

from __future__ import annotations

import os

import msatrace

msatrace.init()

from celery import Celery  # noqa: E402

app = Celery("celery_app", broker=os.environ["CELERY_APP_BROKER"])
app.conf.update(
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
)
log = msatrace.get_logger("celery_app")


@app.task(name="celery_app.record")
def record(label: str) -> None:
    """Log one line naming the request that queued it."""
    log.info("task ran", label=label)


@app.task(name="celery_app.debug_record")
def debug_record(label: str) -> None:
    """A DEBUG line, then an INFO line (the debug-on-demand test)."""
    log.debug("task debug", label=label)
    log.info("debug task ran", label=label)


@app.task(name="celery_app.flaky", bind=True, max_retries=3)
def flaky(self, label: str) -> None:  # type: ignore[no-untyped-def]  # Celery's bound task
    """Fail twice, then succeed: each failure schedules a retry."""
    log.info("attempt", label=label, retries=self.request.retries)
    if self.request.retries < 2:
        raise self.retry(countdown=0, exc=RuntimeError("transient"))
