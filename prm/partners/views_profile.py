"""Pages of the partner registry (operator staff), the partner's own "My company",
profile history, change requests and qualifications (R1).

Staff pages need ``partners.view_partner`` and show only the partners managed in the
user's org subtree; a partner's users see only their own partner. Anything outside the
caller's scope answers 404; a missing permission 403. Partner pages are addressed by
partner code (``/partners/P-2026-000123/``); an application without a code yet by its
id (``/partners/42/``), see ``PartnerKeyConverter``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from prm.core.exceptions import ApplicationError, NotFound
from prm.core.forms import form_add_application_error
from prm.core.imports import CONTENT_TYPES, FORMATS, table_write
from prm.core.pages import is_htmx_partial, query_without_page
from prm.core.workflow import workflow_document_context, workflow_holds_task
from prm.partners import selectors_profile as selectors
from prm.partners.constants import CHANGE_REQUEST_WORKFLOW
from prm.partners.forms_profile import (
    ChangeRequestFilterForm,
    ChangeRequestForm,
    PartnerFilterForm,
    QualificationForm,
    QualificationRenewForm,
)
from prm.partners.models import Partner
from prm.partners.selectors import partner_categories, partner_may_do_new_business
from prm.partners.services import profile as services

PAGE_SIZE = 50
CHANGE_REQUEST_PAGE_SIZE = 50


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _get_or_404(function, **kwargs):
    try:
        return function(**kwargs)
    except NotFound as exc:
        raise Http404 from exc


def _optional_url(name: str, *, query: dict | None = None, **kwargs) -> str:
    """The URL of a page another concern provides, or "" while it does not exist."""
    try:
        url = reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(query)}" if query else url


def _own_partner(request: HttpRequest) -> Partner:
    """The signed-in partner user's own (approved) partner; 404 for anyone else."""
    partner = selectors.partner_of(request.user)
    if partner is None or partner.is_application:
        raise Http404
    return partner


def _profile_context(request: HttpRequest, partner: Partner) -> dict:
    today = timezone.localdate()
    return {
        "partner": partner,
        "partner_key": selectors.partner_key(partner),
        "profile_rows": selectors.profile_rows(partner),
        "qualifications": selectors.qualification_rows(partner=partner, today=today),
        "replaced_qualifications": selectors.qualification_rows(
            partner=partner, today=today, current=False
        ),
        "may_do_new_business": partner_may_do_new_business(partner, today=today),
        "open_change_request": selectors.change_request_open_for(partner=partner),
    }


# ---- The registry (operator staff) ------------------------------------------------------


def _filter_form(request: HttpRequest) -> PartnerFilterForm:
    return PartnerFilterForm(
        request.GET or None,
        categories=partner_categories(active_only=False),
        orgs=selectors.managing_org_choices(user=request.user),
    )


@login_required
def partner_list(request: HttpRequest) -> HttpResponse:
    """The partners managed in the user's subtree, filtered and paginated."""
    if request.user.is_partner_user:
        return redirect("partners:my_profile")
    _require(request, "partners.view_partner")
    form = _filter_form(request)
    partners = selectors.partner_list_filtered(user=request.user, filters=form.filters())
    page = Paginator(partners, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": query_without_page(request)}
    if is_htmx_partial(request):
        return render(request, "partners/profile/_partner_table.html", context)
    return render(request, "partners/profile/partner_list.html", context)


EXPORT_HEADERS = (
    _lazy("Partner code"),
    _lazy("Company name"),
    _lazy("Unified social credit code"),
    _lazy("Category"),
    _lazy("Status"),
    _lazy("Tier"),
    _lazy("Introduction source"),
    _lazy("Managing organisation"),
    _lazy("Partner manager"),
    _lazy("Legal representative"),
    _lazy("Registered capital (yuan)"),
    _lazy("Contact person"),
    _lazy("Contact phone"),
    _lazy("Admin e-mail"),
    _lazy("Approved at"),
    _lazy("New business suspended"),
)


def _export_row(partner: Partner) -> list[str]:
    approved_at = (
        timezone.localtime(partner.approved_at).strftime("%Y-%m-%d %H:%M")
        if partner.approved_at
        else ""
    )
    return [
        partner.code or "",
        partner.company_name,
        partner.uscc or "",
        partner.category.label,
        partner.get_status_display(),
        partner.get_tier_display() if partner.tier else "",
        partner.get_source_display(),
        partner.managing_org.name,
        partner.manager.display_name if partner.manager else "",
        partner.legal_representative,
        selectors.profile_text(partner.registered_capital),
        partner.contact_name,
        partner.contact_phone,
        partner.admin_email,
        approved_at,
        _("Yes") if partner.business_suspended else _("No"),
    ]


@login_required
def partner_export(request: HttpRequest) -> HttpResponse:
    """The filtered registry as xlsx or csv (``?format=xlsx|csv`` plus the filters).

    Written with ``prm.core.imports.table_write`` (the writer of ``export_rows``):
    ``export_rows`` exports a registered import kind whole, and this list is filtered.
    """
    if request.user.is_partner_user:
        raise Http404
    _require(request, "partners.view_partner")
    fmt = request.GET.get("format", "xlsx")
    if fmt not in FORMATS:
        raise Http404
    form = _filter_form(request)
    partners = selectors.partner_list_filtered(user=request.user, filters=form.filters())
    content = table_write(
        [str(header) for header in EXPORT_HEADERS],
        (_export_row(partner) for partner in partners.iterator()),
        fmt,
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="partners-{stamp}.{fmt}"'
    return response


def _staff_partner(request: HttpRequest, key: str) -> Partner:
    _require(request, "partners.view_partner")
    return _get_or_404(selectors.partner_get_by_key, user=request.user, key=key)


@login_required
def partner_detail(request: HttpRequest, key: str) -> HttpResponse:
    """One partner: profile, qualifications, change requests, history, and links to its
    agreements, business codes and exits."""
    partner = _staff_partner(request, key)
    if request.user.is_partner_user:
        return redirect("partners:my_profile")
    query = {"partner": partner.pk}
    context = {
        **_profile_context(request, partner),
        "change_requests": list(
            selectors.change_request_list(user=request.user, filters={"partner": partner.pk})[:10]
        )
        if request.user.has_perm("partners.view_changerequest")
        else [],
        "related_links": [
            link
            for link in (
                (
                    _("Agreements"),
                    "file-earmark-text",
                    _optional_url("partners:agreement_list", query=query),
                ),
                (_("Business codes"), "upc", _optional_url("partners:code_list", query=query)),
                (_("Exits"), "box-arrow-right", _optional_url("partners:exit_list", query=query)),
            )
            if link[2]
        ],
        "history_url": reverse(
            "partners:partner_history", kwargs={"key": selectors.partner_key(partner)}
        ),
    }
    return render(request, "partners/profile/partner_detail.html", context)


@login_required
def partner_history(request: HttpRequest, key: str) -> HttpResponse:
    partner = _staff_partner(request, key)
    if request.user.is_partner_user:
        return redirect("partners:my_history")
    return render(
        request,
        "partners/profile/history.html",
        {
            "partner": partner,
            "entries": selectors.partner_history(partner=partner),
            "back_url": reverse(
                "partners:partner_detail", kwargs={"key": selectors.partner_key(partner)}
            ),
        },
    )


# ---- The partner's own pages ------------------------------------------------------------


@login_required
def my_profile(request: HttpRequest) -> HttpResponse:
    """ "My company": the registration data, category, code, tier, status,
    qualifications, change requests and the way to the history."""
    _require(request, "partners.view_partner")
    partner = _own_partner(request)
    user = request.user
    context = {
        **_profile_context(request, partner),
        "change_requests": list(
            selectors.change_request_list(user=user, filters={"partner": partner.pk})[:10]
        )
        if user.has_perm("partners.view_changerequest")
        else [],
        "can_request_change": user.has_perm("partners.add_changerequest")
        and partner.status == Partner.Status.ACTIVE,
        "can_manage_qualifications": user.has_perm("partners.add_qualification")
        and partner.status == Partner.Status.ACTIVE,
        "history_url": reverse("partners:my_history"),
    }
    # One request under review at a time: its badge links to it instead.
    context["can_request_change"] &= context["open_change_request"] is None
    return render(request, "partners/profile/my_profile.html", context)


@login_required
def my_history(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.view_partner")
    partner = _own_partner(request)
    return render(
        request,
        "partners/profile/history.html",
        {
            "partner": partner,
            "entries": selectors.partner_history(partner=partner),
            "back_url": reverse("partners:my_profile"),
        },
    )


# ---- Change requests --------------------------------------------------------------------


@login_required
def change_request_list(request: HttpRequest) -> HttpResponse:
    """Staff: the change requests of the partners in their subtree; a partner's
    admin: their own partner's."""
    _require(request, "partners.view_changerequest")
    form = ChangeRequestFilterForm(request.GET or None)
    filters = form.filters()
    partner_id = request.GET.get("partner", "")
    if partner_id.isdigit():
        filters["partner"] = int(partner_id)
    requests = selectors.change_request_list(user=request.user, filters=filters)
    page = Paginator(requests, CHANGE_REQUEST_PAGE_SIZE).get_page(request.GET.get("page"))
    can_create = (
        request.user.is_partner_user
        and request.user.has_perm("partners.add_changerequest")
        and getattr(selectors.partner_of(request.user), "status", "") == Partner.Status.ACTIVE
    )
    context = {
        "form": form,
        "page": page,
        "query": query_without_page(request),
        "can_create": can_create,
    }
    if is_htmx_partial(request):
        return render(request, "partners/profile/_change_request_table.html", context)
    return render(request, "partners/profile/change_request_list.html", context)


@login_required
def change_request_create(request: HttpRequest) -> HttpResponse:
    """The partner's admin changes profile fields; the diff goes for approval."""
    _require(request, "partners.add_changerequest")
    partner = _own_partner(request)
    form = ChangeRequestForm(request.POST or None, partner=partner)
    if request.method == "POST" and form.is_valid():
        try:
            change_request = services.change_request_create(
                actor=request.user,
                partner=partner,
                values=form.values(),
                reason=form.cleaned_data["reason"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The change request has been submitted for approval."))
            return redirect("partners:change_request_detail", number=change_request.number)
    return render(
        request, "partners/profile/change_request_form.html", {"form": form, "partner": partner}
    )


@login_required
def change_request_detail(request: HttpRequest, number: str) -> HttpResponse:
    """The diff table (field, old, new), the approval trail and the user's actions."""
    change_request = _get_or_404(selectors.change_request_get, user=request.user, number=number)
    workflow = workflow_document_context(
        target=change_request, definition_code=CHANGE_REQUEST_WORKFLOW, user=request.user
    )
    if not request.user.has_perm("partners.view_changerequest") and not workflow_holds_task(
        instance=workflow["workflow_instance"], user=request.user
    ):
        raise PermissionDenied
    partner = change_request.partner
    partner_url = (
        reverse("partners:my_profile")
        if request.user.is_partner_user
        else reverse("partners:partner_detail", kwargs={"key": selectors.partner_key(partner)})
    )
    return render(
        request,
        "partners/profile/change_request_detail.html",
        {
            "change_request": change_request,
            "partner": partner,
            "partner_url": partner_url,
            "rows": selectors.diff_rows(change_request.changes),
            **workflow,
        },
    )


# ---- Qualifications ---------------------------------------------------------------------


@login_required
def qualification_create(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.add_qualification")
    partner = _own_partner(request)
    form = QualificationForm(
        request.POST or None,
        request.FILES or None,
        requirements=selectors.qualification_requirements_open(partner=partner),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.qualification_add(
                actor=request.user,
                partner=partner,
                requirement=data["requirement"],
                name=data["name"],
                number=data["number"],
                issuer=data["issuer"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
                uploaded_file=data["attachment"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The qualification has been added."))
            return redirect("partners:my_profile")
    return render(
        request,
        "partners/profile/qualification_form.html",
        {"form": form, "partner": partner, "qualification": None},
    )


@login_required
def qualification_renew(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "partners.add_qualification")
    partner = _own_partner(request)
    qualification = _get_or_404(selectors.qualification_get_for, user=request.user, pk=pk)
    if qualification.partner_id != partner.pk:
        raise Http404
    form = QualificationRenewForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.qualification_renew(
                actor=request.user,
                qualification=qualification,
                number=data["number"],
                issuer=data["issuer"],
                issued_on=data["issued_on"],
                expires_on=data["expires_on"],
                uploaded_file=data["attachment"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The qualification has been renewed."))
            return redirect("partners:my_profile")
    return render(
        request,
        "partners/profile/qualification_form.html",
        {"form": form, "partner": partner, "qualification": qualification},
    )
