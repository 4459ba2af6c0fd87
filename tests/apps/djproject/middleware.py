"""A sync-only middleware, placed right after msatrace's when DJPROJECT_SYNC_MIDDLEWARE=1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SyncOnly:
    """What many third-party middlewares still are: Django adapts the chain around it."""

    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        response["X-Sync-Middleware"] = "1"
        return response
