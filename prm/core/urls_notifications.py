"""URLs: notifications (names under the "core" namespace)."""

from django.urls import path

from prm.core import views_inbox

urlpatterns: list = [
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/<int:pk>/read/", views_inbox.notification_read, name="notification_read"),
    path("inbox/read-all/", views_inbox.notification_read_all, name="notification_read_all"),
]
