"""Platform pages: home dashboard, language switch, health check, CSRF failure."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from prm.core import dashboard
from prm.core.audit import audit_event_list

CHART_DAYS = 14
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600

# The modules still to come, per home view: (title, requirement, description).
_MODULES = {
    "partners": (
        gettext_lazy("Partner lifecycle"),
        "R1",
        gettext_lazy("Registration, introduction review, qualifications, agreements, exit."),
    ),
    "portal": (
        gettext_lazy("Partner portal"),
        "R2",
        gettext_lazy("Announcements, breach cases, inquiries and knowledge base."),
    ),
    "credit": (
        gettext_lazy("Credit and tiers"),
        "R3",
        gettext_lazy("Credit points, credit degree, tiers and entitlements."),
    ),
    "incentives": (
        gettext_lazy("Incentives"),
        "R4",
        gettext_lazy("Channels, promoters, recommendations, settlement and payouts."),
    ),
    "opportunities": (
        gettext_lazy("Opportunities"),
        "R5",
        gettext_lazy("Group customers, sales opportunities, forecasts and contracts."),
    ),
    "assurance": (
        gettext_lazy("Delivery and assurance"),
        "R6",
        gettext_lazy("Projects, provisioning, alarms, tickets, complaints and SLAs."),
    ),
    "fieldops": (
        gettext_lazy("Field operations"),
        "R7",
        gettext_lazy("Contractors, inspections, work orders and assessments."),
    ),
    "programs": (
        gettext_lazy("Programs"),
        "R8",
        gettext_lazy("SA agents, points exchange, IMEI and in-app billing partners."),
    ),
}
_MODULES_BY_VIEW = {
    "management": ("credit", "incentives", "opportunities"),
    "operations": ("assurance", "fieldops"),
    "account_manager": ("opportunities", "assurance"),
    "cs": ("assurance",),
    "partner": ("credit", "incentives", "fieldops", "programs"),
    "audit": ("incentives", "credit"),
    "admin": ("incentives", "assurance"),
}


def _dashboard_context(request: HttpRequest, view: str) -> dict:
    """What each home view shows of what exists now (R0 roles & views)."""
    from prm.accounts import selectors as account_selectors

    user = request.user
    context: dict = {
        "home_view": view,
        "pending_approvals": dashboard.pending_approval_count(user=user),
        "modules_coming": [_MODULES[key] for key in _MODULES_BY_VIEW.get(view, ())],
        "panels": dashboard.home_panels_for(user=user, view=view),
    }
    if view in ("admin", "audit"):
        logins = dashboard.events_per_day(
            events=dashboard.login_event_list(user=user), days=CHART_DAYS
        )
        failures = dashboard.events_per_day(
            events=account_selectors.failed_login_list(user=user), days=CHART_DAYS
        )
        context["logins_chart"] = dashboard.logins_chart_option(
            series={_("Sign-ins"): logins, _("Failed sign-ins"): failures}, days=CHART_DAYS
        )
        context["recent_events"] = (
            audit_event_list(user=user)[:8] if user.has_perm("core.view_auditevent") else []
        )
    if view == "admin":
        context["counts"] = account_selectors.account_counts(user=user)
    if view == "audit":
        context["failed_logins"] = account_selectors.failed_login_list(user=user)[:10]
    return context


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from prm.accounts.selectors import user_home_view

    user = request.user
    # Without a language cookie (a new browser), use the language the user chose before.
    adopt_language = (
        settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
        and user.language in dict(settings.LANGUAGES)
        and user.language != translation.get_language()
    )
    if adopt_language:
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language
    view = user_home_view(user=user)
    response = render(request, f"home/{view}.html", _dashboard_context(request, view))
    if adopt_language:
        _language_cookie_set(response, user.language)
    return response


def _language_cookie_set(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=LANGUAGE_COOKIE_MAX_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
    )


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's language switch, remembered for a year in the browser and, when signed
    in, on the user (so that their next browser and their e-mails use it too)."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if language in dict(settings.LANGUAGES):
        _language_cookie_set(response, language)
        if request.user.is_authenticated:
            from prm.accounts.services import user_language_set

            user_language_set(user=request.user, language=language)
    return response


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 once the database (and the broker, when one is configured) answers."""
    checks: dict[str, str] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (report any failure)
        checks["database"] = f"error: {exc.__class__.__name__}"
        healthy = False
    if settings.PRM_BROKER_URL:
        try:
            from prm.celery import app

            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            checks["broker"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["broker"] = f"error: {exc.__class__.__name__}"
            healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    message = _(
        "Your session has expired or the form is out of date. Reload the page and try again."
    )
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "csrf_failed", "message": message, "details": {}}, status=403)
    return render(request, "errors/csrf.html", {"message": message}, status=403)
