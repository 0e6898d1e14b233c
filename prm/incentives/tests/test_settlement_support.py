"""Builders shared by the settlement tests (no tests here).

``world`` is one city (Guangzhou, ``orgs.city_a``) with two promoters and the billing
store of 2025-10 … 2026-05 written as small Parquet files, plus the people of the
approval chain. Records and store rows (subscribers A…H):

====  ========  =======  ==================  ==============================================
rec   promoter  number   recommended (local)  expected
====  ========  =======  ==================  ==============================================
r1    p1        A        2026-01-10 10:00    period 2026-03, qualifies: 4.00 (CRBT)
r2    p1        B        2026-01-12 09:00    2026-03, never confirmed: ``unconfirmed``
r3    p2        C        2026-01-15 11:00    2026-03, C in arrears: ``in_arrears``
r4    p2        D        2026-01-20 15:00    2026-03, qualifies: 2.00 (WBR, free product)
r5    p1        E        2026-02-10 10:00    2026-04, no voice call: ``no_voice_in_window``
r6    p3 (SZ)   F        2026-01-10 10:00    another city: never in Guangzhou's input
====  ========  =======  ==================  ==============================================

An upheld forced-subscription complaint about A's CRBT is in the store month 2026-04
(within 6 months of r1): it claws r1's rebate back in the run of 2026-04.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from prm.incentives import storage
from prm.incentives.models import BillingMonth, Product, Promoter, Recommendation
from prm.incentives.services import settlement as settlement_services
from prm.incentives.tests import factories

LOCAL = ZoneInfo("Asia/Shanghai")
PERIOD = "2026-03"
TODAY = date(2026, 4, 15)
STORE_MONTHS = [date(2025, m, 1) for m in (10, 11, 12)] + [date(2026, m, 1) for m in range(1, 6)]

A, B, C, D, E, F, G, H = (f"1390000000{n}" for n in range(1, 9))

SUBSCRIBERS_SCHEMA = pa.schema(
    [
        ("msisdn", pa.int64()),
        ("activated_on", pa.date32()),
        ("status", pa.string()),
        ("in_arrears", pa.bool_()),
    ]
)
USAGE_SCHEMA = pa.schema(
    [
        ("msisdn", pa.int64()),
        ("month", pa.date32()),
        ("first_voice_day", pa.date32()),
        ("last_voice_day", pa.date32()),
        ("voice_calls", pa.int64()),
    ]
)
BILLING_SCHEMA = pa.schema(
    [
        ("msisdn", pa.int64()),
        ("product_code", pa.string()),
        ("month", pa.date32()),
        ("billed_amount", pa.decimal128(14, 2)),
    ]
)
COMPLAINTS_SCHEMA = pa.schema(
    [
        ("msisdn", pa.int64()),
        ("product_code", pa.string()),
        ("complained_at", pa.timestamp("us")),
        ("kind", pa.string()),
        ("upheld", pa.bool_()),
    ]
)
SCHEMAS = {
    "subscribers": SUBSCRIBERS_SCHEMA,
    "usage_monthly": USAGE_SCHEMA,
    "billing": BILLING_SCHEMA,
    "complaints": COMPLAINTS_SCHEMA,
}


def local(*args) -> datetime:
    """An aware moment in Asia/Shanghai."""
    return datetime(*args, tzinfo=LOCAL)


def subscriber(msisdn: str, *, in_arrears: bool = False, status: str = "active") -> dict:
    return {
        "msisdn": int(msisdn),
        "activated_on": date(2020, 1, 1),
        "status": status,
        "in_arrears": in_arrears,
    }


def usage(msisdn: str, month: date, first: int = 11, last: int = 25) -> dict:
    return {
        "msisdn": int(msisdn),
        "month": month,
        "first_voice_day": month.replace(day=first),
        "last_voice_day": month.replace(day=last),
        "voice_calls": 12,
    }


def billed(msisdn: str, month: date, amount: str = "5.00", product: str = "CRBT") -> dict:
    return {
        "msisdn": int(msisdn),
        "product_code": product,
        "month": month,
        "billed_amount": Decimal(amount),
    }


def complaint(msisdn: str, moment: datetime, product: str = "CRBT", **extra) -> dict:
    return {
        "msisdn": int(msisdn),
        "product_code": product,
        "complained_at": moment.replace(tzinfo=None),
        "kind": extra.get("kind", "forced_subscription"),
        "upheld": extra.get("upheld", True),
    }


def store_month(month: date, tables: dict[str, list[dict]]) -> BillingMonth:
    """Write a month's store files (only the tables given) and mark the month imported."""
    directory = storage.billing_month_dir(month)
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.glob("*.parquet"):
        path.unlink()
    for table, rows in tables.items():
        schema = SCHEMAS[table]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), directory / f"{table}.parquet")
    month_row, _created = BillingMonth.objects.update_or_create(
        month=month,
        defaults={"imported_at": timezone.now(), "revision": 1, "files": {t: {} for t in tables}},
    )
    return month_row


@dataclass
class Store:
    """The store contents by month; ``write()`` (re)writes every month."""

    subscribers: list[dict]
    usage: dict[date, list[dict]] = field(default_factory=dict)
    billing: dict[date, list[dict]] = field(default_factory=dict)
    complaints: dict[date, list[dict]] = field(default_factory=dict)
    months: list[date] = field(default_factory=lambda: list(STORE_MONTHS))

    def write(self) -> None:
        for month in self.months:
            tables = {
                "subscribers": self.subscribers,
                "usage_monthly": self.usage.get(month, []),
                "billing": self.billing.get(month, []),
            }
            if month in self.complaints:
                tables["complaints"] = self.complaints[month]
            store_month(month, tables)


def base_store() -> Store:
    jan, feb, mar, apr = (date(2026, m, 1) for m in (1, 2, 3, 4))
    return Store(
        subscribers=[
            subscriber(A),
            subscriber(B),
            subscriber(C, in_arrears=True),
            subscriber(D),
            subscriber(E),
            subscriber(F),
            subscriber(G),
            subscriber(H),
        ],
        usage={
            jan: [usage(A, jan), usage(B, jan), usage(C, jan), usage(D, jan), usage(F, jan)],
            mar: [usage(G, mar), usage(H, mar)],
        },
        billing={
            jan: [billed(A, jan), billed(B, jan), billed(C, jan), billed(F, jan)],
            feb: [billed(A, feb), billed(E, feb)],
            mar: [billed(E, mar), billed(G, mar), billed(H, mar)],
            apr: [billed(H, apr)],
        },
        complaints={apr: [complaint(A, local(2026, 4, 5, 9))]},
    )


@dataclass
class World:
    orgs: object
    store: Store
    starter: object
    city_manager: object
    city_manager_2: object
    province_manager: object
    province_manager_2: object
    finance: object
    other_city_manager: object
    cs_agent: object
    auditor: object
    crbt: Product
    wbr: Product
    p1: Promoter
    p2: Promoter
    p3: Promoter
    records: dict[str, Recommendation]


class Today:
    """The business date the settlement services see (patched)."""

    def __init__(self, monkeypatch) -> None:
        self.value = TODAY
        monkeypatch.setattr(settlement_services, "business_date", lambda *a, **k: self.value)

    def set(self, value: date) -> None:
        self.value = value


@pytest.fixture(name="today")
def today_fixture(monkeypatch) -> Today:
    return Today(monkeypatch)


@pytest.fixture(name="world")
def world_fixture(orgs, make_user, settings, today) -> World:
    settings.LANGUAGE_CODE = "en"
    city, province = orgs.city_a, orgs.province

    def user(org, *roles, **extra):
        made = make_user(org=org, roles=roles, **extra)
        made.language = "en"
        made.save(update_fields=["language"])
        return made

    crbt = factories.product("CRBT", monthly_fee="5.00", rebate="4.00")
    wbr = factories.product("WBR", monthly_fee="0.00", rebate="2.00")
    channel = factories.channel(org=city, name="Tianhe hall", code="CH-TH")
    p1 = factories.promoter(
        org=city,
        channel=channel,
        name="Li Lei",
        work_id="W0001",
        bank_name="ICBC",
        bank_account="6222000000000001",
    )
    p2 = factories.promoter(
        org=city,
        channel=channel,
        name="Han Meimei",
        work_id="W0002",
        bank_name="CCB",
        bank_account="6217000000000002",
    )
    p3 = factories.promoter(org=orgs.city_b, name="Wang Wu", work_id="W0003")
    records = {
        "r1": factories.recommendation(
            promoter=p1, product=crbt, msisdn=A, recommended_at=local(2026, 1, 10, 10)
        ),
        "r2": factories.recommendation(
            promoter=p1,
            product=crbt,
            msisdn=B,
            recommended_at=local(2026, 1, 12, 9),
            confirmed=False,
        ),
        "r3": factories.recommendation(
            promoter=p2, product=crbt, msisdn=C, recommended_at=local(2026, 1, 15, 11)
        ),
        "r4": factories.recommendation(
            promoter=p2, product=wbr, msisdn=D, recommended_at=local(2026, 1, 20, 15)
        ),
        "r5": factories.recommendation(
            promoter=p1, product=crbt, msisdn=E, recommended_at=local(2026, 2, 10, 10)
        ),
        "r6": factories.recommendation(
            promoter=p3, product=crbt, msisdn=F, recommended_at=local(2026, 1, 10, 10)
        ),
    }
    store = base_store()
    store.write()
    return World(
        orgs=orgs,
        store=store,
        starter=user(city, "channel_manager", username="starter"),
        city_manager=user(city, "channel_manager", username="citymgr"),
        city_manager_2=user(city, "channel_manager", username="citymgr2"),
        province_manager=user(province, "channel_manager", username="provmgr"),
        province_manager_2=user(province, "channel_manager", username="provmgr2"),
        finance=user(city, "finance", username="finance"),
        other_city_manager=user(orgs.city_b, "channel_manager", username="szmgr"),
        cs_agent=user(city, "cs_agent", username="csagent"),
        auditor=user(city, "auditor", username="auditor"),
        crbt=crbt,
        wbr=wbr,
        p1=p1,
        p2=p2,
        p3=p3,
        records=records,
    )


def start(world: World, capture, *, period: str = PERIOD, actor="starter", org=None):
    """Start a run and run its (eager) computation, as after the commit."""
    actor = getattr(world, actor) if isinstance(actor, str) else actor
    with capture(execute=True):
        run = settlement_services.settlement_run_start(
            org=org or world.orgs.city_a, period=period, actor=actor
        )
    run.refresh_from_db()
    return run


def approve_fully(world: World, run, *, submitter="starter"):
    """Submit, then approve at the city and at the province."""
    settlement_services.settlement_run_submit(run=run, actor=getattr(world, submitter))
    settlement_services.settlement_run_approve(run=run, actor=world.city_manager)
    settlement_services.settlement_run_approve(run=run, actor=world.province_manager)
    run.refresh_from_db()
    return run


def statements_by_work_id(run) -> dict[str, dict]:
    return {
        statement.promoter.work_id: {
            "records": statement.records,
            "qualified": statement.qualified,
            "gross_amount": statement.gross_amount,
            "clawback_amount": statement.clawback_amount,
            "carried_in": statement.carried_in,
            "adjustment_amount": statement.adjustment_amount,
            "net_amount": statement.net_amount,
            "payable_amount": statement.payable_amount,
            "carry_forward": statement.carry_forward,
        }
        for statement in run.statements.select_related("promoter")
    }


def money(value: str) -> Decimal:
    return Decimal(value)
