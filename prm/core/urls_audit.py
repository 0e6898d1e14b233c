"""URLs: audit (names under the "core" namespace)."""

from django.urls import path

from prm.core import views_audit

urlpatterns: list = [
    path("audit/", views_audit.audit_list, name="audit_list"),
    path("audit/export.csv", views_audit.audit_export, name="audit_export"),
]
