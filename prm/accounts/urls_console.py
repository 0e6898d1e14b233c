"""Administration console: orgs, users, roles (real pages, not only Django admin)."""

from django.urls import path  # noqa: F401

app_name = "console"

urlpatterns: list = []
