"""Sign-in pages (placeholder until the auth work lands)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_POST

login_view = auth_views.LoginView.as_view(template_name="accounts/login.html")
logout_view = require_POST(auth_views.LogoutView.as_view())


@login_required
def password_change_view(request):
    return HttpResponse("password change")


@login_required
def totp_setup_view(request):
    return HttpResponse("totp")
