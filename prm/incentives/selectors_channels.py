"""Reads of channels, outlets and development targets (R4 "Channels", "Marketing
management: development targets").

Operator staff see the channels managed in their org subtree (``channels_visible``);
outlets and targets follow their channel. Promoters are listed only as the staff of a
channel's outlets (the promoter concern owns them); they are reached through the
channel, so a county user sees the staff of the county's channels even though the
promoters belong to the approving city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from prm.accounts.models import OrgUnit
from prm.accounts.selectors import org_unit_list
from prm.core.exceptions import NotFound
from prm.incentives.models import Channel, DevelopmentTarget, Outlet, Promoter
from prm.incentives.selectors import channels_visible
from prm.partners.models import Partner
from prm.partners.selectors import partners_visible

# A channel is managed by a city or a county (model docstring; settlement runs per city).
CHANNEL_ORG_KINDS = (OrgUnit.Kind.CITY, OrgUnit.Kind.COUNTY)
TRUE_WORDS = frozenset({"1", "true", "yes", "on", "active"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", "inactive"})


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def flag_value(value: Any) -> bool | None:
    """``True``/``False`` from a filter value (``1``/``0``, ``true``/``false``), else None."""
    if isinstance(value, bool):
        return value
    text = _text(value).casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    return None


def _count_subquery(queryset: QuerySet, field: str) -> Coalesce:
    """A correlated ``COUNT(*)`` (one SQL statement for a whole list page)."""
    counted = (
        queryset.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(total=Count("pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _active_promoters() -> QuerySet[Promoter]:
    return Promoter.objects.filter(status=Promoter.Status.ACTIVE)


# ---- Channels -------------------------------------------------------------------------


def channel_list_filtered(*, user, filters: dict[str, Any] | None = None) -> QuerySet[Channel]:
    """The user's channels with ``outlet_count`` and ``promoter_count`` (active ones).

    ``filters`` (the same keys in the UI and the API): ``q`` (code or name contains),
    ``kind``, ``org`` (an org unit code: channels of its subtree; a code outside the
    user's scope matches nothing), ``active`` (``1``/``0``).
    """
    filters = filters or {}
    channels = (
        channels_visible(user=user)
        .select_related("org", "partner")
        .annotate(
            outlet_count=_count_subquery(Outlet.objects.filter(is_active=True), "channel"),
            promoter_count=_count_subquery(_active_promoters(), "channel"),
        )
    )
    q = _text(filters.get("q"))
    if q:
        channels = channels.filter(Q(code__icontains=q) | Q(name__icontains=q))
    kind = _text(filters.get("kind"))
    if kind:
        channels = channels.filter(kind=kind)
    org_code = _text(filters.get("org"))
    if org_code:
        org = org_unit_list(user=user).filter(code=org_code).first()
        channels = channels.filter(org__path__startswith=org.path) if org else channels.none()
    active = flag_value(filters.get("active"))
    if active is not None:
        channels = channels.filter(is_active=active)
    return channels.order_by("code")


def channel_get_for(*, user, code: str) -> Channel:
    """One visible channel by code, or :class:`NotFound` (also for another city's)."""
    channel = channels_visible(user=user).select_related("org", "partner").filter(code=code).first()
    if channel is None:
        raise NotFound()
    return channel


def channel_is_visible(*, user, channel: Channel) -> bool:
    return channels_visible(user=user).filter(pk=channel.pk).exists()


@dataclass(frozen=True)
class ChannelSummary:
    """What the channel page shows besides the channel's own fields."""

    outlets: list[Outlet]  # with ``promoter_count`` (active promoters)
    promoter_count: int  # active promoters of the channel
    promoters_without_outlet: int
    partner_visible: bool  # whether the user may open the linked partner's page


def channel_summary(*, user, channel: Channel) -> ChannelSummary:
    outlets = list(
        Outlet.objects.filter(channel=channel)
        .annotate(promoter_count=_count_subquery(_active_promoters(), "outlet"))
        .order_by("-is_active", "code")
    )
    counts = (
        _active_promoters()
        .filter(channel=channel)
        .aggregate(total=Count("pk"), without_outlet=Count("pk", filter=Q(outlet__isnull=True)))
    )
    partner_visible = bool(
        channel.partner_id
        and user.has_perm("partners.view_partner")
        and partners_visible(user).filter(pk=channel.partner_id).exists()
    )
    return ChannelSummary(
        outlets=outlets,
        promoter_count=counts["total"],
        promoters_without_outlet=counts["without_outlet"],
        partner_visible=partner_visible,
    )


def channel_active_promoter_count(*, channel: Channel) -> int:
    return _active_promoters().filter(channel=channel).count()


@dataclass(frozen=True)
class Hierarchy:
    """Channel → outlet → staff: each outlet with its promoters (``outlet.staff``), and
    the channel's promoters that work at no outlet."""

    channel: Channel
    outlets: list[Outlet]
    unassigned: list[Promoter]


def channel_hierarchy(*, channel: Channel, include_inactive: bool = False) -> Hierarchy:
    """The staff of a visible channel, by outlet (three queries whatever the size)."""
    staff = Promoter.objects.filter(channel=channel).order_by("work_id", "pk")
    if not include_inactive:
        staff = staff.filter(status=Promoter.Status.ACTIVE)
    outlets = list(
        Outlet.objects.filter(channel=channel)
        .prefetch_related(Prefetch("promoters", queryset=staff, to_attr="staff"))
        .order_by("-is_active", "code")
    )
    unassigned = list(staff.filter(outlet__isnull=True))
    return Hierarchy(channel=channel, outlets=outlets, unassigned=unassigned)


# ---- Outlets --------------------------------------------------------------------------


def outlets_visible(*, user) -> QuerySet[Outlet]:
    return Outlet.objects.filter(channel__in=channels_visible(user=user))


def outlet_list_for(*, channel: Channel, active: bool | None = None) -> QuerySet[Outlet]:
    """The outlets of a (visible) channel with ``promoter_count`` (active promoters)."""
    outlets = Outlet.objects.filter(channel=channel).annotate(
        promoter_count=_count_subquery(_active_promoters(), "outlet")
    )
    if active is not None:
        outlets = outlets.filter(is_active=active)
    return outlets.order_by("code")


def outlet_get_for(*, user, code: str) -> Outlet:
    outlet = (
        outlets_visible(user=user)
        .select_related("channel", "channel__org")
        .filter(code=code)
        .first()
    )
    if outlet is None:
        raise NotFound()
    return outlet


# ---- Choices for forms ----------------------------------------------------------------


def channel_org_choices(*, user) -> QuerySet[OrgUnit]:
    """The operator nodes the user may put a channel under: cities and counties of
    their subtree."""
    return (
        org_unit_list(user=user).filter(kind__in=CHANNEL_ORG_KINDS, is_active=True).order_by("path")
    )


def channel_filter_org_choices(*, user) -> QuerySet[OrgUnit]:
    """The operator nodes of the user's subtree (the list's "organisation" filter)."""
    return org_unit_list(user=user).filter(kind__in=OrgUnit.OPERATOR_KINDS).order_by("path")


def channel_partner_choices(*, user) -> QuerySet[Partner]:
    """The partners a channel may be linked to: active partners the user sees."""
    return (
        partners_visible(user)
        .filter(status=Partner.Status.ACTIVE)
        .exclude(code__isnull=True)
        .order_by("company_name")
    )


def channels_active_for_choice(*, user) -> QuerySet[Channel]:
    return channels_visible(user=user).filter(is_active=True).order_by("code")


# ---- Development targets --------------------------------------------------------------


def month_first_day(value: date) -> date:
    return value.replace(day=1)


def targets_visible(*, user) -> QuerySet[DevelopmentTarget]:
    """Targets of the user's channels (needs ``view_developmenttarget``)."""
    if not (
        getattr(user, "is_authenticated", False)
        and user.is_active
        and user.has_perm("incentives.view_developmenttarget")
    ):
        return DevelopmentTarget.objects.none()
    return DevelopmentTarget.objects.filter(channel__in=channels_visible(user=user))


def targets_for(
    *, user, month_from: date | None = None, month_to: date | None = None
) -> QuerySet[DevelopmentTarget]:
    """The development targets the user sees for the months ``month_from`` to
    ``month_to`` (both included; any day of a month stands for the month), with the
    channel and product loaded. R4 marketing management: targets and volume tracking."""
    targets = targets_visible(user=user).select_related("channel", "channel__org", "product")
    if month_from is not None:
        targets = targets.filter(month__gte=month_first_day(month_from))
    if month_to is not None:
        targets = targets.filter(month__lte=month_first_day(month_to))
    return targets.order_by("-month", "channel__code", "product__code")


def target_list_filtered(*, user, filters: dict[str, Any] | None = None):
    """Targets filtered by ``month_from``/``month_to`` (dates), ``channel`` (code) and
    ``product`` (code; ``-`` for the channel-wide targets)."""
    filters = filters or {}
    targets = targets_for(
        user=user, month_from=filters.get("month_from"), month_to=filters.get("month_to")
    )
    channel = _text(filters.get("channel"))
    if channel:
        targets = targets.filter(channel__code=channel)
    product = _text(filters.get("product"))
    if product == "-":
        targets = targets.filter(product__isnull=True)
    elif product:
        targets = targets.filter(product__code=product)
    return targets
