"""Pages of channels, outlets, the channel hierarchy and development targets (R4).

Each view parses input, checks the permission, calls one selector or service and
renders. A channel outside the user's org subtree answers 404, a missing permission
403. Channels and outlets are addressed by their codes.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.forms import form_add_application_error
from prm.core.imports import FORMATS, import_spec_get
from prm.core.pages import is_htmx_partial, page, query_without_page
from prm.incentives import selectors_channels as selectors
from prm.incentives.forms_channels import (
    ChannelFilterForm,
    ChannelForm,
    OutletForm,
    TargetFilterForm,
    TargetForm,
)
from prm.incentives.imports_channels import (
    CHANNEL_IMPORT_KIND,
    OUTLET_IMPORT_KIND,
    TARGET_IMPORT_KIND,
)
from prm.incentives.services import channels as services

PAGE_SIZE = 50
VIEW = "incentives.view_channel"
ADD = services.ADD_PERMISSION
CHANGE = services.CHANGE_PERMISSION
VIEW_TARGETS = "incentives.view_developmenttarget"


def import_kinds_for(user, *kinds: str) -> list:
    """The import specs among ``kinds`` the user may use (for the import/export links)."""
    specs = [import_spec_get(kind) for kind in kinds]
    return [spec for spec in specs if spec is not None and spec.user_may_import(user)]


def _flash_refusal(request: HttpRequest, exc: ApplicationError) -> None:
    if isinstance(exc, (NotFound, Forbidden)):
        raise exc
    messages.error(request, str(exc.message))


# ---- Channels -------------------------------------------------------------------------


@page(VIEW)
def channel_list(request: HttpRequest) -> HttpResponse:
    form = ChannelFilterForm(request.GET or None, user=request.user)
    channels = selectors.channel_list_filtered(user=request.user, filters=form.filters())
    context = {
        "form": form,
        "page": Paginator(channels, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_create": request.user.has_perm(ADD),
        "import_specs": import_kinds_for(request.user, CHANNEL_IMPORT_KIND, OUTLET_IMPORT_KIND),
        "formats": FORMATS,
    }
    if is_htmx_partial(request):
        return render(request, "incentives/channels/_table.html", context)
    return render(request, "incentives/channels/list.html", context)


def _channel_form_values(form: ChannelForm) -> dict:
    return dict(form.cleaned_data)


@page(ADD)
@require_http_methods(["GET", "POST"])
def channel_create(request: HttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                channel = services.channel_create(actor=request.user, **_channel_form_values(form))
            except ApplicationError as exc:
                if isinstance(exc, (NotFound, Forbidden)):
                    raise
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request, _("The channel %(code)s was created.") % {"code": channel.code}
                )
                return redirect("incentives:channel_detail", code=channel.code)
        status = 400
    return render(
        request, "incentives/channels/form.html", {"form": form, "channel": None}, status=status
    )


@page(VIEW)
def channel_detail(request: HttpRequest, code: str) -> HttpResponse:
    channel = selectors.channel_get_for(user=request.user, code=code)
    summary = selectors.channel_summary(user=request.user, channel=channel)
    can_change = request.user.has_perm(CHANGE)
    context = {
        "channel": channel,
        "summary": summary,
        "can_change": can_change,
        "can_view_targets": request.user.has_perm(VIEW_TARGETS),
    }
    return render(request, "incentives/channels/detail.html", context)


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, code: str) -> HttpResponse:
    channel = selectors.channel_get_for(user=request.user, code=code)
    initial = {name: getattr(channel, name) for name in services.CHANNEL_FIELDS}
    form = ChannelForm(request.POST or None, user=request.user, with_code=False, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.channel_update(
                    actor=request.user, channel=channel, **_channel_form_values(form)
                )
            except ApplicationError as exc:
                if isinstance(exc, (NotFound, Forbidden)):
                    raise
                form_add_application_error(form, exc)
            else:
                messages.success(request, _("The channel was saved."))
                return redirect("incentives:channel_detail", code=channel.code)
        status = 400
    return render(
        request,
        "incentives/channels/form.html",
        {"form": form, "channel": channel},
        status=status,
    )


@page(CHANGE)
@require_POST
def channel_deactivate(request: HttpRequest, code: str) -> HttpResponse:
    channel = selectors.channel_get_for(user=request.user, code=code)
    try:
        services.channel_deactivate(actor=request.user, channel=channel)
    except ApplicationError as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(request, _("The channel was deactivated."))
    return redirect("incentives:channel_detail", code=channel.code)


@page(CHANGE)
@require_POST
def channel_activate(request: HttpRequest, code: str) -> HttpResponse:
    channel = selectors.channel_get_for(user=request.user, code=code)
    try:
        services.channel_activate(actor=request.user, channel=channel)
    except ApplicationError as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(request, _("The channel is active again."))
    return redirect("incentives:channel_detail", code=channel.code)


@page(VIEW)
def channel_hierarchy(request: HttpRequest, code: str) -> HttpResponse:
    """Channel → outlet → staff. Promoter names need ``view_promoter``; without it the
    page shows the counts only."""
    channel = selectors.channel_get_for(user=request.user, code=code)
    include_inactive = request.GET.get("all") == "1"
    context = {
        "channel": channel,
        "hierarchy": selectors.channel_hierarchy(
            channel=channel, include_inactive=include_inactive
        ),
        "include_inactive": include_inactive,
        "can_view_staff": request.user.has_perm("incentives.view_promoter"),
    }
    return render(request, "incentives/channels/hierarchy.html", context)


# ---- Outlets --------------------------------------------------------------------------


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def outlet_create(request: HttpRequest, code: str) -> HttpResponse:
    channel = selectors.channel_get_for(user=request.user, code=code)
    form = OutletForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                outlet = services.outlet_create(
                    actor=request.user, channel=channel, **form.cleaned_data
                )
            except ApplicationError as exc:
                if isinstance(exc, (NotFound, Forbidden)):
                    raise
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request, _("The outlet %(code)s was added.") % {"code": outlet.code}
                )
                return redirect("incentives:channel_detail", code=channel.code)
        status = 400
    return render(
        request,
        "incentives/channels/outlet_form.html",
        {"form": form, "channel": channel, "outlet": None},
        status=status,
    )


@page(CHANGE)
@require_http_methods(["GET", "POST"])
def outlet_edit(request: HttpRequest, code: str) -> HttpResponse:
    outlet = selectors.outlet_get_for(user=request.user, code=code)
    initial = {"name": outlet.name, "address": outlet.address}
    form = OutletForm(request.POST or None, with_code=False, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.outlet_update(actor=request.user, outlet=outlet, **form.cleaned_data)
            except ApplicationError as exc:
                if isinstance(exc, (NotFound, Forbidden)):
                    raise
                form_add_application_error(form, exc)
            else:
                messages.success(request, _("The outlet was saved."))
                return redirect("incentives:channel_detail", code=outlet.channel.code)
        status = 400
    return render(
        request,
        "incentives/channels/outlet_form.html",
        {"form": form, "channel": outlet.channel, "outlet": outlet},
        status=status,
    )


@page(CHANGE)
@require_POST
def outlet_deactivate(request: HttpRequest, code: str) -> HttpResponse:
    outlet = selectors.outlet_get_for(user=request.user, code=code)
    try:
        services.outlet_deactivate(actor=request.user, outlet=outlet)
    except ApplicationError as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(request, _("The outlet was deactivated."))
    return redirect("incentives:channel_detail", code=outlet.channel.code)


@page(CHANGE)
@require_POST
def outlet_activate(request: HttpRequest, code: str) -> HttpResponse:
    outlet = selectors.outlet_get_for(user=request.user, code=code)
    try:
        services.outlet_activate(actor=request.user, outlet=outlet)
    except ApplicationError as exc:
        _flash_refusal(request, exc)
    else:
        messages.success(request, _("The outlet is active again."))
    return redirect("incentives:channel_detail", code=outlet.channel.code)


# ---- Development targets --------------------------------------------------------------


@page(VIEW_TARGETS)
def target_list(request: HttpRequest) -> HttpResponse:
    form = TargetFilterForm(request.GET or None)
    filters = form.filters()
    channel_code = filters.get("channel")
    if channel_code:
        # Another city's channel answers 404, as on its own page.
        selectors.channel_get_for(user=request.user, code=channel_code)
    targets = selectors.target_list_filtered(user=request.user, filters=filters)
    context = {
        "form": form,
        "page": Paginator(targets, PAGE_SIZE).get_page(request.GET.get("page")),
        "query": query_without_page(request),
        "can_set": request.user.has_perm(services.TARGET_PERMISSION),
        "import_specs": import_kinds_for(request.user, TARGET_IMPORT_KIND),
        "formats": FORMATS,
    }
    if is_htmx_partial(request):
        return render(request, "incentives/channels/_target_table.html", context)
    return render(request, "incentives/channels/targets.html", context)


@page(services.TARGET_PERMISSION)
@require_http_methods(["GET", "POST"])
def target_set(request: HttpRequest) -> HttpResponse:
    initial = {"month": timezone.localdate().replace(day=1)}
    channel_code = request.GET.get("channel")
    if channel_code:
        initial["channel"] = selectors.channel_get_for(user=request.user, code=channel_code)
    form = TargetForm(request.POST or None, user=request.user, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                target = services.target_set(actor=request.user, **form.cleaned_data)
            except ApplicationError as exc:
                if isinstance(exc, (NotFound, Forbidden)):
                    raise
                form_add_application_error(form, exc)
            else:
                messages.success(
                    request,
                    _("The target of %(channel)s for %(month)s is %(target)s.")
                    % {
                        "channel": target.channel.code,
                        "month": target.month.strftime("%Y-%m"),
                        "target": target.target,
                    },
                )
                return redirect(
                    f"{reverse('incentives:target_list')}?channel={target.channel.code}"
                )
        status = 400
    return render(request, "incentives/channels/target_form.html", {"form": form}, status=status)
