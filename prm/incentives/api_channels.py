"""API: channels and their outlets (/api/v1/incentives/channels…, R4 "Channels").

Channels are addressed by code. Reads need ``incentives.view_channel`` (token scope
``incentives.read``); creating ``add_channel``, changing ``change_channel``
(``incentives.write``). A channel outside the caller's org subtree answers 404; the
list holds the total in ``X-Total-Count``. Closing and reopening a channel are explicit
actions (``POST …/deactivate``, ``…/activate``): closing is refused while active
promoters work there.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema, Status

from prm.accounts.selectors import org_unit_list
from prm.api import ErrorOut, paginate, require_permission
from prm.core.exceptions import ApplicationError, NotFound
from prm.incentives import selectors_channels as selectors
from prm.incentives.models import Channel, Outlet
from prm.incentives.services import channels as services

router = Router(tags=["incentives"])

READ_SCOPE = "incentives.read"
WRITE_SCOPE = "incentives.write"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class OrgRef(Schema):
    code: str
    name: str


class PartnerRef(Schema):
    code: str
    company_name: str


class ChannelOut(Schema):
    code: str
    name: str
    kind: str = Field(description="own_hall, cooperative_hall, handset_store, …")
    org: OrgRef = Field(description="The managing operator node (city or county)")
    partner: PartnerRef | None
    contact_name: str
    contact_phone: str
    address: str
    rebate_share_percent: Decimal
    monthly_quota: int
    is_active: bool
    outlet_count: int = Field(description="Active outlets")
    promoter_count: int = Field(description="Active promoters")
    updated_at: datetime


class ChannelFilters(Schema):
    q: str | None = Field(None, description="Code or name contains")
    kind: str | None = None
    org: str | None = Field(None, description="Org unit code: channels of its subtree")
    active: bool | None = None
    offset: int = Field(0, ge=0)
    limit: int = Field(50, ge=1, le=500)


class ChannelIn(Schema):
    code: str = Field(min_length=1, max_length=30)
    name: str = Field(min_length=1, max_length=200)
    kind: str
    org: str = Field(description="Org unit code of a city or county in your subtree")
    partner: str | None = Field(None, description="Partner code (an active partner)")
    contact_name: str = ""
    contact_phone: str = ""
    address: str = ""
    rebate_share_percent: Decimal = Decimal("100")
    monthly_quota: int = 0


class ChannelPatch(Schema):
    name: str | None = None
    kind: str | None = None
    org: str | None = Field(None, description="Org unit code")
    partner: str | None = Field(None, description="Partner code; null unlinks the partner")
    contact_name: str | None = None
    contact_phone: str | None = None
    address: str | None = None
    rebate_share_percent: Decimal | None = None
    monthly_quota: int | None = None


class OutletOut(Schema):
    code: str
    name: str
    address: str
    is_active: bool
    promoter_count: int = Field(description="Active promoters")


def channel_out(channel: Channel) -> dict:
    """A channel of ``channel_list_filtered`` (with its counts) as ``ChannelOut``."""
    return {
        "code": channel.code,
        "name": channel.name,
        "kind": channel.kind,
        "org": {"code": channel.org.code, "name": channel.org.name},
        "partner": (
            {"code": channel.partner.code, "company_name": channel.partner.company_name}
            if channel.partner
            else None
        ),
        "contact_name": channel.contact_name,
        "contact_phone": channel.contact_phone,
        "address": channel.address,
        "rebate_share_percent": channel.rebate_share_percent,
        "monthly_quota": channel.monthly_quota,
        "is_active": channel.is_active,
        "outlet_count": channel.outlet_count,
        "promoter_count": channel.promoter_count,
        "updated_at": channel.updated_at,
    }


def _one(request, code: str) -> dict:
    channel = selectors.channel_list_filtered(user=request.user).filter(code=code).first()
    if channel is None:
        raise NotFound()
    return channel_out(channel)


def _org(request, code: str | None):
    """An org unit of the caller's subtree by code (the service checks its kind)."""
    org = org_unit_list(user=request.user).filter(code=code).first() if code else None
    if org is None:
        raise ApplicationError(
            "channel_org_out_of_scope",
            gettext("No org unit with code %(code)s in your scope.") % {"code": code or ""},
            details={"field": "org"},
        )
    return org


def _partner(request, code: str | None):
    if not code:
        return None
    partner = selectors.channel_partner_choices(user=request.user).filter(code=code).first()
    if partner is None:
        raise ApplicationError(
            "channel_partner_not_active",
            gettext("Link an active partner managed in your organisation."),
            details={"field": "partner"},
        )
    return partner


@router.get(
    "/channels",
    response={200: list[ChannelOut], **ERRORS},
    summary="Channels managed in the caller's subtree (X-Total-Count holds the total)",
)
def channel_list(request, response: HttpResponse, filters: Query[ChannelFilters]):
    require_permission(request, "incentives.view_channel", scope=READ_SCOPE)
    channels = selectors.channel_list_filtered(
        user=request.user, filters=filters.model_dump(exclude={"offset", "limit"})
    )
    page = paginate(channels, response=response, offset=filters.offset, limit=filters.limit)
    return [channel_out(channel) for channel in page]


@router.post("/channels", response={201: ChannelOut, **ERRORS}, summary="Create a channel")
def channel_create(request, payload: ChannelIn):
    require_permission(request, services.ADD_PERMISSION, scope=WRITE_SCOPE)
    channel = services.channel_create(
        actor=request.user,
        code=payload.code,
        name=payload.name,
        kind=payload.kind,
        org=_org(request, payload.org),
        partner=_partner(request, payload.partner),
        contact_name=payload.contact_name,
        contact_phone=payload.contact_phone,
        address=payload.address,
        rebate_share_percent=payload.rebate_share_percent,
        monthly_quota=payload.monthly_quota,
    )
    return Status(201, _one(request, channel.code))


@router.get("/channels/{code}", response={200: ChannelOut, **ERRORS}, summary="One channel")
def channel_detail(request, code: str):
    require_permission(request, "incentives.view_channel", scope=READ_SCOPE)
    return _one(request, code)


@router.patch(
    "/channels/{code}",
    response={200: ChannelOut, **ERRORS},
    summary="Change a channel's basic info and parameters (only the fields given)",
)
def channel_update(request, code: str, payload: ChannelPatch):
    require_permission(request, services.CHANGE_PERMISSION, scope=WRITE_SCOPE)
    channel = selectors.channel_get_for(user=request.user, code=code)
    fields = payload.model_dump(exclude_unset=True)
    if "org" in fields:
        fields["org"] = _org(request, fields["org"])
    if "partner" in fields:
        fields["partner"] = _partner(request, fields["partner"])
    for name in ("name", "kind", "rebate_share_percent", "monthly_quota"):
        if name in fields and fields[name] is None:
            fields.pop(name)
    services.channel_update(actor=request.user, channel=channel, **fields)
    return _one(request, code)


@router.post(
    "/channels/{code}/deactivate",
    response={200: ChannelOut, **ERRORS},
    summary="Close a channel and its outlets (refused while active promoters work there)",
)
def channel_deactivate(request, code: str):
    require_permission(request, services.CHANGE_PERMISSION, scope=WRITE_SCOPE)
    channel = selectors.channel_get_for(user=request.user, code=code)
    services.channel_deactivate(actor=request.user, channel=channel)
    return _one(request, code)


@router.post(
    "/channels/{code}/activate",
    response={200: ChannelOut, **ERRORS},
    summary="Open a closed channel again",
)
def channel_activate(request, code: str):
    require_permission(request, services.CHANGE_PERMISSION, scope=WRITE_SCOPE)
    channel = selectors.channel_get_for(user=request.user, code=code)
    services.channel_activate(actor=request.user, channel=channel)
    return _one(request, code)


@router.get(
    "/channels/{code}/outlets",
    response={200: list[OutletOut], **ERRORS},
    summary="The outlets of a channel",
)
def outlet_list(request, code: str, active: bool | None = None):
    require_permission(request, "incentives.view_channel", scope=READ_SCOPE)
    channel = selectors.channel_get_for(user=request.user, code=code)
    return [
        _outlet_out(outlet) for outlet in selectors.outlet_list_for(channel=channel, active=active)
    ]


def _outlet_out(outlet: Outlet) -> dict:
    return {
        "code": outlet.code,
        "name": outlet.name,
        "address": outlet.address,
        "is_active": outlet.is_active,
        "promoter_count": outlet.promoter_count,
    }
