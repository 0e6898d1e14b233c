"""URLs: operator account requests (names under "accounts")."""

from django.urls import path

from prm.accounts import views_requests

urlpatterns: list = [
    path("requests/", views_requests.request_list, name="request_list"),
    path("requests/new/", views_requests.request_create, name="request_create"),
    path("requests/<str:code>/", views_requests.request_detail, name="request_detail"),
    path("requests/<str:code>/edit/", views_requests.request_edit, name="request_edit"),
]
