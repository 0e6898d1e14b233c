"""URLs: imports and exports (names under the "core" namespace)."""

from django.urls import path, re_path

from prm.core import views_imports

urlpatterns: list = [
    path("imports/", views_imports.import_list, name="import_list"),
    path("imports/<slug:kind>/new/", views_imports.import_create, name="import_create"),
    path("imports/job/<uuid:public_id>/", views_imports.import_detail, name="import_detail"),
    path(
        "imports/job/<uuid:public_id>/progress/",
        views_imports.import_progress,
        name="import_progress",
    ),
    re_path(
        r"^imports/job/(?P<public_id>[0-9a-f-]{36})/errors\.(?P<fmt>xlsx|csv)$",
        views_imports.import_errors,
        name="import_errors",
    ),
    path("imports/job/<uuid:public_id>/retry/", views_imports.import_retry, name="import_retry"),
    re_path(r"^exports/(?P<kind>[a-z_]+)\.(?P<fmt>xlsx|csv)$", views_imports.export, name="export"),
]
