"""URLs: notifications (names under the "core" namespace)."""

from django.urls import path

from prm.core import views_inbox

urlpatterns: list = [
    path("inbox/", views_inbox.inbox, name="inbox"),
]
