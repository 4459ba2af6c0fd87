"""Routes of the Django test project (the same as the FastAPI and Flask test apps)."""

from __future__ import annotations

from django.urls import path

from djproject import views

urlpatterns = [
    path("health", views.health),
    path("items/<int:item_id>", views.item),
    path("debug_work", views.debug_work),
    path("work", views.work),
    path("work_async", views.work_async),
    path("me", views.me),
    path("stream", views.stream),
    path("boom", views.boom),
    path("bug", views.bug),
    path("pid", views.pid),
]
