"""URLs: attachments (names under the "core" namespace)."""

from django.urls import path

from prm.core import views_attachments

urlpatterns: list = [
    path(
        "attachments/<uuid:public_id>/",
        views_attachments.attachment_download,
        name="attachment_download",
    ),
    path(
        "attachments/upload/<str:owner_type>/<str:owner_id>/",
        views_attachments.attachment_upload,
        name="attachment_upload",
    ),
]
