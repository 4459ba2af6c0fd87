"""URL routes of the inventory service."""

from __future__ import annotations

from django.urls import path

from inventory import views

urlpatterns = [
    path("health", views.health),
    path("stock/<str:sku>/", views.stock),
]
