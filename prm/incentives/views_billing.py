"""Pages of the billing-extract store (R4): the imported months, a month's files and
history, the upload form and the import job page.

The job page polls its progress partial through htmx every second while the import is
queued or running, then reloads to show the outcome (like ``core/views_imports.py``).
Staff who may view the store (``view_billingmonth``) or import (``import_billing``) see
the months; imports are scoped to the importer's org subtree (404 outside it).
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_http_methods

from prm.core.audit import audit_event_list
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.forms import form_add_application_error
from prm.incentives.forms_billing import BillingImportForm
from prm.incentives.models import BillingImport
from prm.incentives.selectors_billing import (
    billing_import_get,
    billing_import_may,
    billing_imports_visible,
    billing_may_view,
    billing_month_get,
    billing_month_imports,
    billing_months_visible,
)
from prm.incentives.services.billing import billing_import_create as import_create
from prm.incentives.storage import BILLING_TABLES

PAGE_SIZE = 24
RECENT_IMPORTS = 20


def _may_see(user) -> bool:
    return billing_may_view(user) or billing_import_may(user)


def _job(request: HttpRequest, import_id: int) -> BillingImport:
    if not _may_see(request.user):
        raise PermissionDenied
    try:
        return billing_import_get(user=request.user, import_id=import_id)
    except NotFound as exc:
        raise Http404 from exc


def _file_rows(files: dict) -> list[dict]:
    """The month's files in table order, for the tables."""
    return [{"table": table, **files[table]} for table in BILLING_TABLES if table in files]


@login_required
@require_GET
def billing_month_list(request: HttpRequest) -> HttpResponse:
    if not _may_see(request.user):
        raise PermissionDenied
    page = Paginator(billing_months_visible(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "query": "",
        "imports": list(billing_imports_visible(user=request.user)[:RECENT_IMPORTS]),
        "may_import": billing_import_may(request.user),
    }
    return render(request, "incentives/billing/month_list.html", context)


@login_required
@require_GET
def billing_month_detail(request: HttpRequest, month: str) -> HttpResponse:
    if not _may_see(request.user):
        raise PermissionDenied
    first_day = date(int(month[:4]), int(month[5:7]), 1)
    try:
        month_row = billing_month_get(user=request.user, month=first_day)
    except NotFound as exc:
        raise Http404 from exc
    events = audit_event_list(
        user=request.user,
        filters={"target_type": "incentives.billingmonth", "target_id": str(month_row.pk)},
    ).order_by("-created_at")[:50]
    context = {
        "month": month_row,
        "files": _file_rows(month_row.files or {}),
        "imports": list(billing_month_imports(user=request.user, month=first_day)[:50]),
        "events": list(events),
        "may_import": billing_import_may(request.user) and not month_row.is_locked,
    }
    return render(request, "incentives/billing/month_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def billing_import_create(request: HttpRequest) -> HttpResponse:
    if not billing_import_may(request.user):
        raise PermissionDenied
    initial = {"month": request.GET.get("month", "")} if request.method == "GET" else None
    form = BillingImportForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = import_create(
                    actor=request.user,
                    month=form.cleaned_data["month"],
                    uploads=form.cleaned_data["files"],
                )
            except ApplicationError as exc:
                if exc.status == 403:
                    raise PermissionDenied from exc
                form_add_application_error(form, exc)
            else:
                return redirect("incentives:billing_import_detail", import_id=job.pk)
        status = 400
    return render(
        request,
        "incentives/billing/import_form.html",
        {"form": form, "tables": BILLING_TABLES},
        status=status,
    )


def _job_context(job: BillingImport) -> dict:
    return {
        "job": job,
        "is_active": job.status in (BillingImport.Status.QUEUED, BillingImport.Status.RUNNING),
        "files": [
            {"table": table, **values}
            for table, values in (job.files or {}).items()
            if isinstance(values, dict)
        ],
    }


@login_required
@require_GET
def billing_import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    job = _job(request, import_id)
    context = _job_context(job)
    context["may_import"] = billing_import_may(request.user)
    return render(request, "incentives/billing/import_detail.html", context)


@login_required
@require_GET
def billing_import_progress(request: HttpRequest, import_id: int) -> HttpResponse:
    """The progress bar alone (htmx). Once the import is done the page reloads itself."""
    job = _job(request, import_id)
    context = _job_context(job)
    response = render(request, "incentives/billing/_progress.html", context)
    if request.htmx and not context["is_active"]:
        response["HX-Refresh"] = "true"
    patch_cache_control(response, no_store=True)
    return response
