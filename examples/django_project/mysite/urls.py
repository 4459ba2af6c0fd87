"""URL routes of the example project."""

from __future__ import annotations

from django.urls import path

from mysite import views

urlpatterns = [
    path("health", views.health),
    path("orders/<int:order_id>/", views.order),
    path("slow/", views.slow),
    path("boom/", views.boom),
]
