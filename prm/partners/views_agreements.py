"""Pages of agreements, business codes, exits and the blacklist (R1).

Each view parses input, checks the permission, calls one selector or service and
renders. Objects outside the user's scope answer 404; lists filter on ``?partner=<id>``
(other pages link here that way).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from prm.core.attachments import attachment_panel
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.forms import form_add_application_error
from prm.core.pages import page, query_without_page
from prm.core.workflow import workflow_document_context
from prm.partners import selectors_agreements as selectors
from prm.partners.constants import AGREEMENT_WORKFLOW, EXIT_WORKFLOW
from prm.partners.forms_agreements import (
    AgreementFilterForm,
    AgreementForm,
    BlacklistForm,
    BusinessCodeForm,
    CodeFilterForm,
    ExitApplyForm,
    ExitFilterForm,
    ExitStartForm,
    ReasonForm,
)
from prm.partners.models import Agreement, ExitCase
from prm.partners.selectors import (
    partner_business_code_limit,
    partner_get_for,
    partner_of_user,
)
from prm.partners.services import agreements as agreement_services
from prm.partners.services import codes as code_services
from prm.partners.services import exit as exit_services
from prm.partners.services.agreements import LIVE_STATUSES

PAGE_SIZE = 50
MANAGE = "partners.manage_partner"


def _render_list(request: HttpRequest, template: str, partial: str, context: dict) -> HttpResponse:
    """The full page, or only the results table for an htmx filter request."""
    if getattr(request, "htmx", False) and not request.htmx.boosted:
        return render(request, partial, context)
    return render(request, template, context)


def _partner_param(request: HttpRequest):
    """The partner of ``?partner=<id>`` if the user sees it (404 otherwise), else None."""
    value = request.GET.get("partner")
    if not value:
        return None
    return partner_get_for(user=request.user, pk=value)


def _is_staff(user) -> bool:
    return not user.is_partner_user


def _flash_error(request: HttpRequest, exc: ApplicationError) -> None:
    messages.error(request, str(exc.message))


# ---- Agreements --------------------------------------------------------------------------


@page("partners.view_agreement")
def agreement_list(request: HttpRequest) -> HttpResponse:
    partner = _partner_param(request)
    form = AgreementFilterForm(request.GET or None)
    form.is_valid()
    filters = {**getattr(form, "cleaned_data", {}), "partner": partner}
    agreements = selectors.agreement_list(user=request.user, filters=filters)
    context = {
        "form": form,
        "partner": partner,
        "page": Paginator(agreements, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_create": request.user.has_perm(MANAGE) and _is_staff(request.user),
    }
    return _render_list(
        request, "partners/agreements/list.html", "partners/agreements/_table.html", context
    )


@page(MANAGE)
@require_http_methods(["GET", "POST"])
def agreement_create(request: HttpRequest) -> HttpResponse:
    partner = _partner_param(request)
    initial = {"partner": partner} if partner is not None else None
    form = AgreementForm(
        request.POST or None, user=request.user, with_partner=True, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        try:
            agreement = agreement_services.agreement_create(actor=request.user, **values)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(
                request, _("The agreement %(n)s was drafted.") % {"n": agreement.number}
            )
            return redirect("partners:agreement_detail", number=agreement.number)
    return render(
        request,
        "partners/agreements/form.html",
        {"form": form, "agreement": None, "partner": partner},
    )


@page("partners.view_agreement")
def agreement_detail(request: HttpRequest, number: str) -> HttpResponse:
    agreement = selectors.agreement_get_for(user=request.user, number=number)
    workflow = workflow_document_context(
        target=agreement, definition_code=AGREEMENT_WORKFLOW, user=request.user
    )
    can_manage = request.user.has_perm(MANAGE) and _is_staff(request.user)
    status = agreement.status
    context = {
        "agreement": agreement,
        "renewals": agreement.renewals.order_by("-created_at"),
        "attachment_panel": attachment_panel(owner=agreement, user=request.user),
        "can_edit": can_manage and status == Agreement.Status.DRAFT,
        "can_terminate": can_manage and status in (Agreement.Status.DRAFT, *LIVE_STATUSES),
        "can_renew": can_manage and status in LIVE_STATUSES,
        "terminate_form": ReasonForm(),
        **workflow,
    }
    return render(request, "partners/agreements/detail.html", context)


@page(MANAGE)
@require_http_methods(["GET", "POST"])
def agreement_edit(request: HttpRequest, number: str) -> HttpResponse:
    agreement = selectors.agreement_get_for(user=request.user, number=number)
    if agreement.status != Agreement.Status.DRAFT:
        messages.error(request, _("Only a draft agreement can be changed."))
        return redirect("partners:agreement_detail", number=number)
    initial = {
        name: getattr(agreement, name)
        for name in (
            "title",
            "starts_on",
            "ends_on",
            "business_scope",
            "settlement_model",
            "revenue_share_percent",
            "fixed_fee",
        )
    }
    form = AgreementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            agreement_services.agreement_update(
                actor=request.user, agreement=agreement, **form.cleaned_data
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The draft was saved."))
            return redirect("partners:agreement_detail", number=number)
    return render(
        request,
        "partners/agreements/form.html",
        {"form": form, "agreement": agreement, "partner": agreement.partner},
    )


@page(MANAGE)
@require_POST
def agreement_submit_view(request: HttpRequest, number: str) -> HttpResponse:
    agreement = selectors.agreement_get_for(user=request.user, number=number)
    try:
        agreement_services.agreement_submit(actor=request.user, agreement=agreement)
    except ApplicationError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        _flash_error(request, exc)
    else:
        messages.success(request, _("The agreement was sent to countersign."))
    return redirect("partners:agreement_detail", number=number)


@page(MANAGE)
@require_POST
def agreement_terminate_view(request: HttpRequest, number: str) -> HttpResponse:
    agreement = selectors.agreement_get_for(user=request.user, number=number)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason for the termination."))
        return redirect("partners:agreement_detail", number=number)
    try:
        agreement_services.agreement_terminate(
            actor=request.user, agreement=agreement, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        _flash_error(request, exc)
    else:
        messages.success(request, _("The agreement was terminated."))
    return redirect("partners:agreement_detail", number=number)


@page(MANAGE)
@require_POST
def agreement_renew_view(request: HttpRequest, number: str) -> HttpResponse:
    agreement = selectors.agreement_get_for(user=request.user, number=number)
    try:
        renewal = agreement_services.agreement_renew(actor=request.user, agreement=agreement)
    except ApplicationError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        _flash_error(request, exc)
        return redirect("partners:agreement_detail", number=number)
    messages.success(
        request, _("The renewal %(n)s was drafted: check it and submit it.") % {"n": renewal.number}
    )
    return redirect("partners:agreement_edit", number=renewal.number)


# ---- Business codes ---------------------------------------------------------------------


@page("partners.view_businesscode")
def code_list(request: HttpRequest) -> HttpResponse:
    partner = _partner_param(request)
    if partner is None and request.user.is_partner_user:
        partner = partner_of_user(request.user)
    form = CodeFilterForm(request.GET or None)
    form.is_valid()
    filters = {**getattr(form, "cleaned_data", {}), "partner": partner}
    codes = selectors.business_code_list(user=request.user, filters=filters)
    can_manage = request.user.has_perm(MANAGE) and _is_staff(request.user)
    context = {
        "form": form,
        "partner": partner,
        "page": Paginator(codes, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_manage": can_manage,
        "held": selectors.business_code_counts(partner=partner) if partner else None,
        "limit": partner_business_code_limit(partner) if partner else None,
        "release_form": ReasonForm(),
    }
    return _render_list(request, "partners/codes/list.html", "partners/codes/_table.html", context)


@page(MANAGE)
@require_http_methods(["GET", "POST"])
def code_assign(request: HttpRequest) -> HttpResponse:
    partner = _partner_param(request)
    initial = {"partner": partner} if partner is not None else None
    form = BusinessCodeForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            business_code = code_services.business_code_assign(
                actor=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(
                request,
                _("The business code %(code)s was assigned.") % {"code": business_code.code},
            )
            return redirect(f"{reverse('partners:code_list')}?partner={business_code.partner_id}")
    limit = partner_business_code_limit(partner) if partner else None
    held = selectors.business_code_counts(partner=partner) if partner else None
    return render(
        request,
        "partners/codes/form.html",
        {"form": form, "partner": partner, "limit": limit, "held": held},
    )


@page(MANAGE)
@require_POST
def code_release(request: HttpRequest, code: str) -> HttpResponse:
    business_code = selectors.business_code_get_for(user=request.user, code=code)
    form = ReasonForm(request.POST)
    back = f"{reverse('partners:code_list')}?partner={business_code.partner_id}"
    if not form.is_valid():
        messages.error(request, _("Give a reason for the release."))
        return redirect(back)
    try:
        code_services.business_code_release(
            actor=request.user, business_code=business_code, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        _flash_error(request, exc)
    else:
        messages.success(request, _("The business code %(code)s was released.") % {"code": code})
    return redirect(back)


# ---- Exits ------------------------------------------------------------------------------


@page("partners.view_exitcase")
def exit_list(request: HttpRequest) -> HttpResponse:
    partner = _partner_param(request)
    form = ExitFilterForm(request.GET or None)
    form.is_valid()
    filters = {**getattr(form, "cleaned_data", {}), "partner": partner}
    cases = selectors.exit_case_list(user=request.user, filters=filters)
    context = {
        "form": form,
        "partner": partner,
        "page": Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_start": request.user.has_perm(MANAGE) and _is_staff(request.user),
        "can_apply": request.user.has_perm("partners.add_exitcase")
        and request.user.is_partner_user,
    }
    return _render_list(request, "partners/exit/list.html", "partners/exit/_table.html", context)


@page("partners.view_exitcase")
def exit_detail(request: HttpRequest, number: str) -> HttpResponse:
    case = selectors.exit_case_get_for(user=request.user, number=number)
    workflow = workflow_document_context(
        target=case, definition_code=EXIT_WORKFLOW, user=request.user
    )
    done = case.checklist or {}
    checklist = [
        {
            "item": item,
            "label": label,
            "done_at": datetime.fromisoformat(done[item]) if done.get(item) else None,
        }
        for item, label in ExitCase.CHECKLIST
    ]
    return render(
        request,
        "partners/exit/detail.html",
        {"case": case, "checklist": checklist, **workflow},
    )


@page("partners.add_exitcase")
@require_http_methods(["GET", "POST"])
def exit_apply(request: HttpRequest) -> HttpResponse:
    """A partner's own exit application (its admin)."""
    partner = partner_of_user(request.user)
    if partner is None:
        raise Http404
    pending = selectors.exit_case_list(
        user=request.user,
        filters={"partner": partner},
    ).filter(status__in=(ExitCase.Status.SUBMITTED, ExitCase.Status.REJECTED))
    form = ExitApplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = exit_services.exit_case_apply(
                actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            if isinstance(exc, (NotFound, Forbidden)):
                raise
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("Your exit application was submitted for review."))
            return redirect("partners:exit_detail", number=case.number)
    return render(
        request,
        "partners/exit/apply.html",
        {"form": form, "partner": partner, "pending": pending.first()},
    )


@page(MANAGE)
@require_http_methods(["GET", "POST"])
def exit_start(request: HttpRequest) -> HttpResponse:
    """Staff make a partner exit (close-down at once)."""
    if not _is_staff(request.user):
        raise PermissionDenied
    partner = _partner_param(request)
    initial = {"partner": partner} if partner is not None else None
    form = ExitStartForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            case = exit_services.exit_case_start(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            if isinstance(exc, (NotFound, Forbidden)):
                raise
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The partner has exited (%(n)s).") % {"n": case.number})
            return redirect("partners:exit_detail", number=case.number)
    return render(request, "partners/exit/start.html", {"form": form, "partner": partner})


# ---- Blacklist ------------------------------------------------------------------------


@page("partners.view_blacklistentry")
@require_http_methods(["GET", "POST"])
def blacklist(request: HttpRequest) -> HttpResponse:
    if not _is_staff(request.user):
        raise Http404
    can_manage = request.user.has_perm("partners.manage_blacklist")
    form = BlacklistForm(request.POST or None)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        if form.is_valid():
            try:
                entry = exit_services.blacklist_entry_add(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request, _("%(uscc)s was put on the blacklist.") % {"uscc": entry.uscc}
                )
                return redirect("partners:blacklist")
    query = (request.GET.get("q") or "").strip()
    entries = selectors.blacklist_list(user=request.user, filters={"q": query})
    page_obj = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    removable = {
        entry.pk
        for entry in page_obj
        if can_manage
        and request.user.scope_path
        and exit_services.blacklist_entry_org_path(entry).startswith(request.user.scope_path)
    }
    context = {
        "form": form,
        "page": page_obj,
        "q": query,
        "query": query_without_page(request),
        "can_manage": can_manage,
        "removable": removable,
        "remove_form": ReasonForm(),
    }
    return render(request, "partners/exit/blacklist.html", context)


@page("partners.manage_blacklist")
@require_POST
def blacklist_remove(request: HttpRequest, uscc: str) -> HttpResponse:
    entry = selectors.blacklist_entry_get_for(user=request.user, uscc=uscc)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason."))
        return redirect("partners:blacklist")
    try:
        exit_services.blacklist_entry_remove(
            actor=request.user, entry=entry, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        _flash_error(request, exc)
    else:
        messages.success(request, _("%(uscc)s was taken off the blacklist.") % {"uscc": uscc})
    return redirect("partners:blacklist")
