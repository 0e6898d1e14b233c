"""Pages of the settlement runs (R4 commission management): the list, the start form,
a run's page (progress while it computes, totals, changes since the last revision,
statements, approval panel, payout files) and the adjustments.

Views parse input, check the permission, call one selector or service and render. A run
outside the user's subtree answers 404; a page the user has no permission for, 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.forms import form_add_application_error
from prm.core.pages import page, query_without_page
from prm.core.workflow import workflow_document_context
from prm.incentives import selectors_settlement as selectors
from prm.incentives.constants import SETTLEMENT_WORKFLOW
from prm.incentives.engine import REASON_CODES
from prm.incentives.forms_settlement import (
    AdjustmentFilterForm,
    AdjustmentForm,
    RunFilterForm,
    RunStartForm,
)
from prm.incentives.reasons import REASONS
from prm.incentives.services import payouts as payout_services
from prm.incentives.services import settlement as services

PAGE_SIZE = 50
VIEW = selectors.VIEW_PERMISSION
START = selectors.START_PERMISSION
PAYOUT = selectors.PAYOUT_PERMISSION
ADJUST = selectors.ADJUST_PERMISSION


def _render_list(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    """The full page, or only the results for an htmx filter request."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


def _refusal(request: HttpRequest, exc: ApplicationError) -> None:
    if isinstance(exc, (NotFound, Forbidden)):
        raise exc
    messages.error(request, str(exc.message))


STAGE_LABELS = {
    "queued": gettext_lazy("Waiting for a worker"),
    "export": gettext_lazy("Exporting the records and billing extracts"),
    "engine": gettext_lazy("Starting the settlement engine"),
    "validate": gettext_lazy("Checking the input files"),
    "records": gettext_lazy("Selecting the period's records"),
    "rules": gettext_lazy("Applying the rebate rules and audits"),
    "verdicts": gettext_lazy("Writing the verdicts"),
    "clawbacks": gettext_lazy("Finding clawbacks"),
    "statements": gettext_lazy("Writing the statements"),
    "write": gettext_lazy("Saving the result files"),
    "done": gettext_lazy("Done"),
    "failed": gettext_lazy("Failed"),
}


def _stage_label(stage: str) -> str:
    label = STAGE_LABELS.get(stage)
    return str(label) if label else stage


def _progress_context(run) -> dict:
    return {
        "run": run,
        "is_active": selectors.run_is_active(run),
        "stage_label": _stage_label(run.stage),
    }


def _analysis_url(run) -> str | None:
    """The run's analysis page (another concern's page; absent until it is installed)."""
    if run.status not in selectors.RESULT_STATUSES:
        return None
    try:
        return reverse("incentives:run_analysis", kwargs={"number": run.number})
    except NoReverseMatch:
        return None


# ---- Runs -----------------------------------------------------------------------------------


@page(VIEW)
def run_list(request: HttpRequest) -> HttpResponse:
    form = RunFilterForm(request.GET or None, user=request.user)
    form.is_valid()
    filters = getattr(form, "cleaned_data", {})
    runs = selectors.run_list(user=request.user, filters=filters)
    context = {
        "form": form,
        "page": Paginator(runs, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_start": request.user.has_perm(START),
    }
    return _render_list(
        request, "incentives/settlement/list.html", "incentives/settlement/_table.html", context
    )


@page(START)
@require_http_methods(["GET", "POST"])
def run_start(request: HttpRequest) -> HttpResponse:
    form = RunStartForm(
        request.POST or None,
        user=request.user,
        initial={"period": services.settlement_period_default()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            run = services.settlement_run_start(
                org=form.cleaned_data["city"],
                period=form.cleaned_data["period"],
                actor=request.user,
            )
        except ApplicationError as exc:
            if isinstance(exc, (NotFound, Forbidden)):
                raise
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The settlement %(n)s was started.") % {"n": run.number})
            return redirect("incentives:run_detail", number=run.number)
    return render(request, "incentives/settlement/start.html", {"form": form})


@page(VIEW)
def run_detail(request: HttpRequest, number: str) -> HttpResponse:
    run = selectors.run_get_for(user=request.user, number=number)
    statements = selectors.run_statements(run=run)
    workflow = workflow_document_context(
        target=run, definition_code=SETTLEMENT_WORKFLOW, user=request.user
    )
    reasons = (run.summary or {}).get("reasons") or {}
    context = {
        **_progress_context(run),
        **selectors.run_actions(run=run, user=request.user),
        **workflow,
        "page": Paginator(statements, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "app_summary": (run.summary or {}).get("app") or {},
        "reason_counts": [
            {
                "code": code,
                "label": REASONS[code].label if code in REASONS else code,
                "count": reasons.get(code, 0),
            }
            for code in REASON_CODES
            if reasons.get(code)
        ],
        "changes": run.changes or {},
        "analysis_url": _analysis_url(run),
        "has_result": run.revision > 0,
    }
    return render(request, "incentives/settlement/detail.html", context)


@page(VIEW)
def run_progress(request: HttpRequest, number: str) -> HttpResponse:
    """The progress bar (polled by htmx while the run computes); when the run is done,
    the page reloads to show the result."""
    run = selectors.run_get_for(user=request.user, number=number)
    response = render(request, "incentives/settlement/_progress.html", _progress_context(run))
    if getattr(request, "htmx", False) and not selectors.run_is_active(run):
        response["HX-Refresh"] = "true"
    return response


@page(START)
@require_POST
def run_rerun(request: HttpRequest, number: str) -> HttpResponse:
    run = selectors.run_get_for(user=request.user, number=number)
    try:
        services.settlement_run_rerun(run=run, actor=request.user)
    except ApplicationError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("The settlement was started again."))
    return redirect("incentives:run_detail", number=run.number)


@page(START)
@require_POST
def run_submit(request: HttpRequest, number: str) -> HttpResponse:
    run = selectors.run_get_for(user=request.user, number=number)
    try:
        services.settlement_run_submit(run=run, actor=request.user)
    except ApplicationError as exc:
        _refusal(request, exc)
    else:
        messages.success(request, _("The settlement was sent for approval."))
    return redirect("incentives:run_detail", number=run.number)


@page(PAYOUT)
def run_payout(request: HttpRequest, number: str, fmt: str) -> HttpResponse:
    run = selectors.run_get_for(user=request.user, number=number)
    try:
        export = payout_services.payout_file_build(run=run, actor=request.user, fmt=fmt)
    except ApplicationError as exc:
        _refusal(request, exc)
        return redirect("incentives:run_detail", number=run.number)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


# ---- Adjustments ----------------------------------------------------------------------------


@page(VIEW)
def adjustment_list(request: HttpRequest) -> HttpResponse:
    form = AdjustmentFilterForm(request.GET or None)
    form.is_valid()
    adjustments = selectors.adjustment_list(
        user=request.user, filters=getattr(form, "cleaned_data", {})
    )
    context = {
        "form": form,
        "page": Paginator(adjustments, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_create": request.user.has_perm(ADJUST),
    }
    return _render_list(
        request,
        "incentives/settlement/adjustments.html",
        "incentives/settlement/_adjustments_table.html",
        context,
    )


@page(ADJUST)
@require_http_methods(["GET", "POST"])
def adjustment_create(request: HttpRequest) -> HttpResponse:
    form = AdjustmentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            promoter = selectors.promoter_by_work_id_for(user=request.user, work_id=data["work_id"])
        except NotFound:
            form.add_error("work_id", _("No promoter with this work ID in your organisation."))
        else:
            try:
                services.settlement_adjustment_create(
                    actor=request.user,
                    promoter=promoter,
                    amount=data["amount"],
                    reason=data["reason"],
                    corrects_run=data["corrects_run"],
                )
            except ApplicationError as exc:
                if isinstance(exc, (NotFound, Forbidden)):
                    raise
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request,
                    _("The adjustment was recorded; it is paid in the next settlement of %(city)s.")
                    % {"city": promoter.org.name},
                )
                return redirect("incentives:adjustment_list")
    return render(request, "incentives/settlement/adjustment_form.html", {"form": form})
