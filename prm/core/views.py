"""Platform pages: home dashboard, health check, CSRF failure."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from prm.accounts.selectors import user_home_view

    view = user_home_view(user=request.user)
    return render(request, f"home/{view}.html", {"home_view": view})


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
                conn.ensure_connection(max_retries=1, timeout=2)
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
