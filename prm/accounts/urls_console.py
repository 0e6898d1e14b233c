"""Administration console: orgs, users, roles (real pages, not only Django admin)."""

from django.urls import path

from prm.accounts import views_console as views

app_name = "console"

urlpatterns: list = [
    path("orgs/", views.org_list, name="org_list"),
    path("orgs/new/", views.org_create, name="org_create"),
    path("orgs/<str:code>/", views.org_detail, name="org_detail"),
    path("orgs/<str:code>/edit/", views.org_edit, name="org_edit"),
    path("users/", views.user_list, name="user_list"),
    path("users/new/", views.user_create, name="user_create"),
    path("users/<str:username>/", views.user_detail, name="user_detail"),
    path("users/<str:username>/edit/", views.user_edit, name="user_edit"),
    path("users/<str:username>/disable/", views.user_disable_view, name="user_disable"),
    path("users/<str:username>/enable/", views.user_enable_view, name="user_enable"),
    path("users/<str:username>/unlock/", views.user_unlock_view, name="user_unlock"),
    path(
        "users/<str:username>/password-reset/",
        views.user_password_reset_view,
        name="user_password_reset",
    ),
    path("roles/", views.role_list, name="role_list"),
    path("roles/<str:code>/", views.role_detail, name="role_detail"),
]
