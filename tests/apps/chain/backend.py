"""The last service of the chain: Django under gunicorn (``chain.backend:application``).

A one-file Django project: settings, URLs and the view live here.
"""

from __future__ import annotations

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

import msatrace

msatrace.init()
log = msatrace.get_logger("chain.backend")

settings.configure(
    SECRET_KEY="test-only-not-secret",
    DEBUG=False,
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=["msatrace.django.TraceMiddleware"],
    DATABASES={},
    USE_TZ=True,
)


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def chain(request: HttpRequest) -> JsonResponse:
    log.info("backend working")
    return JsonResponse({"service": "backend", "trace_id": msatrace.current_trace_id()})


def debug_chain(request: HttpRequest) -> JsonResponse:
    """The debug-on-demand test: a DEBUG line, then a Celery task on ``CELERY_APP_BROKER``."""
    from celery_app import debug_record  # only this test runs a broker

    label = request.GET["label"]
    log.debug("backend debug", label=label)
    debug_record.delay(label)
    log.info("debug chain", label=label)
    return JsonResponse({"service": "backend", "trace_id": msatrace.current_trace_id()})


urlpatterns = [path("health", health), path("chain", chain), path("debug_chain", debug_chain)]
application = get_wsgi_application()
