"""Core pages: inbox, workflow tasks, audit log, imports, attachments."""

from django.urls import path

from prm.core import views_inbox

app_name = "core"

urlpatterns = [
    path("inbox/", views_inbox.inbox, name="inbox"),
]
