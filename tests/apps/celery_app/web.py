"""The web service that queues Celery tasks: ``POST /enqueue/{label}``, ``POST /flaky/{label}``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import msatrace.starlette
from celery_app import flaky, record


async def enqueue(request: Request) -> PlainTextResponse:
    record.delay(request.path_params["label"])
    return PlainTextResponse("queued", status_code=202)


async def enqueue_flaky(request: Request) -> PlainTextResponse:
    flaky.delay(request.path_params["label"])
    return PlainTextResponse("queued", status_code=202)


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = msatrace.starlette.instrument(
    Starlette(
        routes=[
            Route("/enqueue/{label}", enqueue, methods=["POST"]),
            Route("/flaky/{label}", enqueue_flaky, methods=["POST"]),
            Route("/health", health),
        ]
    )
)
