from django.urls import path

from prm.accounts import urls_requests, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/totp/", views.login_totp_view, name="login_totp"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change_view, name="password_change"),
    path("totp/", views.totp_setup_view, name="totp_setup"),
    *urls_requests.urlpatterns,
]
