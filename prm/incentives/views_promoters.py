"""Promoter pages (R4): the public internet registration form, the intranet form, the
staff list and detail (with the approval panel), edit, disable/enable, and the
call-centre seat synchronisation.

Each view parses input, checks the permission, calls one selector or service and
renders. A promoter outside the user's scope answers 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.forms import form_add_application_error
from prm.core.middleware import client_ip
from prm.core.pages import is_htmx_partial, page, query_without_page
from prm.core.workflow import workflow_document_context
from prm.incentives import selectors_promoters as selectors
from prm.incentives.adapters.callcentre import seats_source_configured
from prm.incentives.constants import PROMOTER_WORKFLOW
from prm.incentives.forms_promoters import (
    PromoterEditForm,
    PromoterFilterForm,
    ReasonForm,
    RegistrationForm,
    RegistrationOptionsForm,
)
from prm.incentives.forms_promoters import SeatSyncForm as SeatSyncRunForm
from prm.incentives.models import Promoter
from prm.incentives.selectors import promoters_visible
from prm.incentives.services.promoters import (
    promoter_disable,
    promoter_enable,
    promoter_register,
    promoter_registration_rate_limit,
    promoter_update,
)
from prm.incentives.services.seats import seats_sync

PAGE_SIZE = 50
VIEW = "incentives.view_promoter"
ADD = "incentives.add_promoter"
CHANGE = "incentives.change_promoter"
SYNC = "incentives.sync_seats"
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def _change_text(value) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def _history(promoter: Promoter) -> list:
    """The promoter's audit events with their changes as short lines (``field: old → new``)."""
    events = list(selectors.promoter_history(promoter=promoter).select_related("actor"))
    for event in events:
        lines = []
        for field, value in (event.changes or {}).items():
            if isinstance(value, list) and len(value) == 2:
                lines.append(f"{field}: {_change_text(value[0])} → {_change_text(value[1])}")
            else:
                lines.append(f"{field}: {_change_text(value)}")
        event.change_lines = lines
    return events


def _register_values(form: RegistrationForm) -> dict:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "msisdn": data["msisdn"],
        "kind": data["kind"],
        "city_code": data["city"],
        "channel_code": data.get("channel") or "",
        "outlet_code": data.get("outlet") or "",
        "bank_name": data["bank_name"],
        "bank_account": data["bank_account"],
        "email": data.get("email") or "",
    }


# ---- Registration ---------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def promoter_register_internet(request: HttpRequest) -> HttpResponse:
    """The public registration of telemarketers and ordinary promoters (R4: through the
    internet); anonymous, rate-limited per client address."""
    form = RegistrationForm(
        request.POST or None,
        path=Promoter.Path.INTERNET,
        cities=selectors.registration_cities(user=None),
    )
    status = 200
    if request.method == "POST":
        try:
            promoter_registration_rate_limit(client_ip=client_ip(request))
        except ApplicationError as exc:
            form.is_valid()
            form.add_error(None, str(exc.message))
            status = exc.status
        else:
            if form.is_valid():
                try:
                    promoter_register(
                        path=Promoter.Path.INTERNET, actor=None, **_register_values(form)
                    )
                except ApplicationError as exc:
                    form_add_application_error(form, exc)
                else:
                    return redirect("incentives:promoter_register_done")
    context = {"form": form, "path": Promoter.Path.INTERNET}
    return render(request, "incentives/promoters/register.html", context, status=status)


@never_cache
@require_GET
def promoter_register_done(request: HttpRequest) -> HttpResponse:
    return render(request, "incentives/promoters/register_done.html")


@require_GET
def promoter_register_options(request: HttpRequest) -> HttpResponse:
    """The channel and outlet selects of the chosen city (htmx, both forms)."""
    user = request.user if request.GET.get("path") == Promoter.Path.INTRANET else None
    if user is not None and not (user.is_authenticated and user.has_perm(ADD)):
        user = None
    city = selectors.registration_city(code=request.GET.get("city", ""), user=user)
    form = RegistrationOptionsForm(city=city)
    return render(request, "incentives/promoters/_register_options.html", {"form": form})


@page(ADD)
@require_http_methods(["GET", "POST"])
def promoter_register_intranet(request: HttpRequest) -> HttpResponse:
    """Operator staff register hall clerks and call-centre agents (R4: through the
    intranet), themselves included."""
    cities = selectors.registration_cities(user=request.user)
    initial = {}
    if not request.POST and cities.count() == 1:
        initial["city"] = cities.first().code
    form = RegistrationForm(
        request.POST or None,
        path=Promoter.Path.INTRANET,
        cities=cities,
        user=request.user,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            promoter = promoter_register(
                path=Promoter.Path.INTRANET, actor=request.user, **_register_values(form)
            )
        except ApplicationError as exc:
            if isinstance(exc, Forbidden):
                raise
            form_add_application_error(form, exc)
        else:
            messages.success(
                request,
                _("The registration of %(name)s was sent to the city admin for approval.")
                % {"name": promoter.name},
            )
            if promoters_visible(user=request.user).filter(pk=promoter.pk).exists():
                return redirect("incentives:promoter_detail", public_id=promoter.public_id)
            return redirect("incentives:promoter_register_intranet")
    context = {"form": form, "path": Promoter.Path.INTRANET}
    return render(request, "incentives/promoters/register.html", context)


# ---- Staff list and detail -------------------------------------------------------------------


@page(VIEW)
def promoter_list(request: HttpRequest) -> HttpResponse:
    form = PromoterFilterForm(request.GET or None, user=request.user)
    form.is_valid()
    filters = getattr(form, "cleaned_data", {})
    promoters = selectors.promoter_list(user=request.user, filters=filters)
    context = {
        "form": form,
        "page": Paginator(promoters, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_register": request.user.has_perm(ADD),
    }
    template = (
        "incentives/promoters/_table.html"
        if is_htmx_partial(request)
        else "incentives/promoters/list.html"
    )
    return render(request, template, context)


@page(VIEW)
def promoter_detail(request: HttpRequest, public_id) -> HttpResponse:
    promoter = selectors.promoter_get_for(user=request.user, key=str(public_id))
    workflow = workflow_document_context(
        target=promoter, definition_code=PROMOTER_WORKFLOW, user=request.user
    )
    can_change = request.user.has_perm(CHANGE)
    context = {
        "promoter": promoter,
        "history": _history(promoter),
        "recommendation_count": selectors.promoter_recommendation_count(promoter=promoter),
        "can_edit": can_change and promoter.status != Promoter.Status.REJECTED,
        "can_disable": can_change and promoter.status == Promoter.Status.ACTIVE,
        "can_enable": can_change and promoter.status == Promoter.Status.DISABLED,
        "reason_form": ReasonForm(),
        **workflow,
    }
    return render(request, "incentives/promoters/detail.html", context)


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def promoter_edit(request: HttpRequest, public_id) -> HttpResponse:
    promoter = selectors.promoter_get_for(user=request.user, key=str(public_id))
    initial = {
        "bank_name": promoter.bank_name,
        "bank_account": promoter.bank_account,
        "channel": promoter.channel.code if promoter.channel_id else "",
        "outlet": promoter.outlet.code if promoter.outlet_id else "",
    }
    form = PromoterEditForm(request.POST or None, initial=initial, city=promoter.org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            promoter_update(
                actor=request.user,
                promoter=promoter,
                bank_name=data["bank_name"],
                bank_account=data["bank_account"],
                channel_code=data.get("channel") or "",
                outlet_code=data.get("outlet") or "",
            )
        except ApplicationError as exc:
            if isinstance(exc, (NotFound, Forbidden)):
                raise
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The promoter was saved."))
            return redirect("incentives:promoter_detail", public_id=promoter.public_id)
    return render(request, "incentives/promoters/edit.html", {"form": form, "promoter": promoter})


@page(CHANGE)
@require_POST
def promoter_disable_view(request: HttpRequest, public_id) -> HttpResponse:
    promoter = selectors.promoter_get_for(user=request.user, key=str(public_id))
    form = ReasonForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        promoter_disable(actor=request.user, promoter=promoter, reason=reason)
    except ApplicationError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The promoter and their login were disabled."))
    return redirect("incentives:promoter_detail", public_id=promoter.public_id)


@page(CHANGE)
@require_POST
def promoter_enable_view(request: HttpRequest, public_id) -> HttpResponse:
    promoter = selectors.promoter_get_for(user=request.user, key=str(public_id))
    try:
        promoter_enable(actor=request.user, promoter=promoter)
    except ApplicationError as exc:
        if isinstance(exc, (NotFound, Forbidden)):
            raise
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The promoter and their login were enabled."))
    return redirect("incentives:promoter_detail", public_id=promoter.public_id)


# ---- Seat synchronisation ------------------------------------------------------------------


@page(SYNC)
@require_http_methods(["GET", "POST"])
def seat_sync_list(request: HttpRequest) -> HttpResponse:
    """Run a synchronisation (the configured feed or an uploaded file) and see past ones."""
    form = SeatSyncRunForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        org = selectors.seat_sync_orgs(user=request.user).get(code=form.cleaned_data["org"])
        upload = form.cleaned_data.get("upload")
        if upload is not None and upload.size > MAX_UPLOAD_BYTES:
            form.add_error("upload", _("The seat file is too large."))
        else:
            try:
                sync = seats_sync(
                    actor=request.user,
                    org=org,
                    upload=(upload.name, upload.read()) if upload is not None else None,
                )
            except ApplicationError as exc:
                if isinstance(exc, (NotFound, Forbidden)):
                    raise
                form_add_application_error(form, exc)
            else:
                if sync.status == sync.Status.SUCCEEDED:
                    messages.success(
                        request,
                        _(
                            "Seats synchronised: %(created)d created, %(updated)d updated, "
                            "%(disabled)d disabled."
                        )
                        % {
                            "created": sync.created_count,
                            "updated": sync.updated_count,
                            "disabled": sync.disabled_count,
                        },
                    )
                else:
                    messages.error(
                        request,
                        _("The seat feed was rejected; nothing was changed. See the errors."),
                    )
                return redirect("incentives:seat_sync_detail", pk=sync.pk)
    syncs = selectors.seat_sync_list(user=request.user)
    context = {
        "form": form,
        "page": Paginator(syncs, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "source_configured": bool(seats_source_configured()),
    }
    return render(request, "incentives/promoters/seats.html", context)


@page(SYNC)
def seat_sync_detail(request: HttpRequest, pk: int) -> HttpResponse:
    sync = selectors.seat_sync_get_for(user=request.user, pk=pk)
    return render(request, "incentives/promoters/seat_sync_detail.html", {"sync": sync})


__all__ = [
    "promoter_detail",
    "promoter_disable_view",
    "promoter_edit",
    "promoter_enable_view",
    "promoter_list",
    "promoter_register_done",
    "promoter_register_internet",
    "promoter_register_intranet",
    "promoter_register_options",
    "seat_sync_detail",
    "seat_sync_list",
]
