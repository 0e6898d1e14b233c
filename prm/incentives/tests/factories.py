"""Test data for incentives: channels, products with a rebate version, active promoters
with their login, recommendations. Built directly; the services have their own tests."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from prm.accounts.models import OrgUnit
from prm.accounts.tests import factories as account_factories
from prm.incentives.models import Channel, Outlet, Product, Promoter, RebateVersion, Recommendation

_counter = itertools.count(1)


def channel(*, org: OrgUnit, kind: str = Channel.Kind.OWN_HALL, **extra) -> Channel:
    n = next(_counter)
    return Channel.objects.create(
        code=extra.pop("code", f"CH{n:04d}"),
        name=extra.pop("name", f"Channel {n}"),
        kind=kind,
        org=org,
        **extra,
    )


def outlet(*, channel: Channel, **extra) -> Outlet:
    n = next(_counter)
    return Outlet.objects.create(
        channel=channel,
        code=extra.pop("code", f"OU{n:04d}"),
        name=extra.pop("name", f"Outlet {n}"),
        **extra,
    )


def product(
    code: str = "CRBT",
    *,
    monthly_fee: str = "5.00",
    rebate: str = "4.00",
    effective_from: date = date(2020, 1, 1),
    **extra,
) -> Product:
    obj, created = Product.objects.get_or_create(
        code=code,
        defaults={
            "name": extra.pop("name", f"Product {code}"),
            "kind": extra.pop("kind", Product.Kind.SP_BUSINESS),
            "monthly_fee": Decimal(monthly_fee),
            **extra,
        },
    )
    if created:
        RebateVersion.objects.create(
            product=obj, rebate=Decimal(rebate), effective_from=effective_from
        )
    return obj


def msisdn(n: int | None = None) -> str:
    """A number of a shipped China Mobile segment (138), distinct per call."""
    n = next(_counter) if n is None else n
    return f"1380013{n % 10000:04d}"


def promoter(
    *,
    org: OrgUnit,
    channel: Channel | None = None,
    kind: str = Promoter.Kind.HALL_CLERK,
    with_user: bool = True,
    **extra,
) -> Promoter:
    """An active promoter of the city ``org``; with a login (role ``promoter``) unless
    ``with_user`` is false."""
    n = next(_counter)
    user = None
    if with_user:
        user = account_factories.user(
            org=org, roles=("promoter",), username=extra.pop("username", f"promoter{n}")
        )
    return Promoter.objects.create(
        work_id=extra.pop("work_id", f"W{n:06d}"),
        name=extra.pop("name", f"Promoter {n}"),
        msisdn=extra.pop("msisdn", msisdn(n)),
        kind=kind,
        path=Promoter.PATH_OF_KIND[kind],
        status=extra.pop("status", Promoter.Status.ACTIVE),
        org=org,
        channel=channel,
        user=user,
        bank_name=extra.pop("bank_name", "ICBC"),
        bank_account=extra.pop("bank_account", f"6222{n:012d}"),
        **extra,
    )


def recommendation(
    *,
    promoter: Promoter,
    product: Product,
    msisdn: str | None = None,
    recommended_at: datetime | None = None,
    confirmed: bool = True,
    **extra,
) -> Recommendation:
    n = next(_counter)
    recommended_at = recommended_at or timezone.now()
    status = (
        Recommendation.Status.ORDERED if confirmed else Recommendation.Status.AWAITING_CONFIRMATION
    )
    return Recommendation.objects.create(
        number=extra.pop("number", f"R-TEST-{n:08d}"),
        promoter=promoter,
        channel=promoter.channel,
        org=promoter.org,
        msisdn=msisdn or f"1390013{n % 10000:04d}",
        product=product,
        recommended_at=recommended_at,
        confirmed_at=extra.pop("confirmed_at", recommended_at if confirmed else None),
        confirmation_code=extra.pop("confirmation_code", f"{random.randint(0, 9999):04d}"),
        status=extra.pop("status", status),
        source=extra.pop("source", Recommendation.Source.WEB),
        **extra,
    )
