"""Reads of the product catalogue and its rebate versions (R4 "Products and rules").

The catalogue is operator-wide: anyone with ``incentives.view_product`` reads it
(``products_visible``). :func:`product_versions_for_export` gives the settlement engine
its ``products`` table; :func:`rebate_frozen_until` says up to which day the rebate
rules are fixed because a settlement in approval or approved used them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Max, Prefetch, Q, QuerySet

from prm.core.exceptions import NotFound
from prm.incentives.models import Product, RebateVersion, SettlementRun
from prm.incentives.selectors import products_visible
from prm.incentives.selectors_channels import flag_value

# Runs whose inputs are fixed: their rebate rules must never change afterwards.
FREEZING_RUN_STATUSES = (SettlementRun.Status.SUBMITTED, SettlementRun.Status.APPROVED)


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def rebate_frozen_until() -> date | None:
    """The last day of the latest period settled by a run in approval or approved, or
    ``None``. Rebate versions starting on or before that day are never changed (R4:
    an approved settlement is never edited; a new rule is a new version from a later
    date). Runs of every city count: the catalogue is operator-wide."""
    period = SettlementRun.objects.filter(status__in=FREEZING_RUN_STATUSES).aggregate(
        latest=Max("period")
    )["latest"]
    if not period:
        return None
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, calendar.monthrange(year, month)[1])


def version_is_frozen(version: RebateVersion, *, frozen_until: date | None) -> bool:
    return frozen_until is not None and version.effective_from <= frozen_until


def _versions_prefetch(*, today: date) -> Prefetch:
    """The version in force on ``today`` as ``product.current_versions`` (0 or 1)."""
    return Prefetch(
        "versions",
        queryset=RebateVersion.objects.filter(effective_from__lte=today).filter(
            Q(effective_to__isnull=True) | Q(effective_to__gte=today)
        ),
        to_attr="current_versions",
    )


def product_list_filtered(
    *, user, filters: dict[str, Any] | None = None, today: date
) -> QuerySet[Product]:
    """The catalogue with each product's rebate in force on ``today``
    (``product.current_versions``). ``filters``: ``q`` (code or name contains), ``kind``,
    ``active`` (``1``/``0``)."""
    filters = filters or {}
    products = products_visible(user=user).prefetch_related(_versions_prefetch(today=today))
    q = _text(filters.get("q"))
    if q:
        products = products.filter(Q(code__icontains=q) | Q(name__icontains=q))
    kind = _text(filters.get("kind"))
    if kind:
        products = products.filter(kind=kind)
    active = flag_value(filters.get("active"))
    if active is not None:
        products = products.filter(is_active=active)
    return products.order_by("code")


def product_get_for(*, user, code: str) -> Product:
    product = products_visible(user=user).filter(code=code).first()
    if product is None:
        raise NotFound()
    return product


def product_versions(*, product: Product) -> list[RebateVersion]:
    """All versions of a product, oldest first."""
    return list(
        RebateVersion.objects.filter(product=product)
        .select_related("created_by")
        .order_by("effective_from")
    )


def product_version_get(*, product: Product, effective_from: date) -> RebateVersion:
    version = (
        RebateVersion.objects.filter(product=product, effective_from=effective_from)
        .select_related("product")
        .first()
    )
    if version is None:
        raise NotFound()
    return version


def version_current(versions: list[RebateVersion], *, today: date) -> RebateVersion | None:
    """The version in force on ``today`` among ``versions``."""
    for version in versions:
        if version.effective_from <= today and (
            version.effective_to is None or version.effective_to >= today
        ):
            return version
    return None


@dataclass(frozen=True)
class VersionRow:
    version: RebateVersion
    is_current: bool
    is_frozen: bool
    is_latest: bool


def product_version_rows(*, product: Product, today: date) -> list[VersionRow]:
    """The versions of a product for its page, newest first, with their state."""
    versions = product_versions(product=product)
    frozen_until = rebate_frozen_until()
    current = version_current(versions, today=today)
    latest = versions[-1] if versions else None
    return [
        VersionRow(
            version=version,
            is_current=version is current,
            is_frozen=version_is_frozen(version, frozen_until=frozen_until),
            is_latest=version is latest,
        )
        for version in reversed(versions)
    ]


def product_versions_for_export() -> list[dict]:
    """Every rebate version as a row of the settlement engine's ``products`` table:
    ``product_code``, ``monthly_fee`` and ``rebate`` (Decimal), ``effective_from`` and
    ``effective_to`` (date; ``None`` = open). All products, active or not: past records
    keep their product. Ordered by product code and start date."""
    rows = (
        RebateVersion.objects.order_by("product__code", "effective_from")
        .values_list(
            "product__code", "product__monthly_fee", "rebate", "effective_from", "effective_to"
        )
        .iterator(chunk_size=2000)
    )
    return [
        {
            "product_code": code,
            "monthly_fee": Decimal(fee),
            "rebate": Decimal(rebate),
            "effective_from": effective_from,
            "effective_to": effective_to,
        }
        for code, fee, rebate, effective_from, effective_to in rows
    ]


def product_choices(*, active_only: bool = True) -> QuerySet[Product]:
    """Products to pick in a form (targets): operator-wide, open ones by default."""
    products = Product.objects.all()
    return products.filter(is_active=True) if active_only else products
