"""URLs: settlement runs and adjustments (names under "incentives")."""

from django.urls import path

from prm.incentives import views_settlement as views

urlpatterns: list = [
    path("settlement/runs/", views.run_list, name="run_list"),
    path("settlement/runs/new/", views.run_start, name="run_start"),
    path("settlement/runs/<str:number>/", views.run_detail, name="run_detail"),
    path("settlement/runs/<str:number>/progress/", views.run_progress, name="run_progress"),
    path("settlement/runs/<str:number>/rerun/", views.run_rerun, name="run_rerun"),
    path("settlement/runs/<str:number>/submit/", views.run_submit, name="run_submit"),
    path(
        "settlement/runs/<str:number>/payout.<str:fmt>",
        views.run_payout,
        name="run_payout",
    ),
    path("settlement/adjustments/", views.adjustment_list, name="adjustment_list"),
    path("settlement/adjustments/new/", views.adjustment_create, name="adjustment_create"),
]
