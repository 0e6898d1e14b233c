"""Writes of channels, outlets and development targets (R4 "Channels": channel
parameters, basic info, hierarchy; "Marketing management": development targets).

Rules:

- A channel is managed by a city or a county. Only a channel manager of that node or of
  a node above it may create or change it: the node must lie in the actor's subtree,
  and a channel outside it answers "not found".
- A channel run by a partner links an *active* partner the actor sees (partners
  selectors: managed in the actor's subtree).
- Channel parameters: the rebate share paid to the channel's promoters (0–100 %), the
  monthly development quota, the contact.
- A channel (or an outlet) is not deactivated while active promoters work there: the
  refusal says how many. Deactivating a channel deactivates its outlets.
- Development targets are per month × channel (× optional product), for active
  channels; setting a target again replaces the number.

Every change writes an audit event with ``{field: [old, new]}`` in its transaction.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from prm.accounts.models import OrgUnit
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.incentives.models import Channel, DevelopmentTarget, Outlet, Product, Promoter
from prm.incentives.selectors_channels import (
    CHANNEL_ORG_KINDS,
    channel_is_visible,
    channel_org_choices,
    channel_partner_choices,
)
from prm.partners.models import Partner

ADD_PERMISSION = "incentives.add_channel"
CHANGE_PERMISSION = "incentives.change_channel"
TARGET_PERMISSION = "incentives.change_developmenttarget"

CODE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,29}")
PHONE_PATTERN = re.compile(r"[0-9+\-() ]{5,20}")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")
MAX_QUOTA = 10_000_000
MAX_TARGET = 10_000_000

# The channel fields a create or an update may set (besides code).
CHANNEL_FIELDS = (
    "name",
    "kind",
    "org",
    "partner",
    "contact_name",
    "contact_phone",
    "address",
    "rebate_share_percent",
    "monthly_quota",
)


def refuse(code: str, message: str, *, field: str = "", status: int = 400) -> ApplicationError:
    """An :class:`ApplicationError` naming the form field it belongs to."""
    return ApplicationError(code, message, details={"field": field} if field else {}, status=status)


def require_permission(actor, permission: str) -> None:
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.has_perm(permission)
    ):
        raise Forbidden()


def _require_channel_visible(actor, channel: Channel) -> None:
    """Another city's channel answers "not found", as if it did not exist."""
    if not channel_is_visible(user=actor, channel=channel):
        raise NotFound()


def _audit(*, actor, action: str, target, changes: dict[str, Any], org: OrgUnit) -> None:
    audit_event_create(
        actor=actor,
        action=action,
        target=target,
        changes=changes,
        actor_username="system" if actor is None else "",
        org_path=org.path,
    )


# ---- Value checks shared by the form, the API and the import --------------------------


def _clean_code(value: Any, *, label: str) -> str:
    code = str(value or "").strip()
    if not CODE_PATTERN.fullmatch(code):
        raise refuse(
            "invalid_code",
            _("%(label)s: up to 30 letters, digits, dots, dashes or underscores.")
            % {"label": label},
            field="code",
        )
    return code


def _clean_text(value: Any, *, field: str, max_length: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise refuse("required", _("This value is required."), field=field)
    if len(text) > max_length:
        raise refuse(
            "too_long", _("At most %(max)s characters.") % {"max": max_length}, field=field
        )
    return text


def _clean_share(value: Any) -> Decimal:
    try:
        share = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        share = None
    if share is None or not share.is_finite() or share < 0 or share > HUNDRED:
        raise refuse(
            "invalid_share",
            _("The rebate share is a percentage from 0 to 100."),
            field="rebate_share_percent",
        )
    if share != share.quantize(CENT):
        raise refuse(
            "invalid_share",
            _("The rebate share has at most two decimal places."),
            field="rebate_share_percent",
        )
    return share.quantize(CENT)


def _clean_count(value: Any, *, field: str, maximum: int) -> int:
    try:
        number = int(str(value).strip())
        valid = str(value).strip().lstrip("+").isdigit()
    except (TypeError, ValueError):
        number, valid = -1, False
    if not valid or number < 0 or number > maximum:
        raise refuse(
            "invalid_number",
            _("Give a whole number from 0 to %(max)s.") % {"max": maximum},
            field=field,
        )
    return number


def _clean_org(actor, org: OrgUnit | None) -> OrgUnit:
    if org is None:
        raise refuse("required", _("This value is required."), field="org")
    if org.kind not in CHANNEL_ORG_KINDS:
        raise refuse(
            "channel_org_kind",
            _("A channel is managed by a city or a county branch."),
            field="org",
        )
    if not channel_org_choices(user=actor).filter(pk=org.pk).exists():
        raise refuse(
            "channel_org_out_of_scope",
            _("You can only manage channels of your own organisation or below it."),
            field="org",
        )
    return org


def _clean_partner(actor, partner: Partner | None) -> Partner | None:
    if partner is None:
        return None
    if not channel_partner_choices(user=actor).filter(pk=partner.pk).exists():
        raise refuse(
            "channel_partner_not_active",
            _("Link an active partner managed in your organisation."),
            field="partner",
        )
    return partner


def channel_values_clean(*, actor, values: dict[str, Any]) -> dict[str, Any]:
    """Check the channel fields given in ``values`` (a subset of ``CHANNEL_FIELDS``)."""
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name == "name":
            cleaned[name] = _clean_text(value, field=name, max_length=200, required=True)
        elif name == "kind":
            if value not in Channel.Kind.values:
                raise refuse("invalid_kind", _("Choose a channel type."), field="kind")
            cleaned[name] = value
        elif name == "org":
            cleaned[name] = _clean_org(actor, value)
        elif name == "partner":
            cleaned[name] = _clean_partner(actor, value)
        elif name == "contact_name":
            cleaned[name] = _clean_text(value, field=name, max_length=100)
        elif name == "contact_phone":
            phone = _clean_text(value, field=name, max_length=20)
            if phone and not PHONE_PATTERN.fullmatch(phone):
                raise refuse(
                    "invalid_phone",
                    _("A phone number is 5 to 20 digits, spaces, +, - or brackets."),
                    field=name,
                )
            cleaned[name] = phone
        elif name == "address":
            cleaned[name] = _clean_text(value, field=name, max_length=300)
        elif name == "rebate_share_percent":
            cleaned[name] = _clean_share(value)
        elif name == "monthly_quota":
            cleaned[name] = _clean_count(value, field=name, maximum=MAX_QUOTA)
        else:
            raise refuse("unknown_field", _("Unknown field %(name)s.") % {"name": name})
    return cleaned


def _audit_values(values: dict[str, Any]) -> dict[str, Any]:
    """Org and partner by code in the audit log (readable, stable)."""
    out = dict(values)
    if "org" in out:
        out["org"] = out["org"].code if out["org"] else None
    if "partner" in out:
        out["partner"] = out["partner"].code if out["partner"] else None
    return out


# ---- Channels -------------------------------------------------------------------------


@transaction.atomic
def channel_create(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    org: OrgUnit,
    partner: Partner | None = None,
    contact_name: str = "",
    contact_phone: str = "",
    address: str = "",
    rebate_share_percent: Any = HUNDRED,
    monthly_quota: Any = 0,
) -> Channel:
    """Create a channel under a city or county of the actor's subtree."""
    require_permission(actor, ADD_PERMISSION)
    code = _clean_code(code, label=_("Channel code"))
    values = channel_values_clean(
        actor=actor,
        values={
            "name": name,
            "kind": kind,
            "org": org,
            "partner": partner,
            "contact_name": contact_name,
            "contact_phone": contact_phone,
            "address": address,
            "rebate_share_percent": rebate_share_percent,
            "monthly_quota": monthly_quota,
        },
    )
    if Channel.objects.filter(code__iexact=code).exists():
        raise refuse(
            "channel_code_taken",
            _("A channel with the code %(code)s exists.") % {"code": code},
            field="code",
            status=409,
        )
    try:
        with transaction.atomic():
            channel = Channel.objects.create(code=code, **values)
    except IntegrityError as exc:  # a concurrent create of the same code
        raise refuse(
            "channel_code_taken",
            _("A channel with the code %(code)s exists.") % {"code": code},
            field="code",
            status=409,
        ) from exc
    _audit(
        actor=actor,
        action="channel.created",
        target=channel,
        changes={"code": code, **_audit_values(values)},
        org=channel.org,
    )
    return channel


def _locked_channel(actor, channel: Channel) -> Channel:
    _require_channel_visible(actor, channel)
    return (
        Channel.objects.select_for_update(of=("self",))
        .select_related("org", "partner")
        .get(pk=channel.pk)
    )


@transaction.atomic
def channel_update(*, actor, channel: Channel, **fields: Any) -> Channel:
    """Change a channel's basic info and parameters (any of ``CHANNEL_FIELDS``). Moving
    it to another node needs both nodes in the actor's subtree."""
    require_permission(actor, CHANGE_PERMISSION)
    channel = _locked_channel(actor, channel)
    values = channel_values_clean(actor=actor, values=fields)
    changes = field_changes(channel, values)
    if not changes:
        return channel
    for name in ("org", "partner"):
        if name in changes:
            old, new = getattr(channel, name), values[name]
            changes[name] = [old.code if old else None, new.code if new else None]
    for name, value in values.items():
        setattr(channel, name, value)
    channel.save(update_fields=[*values, "updated_at"])
    _audit(actor=actor, action="channel.updated", target=channel, changes=changes, org=channel.org)
    return channel


def _active_promoters_refusal(count: int, *, what: str) -> ApplicationError:
    if what == "channel":
        message = ngettext(
            "The channel still has %(count)s active promoter; move or disable them first.",
            "The channel still has %(count)s active promoters; move or disable them first.",
            count,
        )
    else:
        message = ngettext(
            "The outlet still has %(count)s active promoter; move or disable them first.",
            "The outlet still has %(count)s active promoters; move or disable them first.",
            count,
        )
    return ApplicationError(
        "active_promoters", message % {"count": count}, details={"count": count}, status=409
    )


@transaction.atomic
def channel_deactivate(*, actor, channel: Channel) -> Channel:
    """Close a channel (and its outlets). Refused while active promoters work there."""
    require_permission(actor, CHANGE_PERMISSION)
    channel = _locked_channel(actor, channel)
    if not channel.is_active:
        raise refuse("channel_inactive", _("The channel is already inactive."), status=409)
    count = Promoter.objects.filter(channel=channel, status=Promoter.Status.ACTIVE).count()
    if count:
        raise _active_promoters_refusal(count, what="channel")
    outlets = list(
        Outlet.objects.select_for_update(of=("self",))
        .filter(channel=channel, is_active=True)
        .order_by("code")
    )
    channel.is_active = False
    channel.save(update_fields=["is_active", "updated_at"])
    Outlet.objects.filter(pk__in=[outlet.pk for outlet in outlets]).update(is_active=False)
    _audit(
        actor=actor,
        action="channel.deactivated",
        target=channel,
        changes={
            "is_active": [True, False],
            "outlets_deactivated": [outlet.code for outlet in outlets],
        },
        org=channel.org,
    )
    return channel


@transaction.atomic
def channel_activate(*, actor, channel: Channel) -> Channel:
    """Open a closed channel again (its outlets stay closed until opened one by one)."""
    require_permission(actor, CHANGE_PERMISSION)
    channel = _locked_channel(actor, channel)
    if channel.is_active:
        raise refuse("channel_active", _("The channel is already active."), status=409)
    channel.is_active = True
    channel.save(update_fields=["is_active", "updated_at"])
    _audit(
        actor=actor,
        action="channel.activated",
        target=channel,
        changes={"is_active": [False, True]},
        org=channel.org,
    )
    return channel


# ---- Outlets --------------------------------------------------------------------------


def _outlet_values(*, name: Any, address: Any) -> dict[str, str]:
    return {
        "name": _clean_text(name, field="name", max_length=200, required=True),
        "address": _clean_text(address, field="address", max_length=300),
    }


@transaction.atomic
def outlet_create(*, actor, channel: Channel, code: str, name: str, address: str = "") -> Outlet:
    """Add an outlet (a hall, a store, a seat group) to an active channel."""
    require_permission(actor, CHANGE_PERMISSION)
    channel = _locked_channel(actor, channel)
    if not channel.is_active:
        raise refuse(
            "channel_inactive", _("Outlets are added to active channels only."), status=409
        )
    code = _clean_code(code, label=_("Outlet code"))
    values = _outlet_values(name=name, address=address)
    if Outlet.objects.filter(code__iexact=code).exists():
        raise refuse(
            "outlet_code_taken",
            _("An outlet with the code %(code)s exists.") % {"code": code},
            field="code",
            status=409,
        )
    try:
        with transaction.atomic():
            outlet = Outlet.objects.create(channel=channel, code=code, **values)
    except IntegrityError as exc:  # a concurrent create of the same code
        raise refuse(
            "outlet_code_taken",
            _("An outlet with the code %(code)s exists.") % {"code": code},
            field="code",
            status=409,
        ) from exc
    _audit(
        actor=actor,
        action="outlet.created",
        target=outlet,
        changes={"code": code, "channel": channel.code, **values},
        org=channel.org,
    )
    return outlet


def _locked_outlet(actor, outlet: Outlet) -> Outlet:
    _require_channel_visible(actor, outlet.channel)
    return (
        Outlet.objects.select_for_update(of=("self",))
        .select_related("channel__org")
        .get(pk=outlet.pk)
    )


@transaction.atomic
def outlet_update(*, actor, outlet: Outlet, name: str, address: str = "") -> Outlet:
    require_permission(actor, CHANGE_PERMISSION)
    outlet = _locked_outlet(actor, outlet)
    values = _outlet_values(name=name, address=address)
    changes = field_changes(outlet, values)
    if not changes:
        return outlet
    for field, value in values.items():
        setattr(outlet, field, value)
    outlet.save(update_fields=[*values, "updated_at"])
    _audit(
        actor=actor, action="outlet.updated", target=outlet, changes=changes, org=outlet.channel.org
    )
    return outlet


@transaction.atomic
def outlet_deactivate(*, actor, outlet: Outlet) -> Outlet:
    """Close an outlet. Refused while active promoters work there."""
    require_permission(actor, CHANGE_PERMISSION)
    outlet = _locked_outlet(actor, outlet)
    if not outlet.is_active:
        raise refuse("outlet_inactive", _("The outlet is already inactive."), status=409)
    count = Promoter.objects.filter(outlet=outlet, status=Promoter.Status.ACTIVE).count()
    if count:
        raise _active_promoters_refusal(count, what="outlet")
    outlet.is_active = False
    outlet.save(update_fields=["is_active", "updated_at"])
    _audit(
        actor=actor,
        action="outlet.deactivated",
        target=outlet,
        changes={"is_active": [True, False]},
        org=outlet.channel.org,
    )
    return outlet


@transaction.atomic
def outlet_activate(*, actor, outlet: Outlet) -> Outlet:
    """Open a closed outlet again; its channel must be active."""
    require_permission(actor, CHANGE_PERMISSION)
    outlet = _locked_outlet(actor, outlet)
    if outlet.is_active:
        raise refuse("outlet_active", _("The outlet is already active."), status=409)
    if not outlet.channel.is_active:
        raise refuse(
            "channel_inactive",
            _("Open the channel first: its outlets cannot be active while it is closed."),
            status=409,
        )
    outlet.is_active = True
    outlet.save(update_fields=["is_active", "updated_at"])
    _audit(
        actor=actor,
        action="outlet.activated",
        target=outlet,
        changes={"is_active": [False, True]},
        org=outlet.channel.org,
    )
    return outlet


# ---- Development targets --------------------------------------------------------------


@transaction.atomic
def target_set(
    *, actor, month: date, channel: Channel, product: Product | None = None, target: Any
) -> DevelopmentTarget:
    """Set the development target of a channel (optionally for one product) for a month
    (R4 marketing management). Setting it again replaces the number."""
    require_permission(actor, TARGET_PERMISSION)
    channel = _locked_channel(actor, channel)
    if not channel.is_active:
        raise refuse(
            "channel_inactive",
            _("Targets are set for active channels only."),
            field="channel",
            status=409,
        )
    if product is not None and not product.is_active:
        raise refuse(
            "product_inactive",
            _("The product %(code)s is not open for recommendation.") % {"code": product.code},
            field="product",
        )
    number = _clean_count(target, field="target", maximum=MAX_TARGET)
    month = month.replace(day=1)
    existing = (
        DevelopmentTarget.objects.select_for_update(of=("self",))
        .filter(month=month, channel=channel, product=product)
        .first()
    )
    context = {
        "month": month.strftime("%Y-%m"),
        "channel": channel.code,
        "product": product.code if product else None,
    }
    if existing is None:
        existing = DevelopmentTarget.objects.create(
            month=month, channel=channel, product=product, target=number
        )
        _audit(
            actor=actor,
            action="development_target.created",
            target=existing,
            changes={**context, "target": number},
            org=channel.org,
        )
    elif existing.target != number:
        old = existing.target
        existing.target = number
        existing.save(update_fields=["target", "updated_at"])
        _audit(
            actor=actor,
            action="development_target.updated",
            target=existing,
            changes={**context, "target": [old, number]},
            org=channel.org,
        )
    return existing
