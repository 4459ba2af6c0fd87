"""Views of the Django test project: sync views, as most Django code is, and one async view.

What each view does is ``shared_views``' (the Flask test app's views do the same).
"""

from __future__ import annotations

import shared_views as shared
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


def item(request: HttpRequest, item_id: int) -> JsonResponse:
    return JsonResponse(shared.item(item_id))


def debug_work(request: HttpRequest) -> JsonResponse:
    """Debug on error: see ``shared_views.debug_work``."""
    body, status = shared.debug_work(
        request.GET["marker"], request.GET.get("fail", "no"), int(request.GET.get("steps", 3))
    )
    return JsonResponse(body, status=status)


def work(request: HttpRequest) -> JsonResponse:
    return JsonResponse(shared.work(*_work_args(request)))


async def work_async(request: HttpRequest) -> JsonResponse:
    return JsonResponse(await shared.work_async(*_work_args(request)))


def _work_args(request: HttpRequest) -> tuple[str, int, float]:
    get = request.GET
    return get["marker"], int(get.get("steps", 3)), float(get.get("pause", 0.005))


def me(request: HttpRequest) -> JsonResponse:
    return JsonResponse(shared.me())


def stream(request: HttpRequest) -> StreamingHttpResponse:
    body = shared.stream_body(
        int(request.GET.get("chunks", 3)), float(request.GET.get("pause", 0.01))
    )
    return StreamingHttpResponse(body, content_type="text/plain")


def boom(request: HttpRequest) -> JsonResponse:
    shared.boom()


def bug(request: HttpRequest) -> JsonResponse:
    return JsonResponse(shared.bug())


def pid(request: HttpRequest) -> JsonResponse:
    return JsonResponse(shared.pid(float(request.GET.get("pause", 0))))
