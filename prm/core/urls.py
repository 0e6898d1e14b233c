"""Core pages, one URL module per concern (each owned by its views module)."""

from prm.core import (
    urls_attachments,
    urls_audit,
    urls_imports,
    urls_notifications,
    urls_workflow,
)

app_name = "core"

urlpatterns = [
    *urls_notifications.urlpatterns,
    *urls_workflow.urlpatterns,
    *urls_audit.urlpatterns,
    *urls_imports.urlpatterns,
    *urls_attachments.urlpatterns,
]
