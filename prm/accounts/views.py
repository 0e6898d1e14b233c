"""Sign-in pages (R0 4A): login with optional TOTP step, logout, password change, TOTP set-up.

Views parse the form, call one service and render; the services hold the rules
(lockout, password policy, TOTP) and write the audit log.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from prm.accounts.forms import LoginForm, PasswordChangeForm, TotpCodeForm
from prm.accounts.services import (
    TotpPending,
    auth_login,
    auth_login_pending,
    auth_login_totp,
    auth_logout,
    user_password_change,
    user_totp_disable,
    user_totp_enable,
)
from prm.accounts.totp import totp_provisioning_uri, totp_qr_svg, totp_secret_generate
from prm.core.exceptions import ApplicationError

# The secret offered on the set-up page, kept server-side until the user confirms it.
TOTP_SETUP_SESSION_KEY = "prm_totp_setup_secret"


def _next_url(request: HttpRequest) -> str:
    """The ``next`` page to go to after signing in, if it is on this site."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _next_url(request)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url or "home")
    form = LoginForm(request.POST if request.method == "POST" else None)
    error = None
    if form.is_bound and form.is_valid():
        try:
            outcome = auth_login(
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except ApplicationError as exc:
            error = exc.message
        else:
            if isinstance(outcome, TotpPending):
                target = reverse("accounts:login_totp")
                if next_url:
                    target += "?" + urlencode({"next": next_url})
                return redirect(target)
            return redirect(next_url or "home")
    return render(request, "accounts/login.html", {"form": form, "error": error, "next": next_url})


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_totp_view(request: HttpRequest) -> HttpResponse:
    """Second sign-in step of a user with TOTP on: the code from their app."""
    next_url = _next_url(request)
    if not auth_login_pending(request=request):
        messages.warning(
            request, _("The sign-in has timed out. Enter your username and password again.")
        )
        return redirect("accounts:login")
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    error = None
    if form.is_bound and form.is_valid():
        try:
            auth_login_totp(request=request, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            if exc.code != "totp_code_invalid":
                # Locked, timed out or no longer valid: back to the first step.
                messages.error(request, exc.message)
                return redirect("accounts:login")
            error = exc.message
        else:
            return redirect(next_url or "home")
    return render(
        request, "accounts/login_totp.html", {"form": form, "error": error, "next": next_url}
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    auth_logout(request=request)
    messages.info(request, _("You have signed out."))
    return redirect(settings.LOGOUT_REDIRECT_URL)


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            user_password_change(
                request=request,
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except ApplicationError as exc:
            field = exc.details.get("field")
            for message in exc.details.get("messages") or [exc.message]:
                form.add_error(field, message)
        else:
            messages.success(request, _("Your password has been changed."))
            return redirect("home")
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "forced": request.user.must_change_password},
    )


@sensitive_post_parameters("code")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def totp_setup_view(request: HttpRequest) -> HttpResponse:
    """Turn the TOTP second factor on (scan, then confirm with a code) or off again."""
    user = request.user
    required = settings.PRM_TOTP_REQUIRED_FOR_ADMINS and user.has_role("system_admin")
    form = TotpCodeForm(request.POST if request.method == "POST" else None)
    if user.totp_enabled:
        if form.is_bound and form.is_valid():
            try:
                user_totp_disable(user=user, code=form.cleaned_data["code"])
            except ApplicationError as exc:
                form.add_error("code", exc.message)
            else:
                messages.success(request, _("Two-factor sign-in is off."))
                return redirect("accounts:totp_setup")
        return render(
            request,
            "accounts/totp_setup.html",
            {"form": form, "enabled": True, "can_disable": not required},
        )

    secret = request.session.get(TOTP_SETUP_SESSION_KEY)
    if not secret:
        secret = totp_secret_generate()
        request.session[TOTP_SETUP_SESSION_KEY] = secret
    if form.is_bound and form.is_valid():
        try:
            user_totp_enable(user=user, secret=secret, code=form.cleaned_data["code"])
        except ApplicationError as exc:
            form.add_error("code", exc.message)
        else:
            request.session.pop(TOTP_SETUP_SESSION_KEY, None)
            messages.success(request, _("Two-factor sign-in is on."))
            return redirect("home")
    uri = totp_provisioning_uri(secret=secret, username=user.username)
    return render(
        request,
        "accounts/totp_setup.html",
        {
            "form": form,
            "enabled": False,
            "required": required,
            "secret": secret,
            "uri": uri,
            # Generated here from our own data (no user HTML), so it is safe to inline.
            "qr_svg": mark_safe(totp_qr_svg(uri=uri)),  # noqa: S308
        },
    )
