"""URLs: the billing-extract store (names under "incentives")."""

from django.urls import path, re_path

from prm.incentives import views_billing

urlpatterns: list = [
    path("billing/", views_billing.billing_month_list, name="billing_month_list"),
    path("billing/import/", views_billing.billing_import_create, name="billing_import_create"),
    path(
        "billing/imports/<int:import_id>/",
        views_billing.billing_import_detail,
        name="billing_import_detail",
    ),
    path(
        "billing/imports/<int:import_id>/progress/",
        views_billing.billing_import_progress,
        name="billing_import_progress",
    ),
    re_path(
        r"^billing/(?P<month>[0-9]{4}-(?:0[1-9]|1[0-2]))/$",
        views_billing.billing_month_detail,
        name="billing_month_detail",
    ),
]
