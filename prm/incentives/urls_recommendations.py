"""URLs: recommendations (names under "incentives")."""

from django.urls import path

from prm.incentives import views_recommendations as views

urlpatterns: list = [
    path("recommendations/", views.recommendation_list, name="recommendation_list"),
    path("recommendations/new/", views.recommendation_create, name="recommendation_create"),
    path("recommendations/mine/", views.recommendation_mine, name="recommendation_mine"),
    path(
        "recommendations/<str:number>/",
        views.recommendation_detail,
        name="recommendation_detail",
    ),
]
