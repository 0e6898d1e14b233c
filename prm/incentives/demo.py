"""Demo of channel incentives (R4) for ``prm demo``: channels, products, promoters, a few
hundred recommendations over the last five months, the billing extracts of those months
imported through the real import, a settlement run approved city → province and the
latest closed period computed. Idempotent (a site flag); dates follow today.

What a visitor finds, relative to today (period ``P`` = the previous month, the one the
run of the 15th settles):

- six channels in Guangzhou (GD-GZ) and Shenzhen (GD-SZ), one run by the channel-agent
  partner P-DEMO-CH, with outlets and monthly development targets;
- eight products (CRBT 4 yuan rebate, weekly bill report 2 yuan, a data package,
  broadband, a free product, video CRBT with two rebate versions, one closed product);
- promoters of every kind with logins under the demo password: ``promoter`` (a Tianhe
  hall clerk with a rich history), telemarketers, ordinary promoters of the partner's
  shops, a disabled clerk, and the accounts demo's ``cs_agent`` linked to a
  call-centre-agent record so that the assist works; one internet registration awaits
  the Guangzhou channel managers' approval and one was rejected;
- recommendations from the month ``P−3`` to today (ordered, declined, never answered,
  refused by billing), so that about 70 % of the settled records qualify and the others
  fail for many different reasons (new numbers, no calls, unsubscribed, arrears, not
  billed, discounted, already had the product, an upheld forced-subscription complaint);
- billing months ``P−6`` … ``P`` generated as Parquet files (pyarrow) consistent with
  those plans and imported with :func:`billing_import_execute`;
- the Guangzhou run of ``P−1`` started and submitted by ``channel_mgr2`` and approved by
  ``channel_mgr`` (city) and ``channel_mgr_gd`` (province): paid records, payout and
  "My statements"; the Guangzhou and Shenzhen runs of ``P`` computed by the schedule
  (no starter), ready to be submitted — with a clawback of a rebate paid in ``P−1``.

History before today (promoters approved months ago, past recommendations and the
subscribers' replies) is written directly, as the partners demo writes its established
partners: the services act now — an approval would date the promoter today, and each
recorded recommendation would send a confirmation SMS. Everything that happens today
goes through the services: channels, products, targets, billing imports, settlement
runs and their approvals, the registrations, today's recommendations and SMS reply.
The demo password is hashed once for all the logins added (Argon2 is slow on purpose).
"""

from __future__ import annotations

import calendar
import random
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.demo import DEMO_PASSWORD
from prm.accounts.models import OrgUnit, User
from prm.accounts.services import user_create
from prm.core.calendar import business_date
from prm.core.exceptions import ApplicationError
from prm.core.models import SiteFlag
from prm.core.workflow import workflow_instance_for, workflow_reject
from prm.incentives import storage
from prm.incentives.constants import PROMOTER_WORKFLOW
from prm.incentives.models import (
    BillingImport,
    Channel,
    Outlet,
    Product,
    Promoter,
    Recommendation,
    SettlementRun,
)
from prm.incentives.services.assist import assist_recommend
from prm.incentives.services.billing import (
    billing_import_create_from_dir,
    billing_import_execute,
)
from prm.incentives.services.channels import channel_create, outlet_create, target_set
from prm.incentives.services.products import product_create, product_update, rebate_version_add
from prm.incentives.services.promoters import (
    promoter_disable,
    promoter_register,
    promoter_work_id_next,
)
from prm.incentives.services.recommendations import recommendation_record, sms_inbound_handle
from prm.incentives.services.settlement import (
    month_add,
    settlement_period_default,
    settlement_run_approve,
    settlement_run_compute,
    settlement_run_start,
    settlement_run_submit,
)
from prm.partners.models import Partner

DEMO_FLAG = "demo_incentives"
SEED = 2026
CENT = Decimal("0.01")

# (username, display name, org code): the second Guangzhou channel manager starts and
# submits, so that ``channel_mgr`` (city) and ``channel_mgr_gd`` (province) can approve
# (four-eyes: neither the starter nor the submitter approves).
DEMO_STAFF = (
    ("channel_mgr2", "渠道运营经理", "GD-GZ"),
    ("channel_mgr_gd", "省渠道管理经理", "GD"),
)

# (code, name, kind, monthly fee, rebate, description)
DEMO_PRODUCTS = (
    ("CRBT", "彩铃", Product.Kind.SP_BUSINESS, "5.00", "4.00", "个性化彩铃，来电听到您选的歌。"),
    ("WBR", "周账单报告", Product.Kind.OWN_BUSINESS, "3.00", "2.00", "每周短信推送话费账单。"),
    (
        "DATA10G",
        "10GB 流量月包",
        Product.Kind.DATA_PACKAGE,
        "30.00",
        "8.00",
        "每月 10GB 国内流量。",
    ),
    ("BB100", "100M 家庭宽带", Product.Kind.BROADBAND, "50.00", "30.00", "100M 光纤入户。"),
    ("CLOUD", "和彩云免费版", Product.Kind.OWN_BUSINESS, "0.00", "1.00", "免费 5GB 云存储。"),
    ("VCRBT", "视频彩铃", Product.Kind.SP_BUSINESS, "10.00", "5.00", "来电播放视频彩铃。"),
    ("NEWS", "手机报", Product.Kind.SP_BUSINESS, "3.00", "1.50", "每日新闻彩信。"),
    ("ROAM", "国际漫游日包", Product.Kind.DATA_PACKAGE, "25.00", "5.00", "已停止推广。"),
)
RAISED_PRODUCT = "VCRBT"  # its rebate rises to 6 yuan from the month P−2 on
RAISED_REBATE = "6.00"
CLOSED_PRODUCT = "ROAM"  # closed for recommendation after the month P−3

# (code, name, kind, org code, run by P-DEMO-CH, monthly quota, outlets (code, name, address))
DEMO_CHANNELS = (
    (
        "GZ-TH-HALL",
        "天河自营营业厅",
        Channel.Kind.OWN_HALL,
        "GD-GZ-TH",
        False,
        40,
        (
            ("GZ-TH-TYX", "体育西路营业厅", "广州市天河区体育西路 101 号"),
            ("GZ-TH-TJH", "天河城营业厅", "广州市天河区天河路 208 号"),
        ),
    ),
    (
        "GZ-HZ-COOP",
        "海珠合作营业厅",
        Channel.Kind.COOPERATIVE_HALL,
        "GD-GZ-HZ",
        False,
        25,
        (("GZ-HZ-JNX", "江南西合作厅", "广州市海珠区江南西路 55 号"),),
    ),
    (
        "GZ-TH-SHOP",
        "天河手机卖场",
        Channel.Kind.HANDSET_STORE,
        "GD-GZ-TH",
        False,
        10,
        (("GZ-TH-GBS", "岗顶手机广场", "广州市天河区天河路 590 号"),),
    ),
    (
        "GZ-TM",
        "广州电话营销中心",
        Channel.Kind.TELEMARKETING,
        "GD-GZ",
        False,
        35,
        (("GZ-TM-A", "电话营销一组", "广州市越秀区东风中路 10 号"),),
    ),
    (
        "GZ-AGENT",
        "示例通信代理社会渠道",
        Channel.Kind.SOCIAL_AGENT,
        "GD-GZ",
        True,
        20,
        (
            ("GZ-AGENT-01", "示例通信北京路店", "广州市越秀区北京路 300 号"),
            ("GZ-AGENT-02", "示例通信客村店", "广州市海珠区新港中路 400 号"),
        ),
    ),
    (
        "SZ-CS",
        "深圳 10086 客服中心",
        Channel.Kind.CS_SEAT,
        "GD-SZ",
        False,
        30,
        (("SZ-CS-A", "客服外呼 A 组", "深圳市福田区深南大道 6008 号"),),
    ),
)

HALL_CLERK = Promoter.Kind.HALL_CLERK
TELEMARKETER = Promoter.Kind.TELEMARKETER
ORDINARY = Promoter.Kind.ORDINARY
AGENT = Promoter.Kind.CALL_CENTRE_AGENT


class DemoPromoter(NamedTuple):
    """An established promoter; ``counts`` are their records in the development months
    P−3 … P+1 (the current month scaled to the days gone)."""

    key: str
    username: str  # "" for the work ID (what an approval assigns)
    name: str  # "" for the display name of the existing login
    kind: str
    city: str
    outlet: str
    counts: tuple[int, int, int, int, int]


DEMO_PROMOTERS = (
    DemoPromoter(
        "promoter", "promoter", "李晓梅", HALL_CLERK, "GD-GZ", "GZ-TH-TYX", (14, 15, 13, 14, 10)
    ),
    DemoPromoter("clerk2", "", "王志强", HALL_CLERK, "GD-GZ", "GZ-TH-TJH", (10, 9, 11, 10, 7)),
    DemoPromoter("clerk3", "", "陈美玲", HALL_CLERK, "GD-GZ", "GZ-HZ-JNX", (8, 9, 8, 7, 5)),
    DemoPromoter("shop", "", "黄建华", HALL_CLERK, "GD-GZ", "GZ-TH-GBS", (6, 7, 6, 6, 4)),
    DemoPromoter("tm1", "", "赵丽", TELEMARKETER, "GD-GZ", "GZ-TM-A", (12, 13, 12, 12, 8)),
    DemoPromoter("tm2", "", "周杰", TELEMARKETER, "GD-GZ", "GZ-TM-A", (9, 8, 10, 9, 6)),
    DemoPromoter("agent1", "", "吴晓东", ORDINARY, "GD-GZ", "GZ-AGENT-01", (7, 6, 7, 6, 4)),
    DemoPromoter("agent2", "", "郑秀英", ORDINARY, "GD-GZ", "GZ-AGENT-02", (4, 5, 5, 4, 3)),
    DemoPromoter("left", "", "刘洋", HALL_CLERK, "GD-GZ", "GZ-HZ-JNX", (6, 5, 0, 0, 0)),
    DemoPromoter("cs", "cs_agent", "", AGENT, "GD-SZ", "SZ-CS-A", (10, 11, 10, 9, 6)),
)
DISABLED_PROMOTER = "left"

# Products each kind of promoter recommends (weights).
PRODUCT_MIX = {
    Promoter.Kind.HALL_CLERK: {
        "DATA10G": 4,
        "CRBT": 3,
        "BB100": 2,
        "WBR": 2,
        "CLOUD": 2,
        "VCRBT": 1,
        "NEWS": 1,
    },
    Promoter.Kind.TELEMARKETER: {"CRBT": 4, "VCRBT": 3, "NEWS": 2, "WBR": 2, "DATA10G": 1},
    Promoter.Kind.ORDINARY: {"DATA10G": 3, "CRBT": 2, "BB100": 2, "CLOUD": 1},
    Promoter.Kind.CALL_CENTRE_AGENT: {"CRBT": 3, "VCRBT": 2, "DATA10G": 2, "WBR": 2, "NEWS": 1},
}

# What becomes of a development record in the settlement, as a share of each month's
# records: the rest qualifies (≈ 70 %). One planted cause each; the engine lists every
# reason that applies (a never-confirmed record is also never billed).
OUTCOME_SHARES = (
    ("declined", 0.055),
    ("unanswered", 0.035),
    ("not_active_before", 0.035),
    ("no_voice_in_window", 0.035),
    ("product_changed_in_window", 0.035),
    ("in_arrears", 0.025),
    ("not_billed", 0.025),
    ("discounted_price", 0.02),
    ("prior_same_product", 0.02),
    ("upheld_complaint", 0.012),
)
QUALIFIES = "qualifies"
# Outcomes that need a product with a monthly fee (billing audits).
FEE_OUTCOMES = {"not_billed", "discounted_price", "prior_same_product"}

# Subscriber numbers (Guangdong segments of the shipped number table).
CITY_PREFIX = {"GD-GZ": "1380240", "GD-SZ": "1380250"}
BACKGROUND_SUBSCRIBERS = 60  # per city: customers nobody recommended anything yet
PROMOTER_NUMBER_BASE = 9001
BACKGROUND_NUMBER_BASE = 5001


@dataclass
class Plan:
    """One development record of the demo and what its billing data will make of it."""

    promoter: Promoter
    product: Product
    msisdn: str
    recommended_at: datetime
    outcome: str
    status: str = Recommendation.Status.ORDERED
    confirmed_at: datetime | None = None
    clawback: bool = False  # paid in P−1, then an upheld complaint in P


@dataclass
class Subscriber:
    activated_on: date
    in_arrears_from: date | None = None  # first month whose snapshot shows arrears
    silent_from: date | None = None  # first month without voice calls


@dataclass
class BillingData:
    """The billing system's view of the demo numbers, by table."""

    subscribers: dict[int, Subscriber] = field(default_factory=dict)
    billing: dict[tuple[int, str, date], Decimal] = field(default_factory=dict)
    product_changes: list[tuple[int, str, datetime, str]] = field(default_factory=list)
    complaints: list[tuple[int, str, datetime, str, bool]] = field(default_factory=list)


# --- Calendar ---------------------------------------------------------------------------


def _month_end(month: date) -> date:
    """The last day of ``month``."""
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def _add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus calendar months, the day clamped to the month's end (contract)."""
    target = month_add(moment.date().replace(day=1), months)
    day = min(moment.day, calendar.monthrange(target.year, target.month)[1])
    return moment.replace(year=target.year, month=target.month, day=day)


def _local(day: date, hour: int, minute: int, second: int = 0) -> datetime:
    return timezone.make_aware(
        datetime.combine(day, time(hour, minute, second)), timezone.get_default_timezone()
    )


def _naive_local(moment: datetime) -> datetime:
    return timezone.localtime(moment).replace(tzinfo=None)


# --- Loading ----------------------------------------------------------------------------


@transaction.atomic
def demo_load() -> bool:
    """Load the incentives demo; ``False`` if it was already there."""
    if SiteFlag.objects.filter(key=DEMO_FLAG).exists():
        return False
    rng = random.Random(SEED)
    today = business_date()
    period = date.fromisoformat(settlement_period_default(today) + "-01")
    orgs = {
        org.code: org
        for org in OrgUnit.objects.filter(
            code__in=["GD", "GD-GZ", "GD-SZ", "GD-GZ-TH", "GD-GZ-HZ", "GD-SZ-NS"]
        )
    }
    password_hash = make_password(DEMO_PASSWORD)  # Argon2 is slow on purpose: hash once
    users = _staff(orgs, password_hash)
    products = _products(users["channel_mgr_gd"], period)
    channels, outlets = _channels(users, orgs)
    promoters = _promoters(users, orgs, outlets, password_hash, today, rng)
    plans = _plans(promoters, products, period, today, rng)
    _recommendations_create(plans)
    data = _billing_data(plans, promoters, products, period, rng)
    _billing_import(data, period, actor=users["channel_mgr_gd"])
    _runs(users, orgs, period)
    _today(users, promoters, products, channels, period)
    SiteFlag.objects.create(key=DEMO_FLAG, value="1")
    return True


def _staff(orgs: dict[str, OrgUnit], password_hash: str) -> dict[str, User]:
    users = {
        user.username: user
        for user in User.objects.filter(username__in=["channel_mgr", "cs_agent"])
    }
    for username, name, org_code in DEMO_STAFF:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                actor=None,
                username=username,
                display_name=name,
                org=orgs[org_code],
                password=None,
                role_codes=("channel_manager",),
                email=f"{username}@demo.prm.local",
                mobile="13800138000",
                must_change_password=False,
                is_demo=True,
            )
            _demo_password_set(user, password_hash)
        users[username] = user
    return users


def _demo_password_set(user: User, password_hash: str) -> None:
    user.password = password_hash
    user.password_changed_at = timezone.now()
    user.must_change_password = False
    user.is_demo = True
    user.save(update_fields=["password", "password_changed_at", "must_change_password", "is_demo"])


def _products(actor: User, period: date) -> dict[str, Product]:
    """The catalogue, through the products service (rules from a year before P)."""
    since = month_add(period, -12)
    products = {}
    for code, name, kind, fee, rebate, description in DEMO_PRODUCTS:
        products[code] = product_create(
            actor=actor,
            code=code,
            name=name,
            kind=kind,
            monthly_fee=fee,
            description=description,
            rebate=rebate,
            effective_from=since,
        )
    rebate_version_add(
        actor=actor,
        product=products[RAISED_PRODUCT],
        rebate=RAISED_REBATE,
        effective_from=month_add(period, -2),
        note="视频彩铃推广季，酬金上调。",
    )
    return products


def _channels(users: dict[str, User], orgs: dict[str, OrgUnit]):
    partner = Partner.objects.filter(org__code="P-DEMO-CH", status=Partner.Status.ACTIVE).first()
    channels: dict[str, Channel] = {}
    outlets: dict[str, Outlet] = {}
    for code, name, kind, org_code, by_partner, quota, outlet_rows in DEMO_CHANNELS:
        # Guangzhou's channels by its channel manager, Shenzhen's by the province.
        actor = users["channel_mgr"] if org_code.startswith("GD-GZ") else users["channel_mgr_gd"]
        channels[code] = channel_create(
            actor=actor,
            code=code,
            name=name,
            kind=kind,
            org=orgs[org_code],
            partner=partner if by_partner else None,
            contact_name="张敏",
            contact_phone="020-38880000" if org_code.startswith("GD-GZ") else "0755-83330000",
            address=outlet_rows[0][2],
            monthly_quota=quota,
        )
        for outlet_code, outlet_name, address in outlet_rows:
            outlets[outlet_code] = outlet_create(
                actor=actor,
                channel=channels[code],
                code=outlet_code,
                name=outlet_name,
                address=address,
            )
    return channels, outlets


def _promoters(users, orgs, outlets, password_hash: str, today: date, rng: random.Random):
    """Promoters approved months ago, with their logins (the demo password); the
    ``cs_agent`` login of the accounts demo becomes a call-centre agent's login."""
    promoters: dict[str, Promoter] = {}
    for index, row in enumerate(DEMO_PROMOTERS):
        city = orgs[row.city]
        outlet = outlets[row.outlet]
        work_id = promoter_work_id_next(city=city)
        msisdn = f"{CITY_PREFIX[row.city]}{PROMOTER_NUMBER_BASE + index:04d}"
        if row.name:
            user = user_create(
                actor=None,
                username=row.username or work_id,
                display_name=row.name,
                org=city,
                password=None,
                role_codes=("promoter",),
                mobile=msisdn,
                must_change_password=False,
                is_demo=True,
            )
            _demo_password_set(user, password_hash)
        else:
            user = users[row.username]
        path = Promoter.PATH_OF_KIND[row.kind]
        # Intranet registrations were made by the city's (or the province's) staff.
        registrar = users["channel_mgr2"] if row.city == "GD-GZ" else users["channel_mgr_gd"]
        decided_at = _local(today - timedelta(days=rng.randint(220, 400)), 10, 30)
        promoter = Promoter.objects.create(
            work_id=work_id,
            name=row.name or user.display_name,
            msisdn=msisdn,
            kind=row.kind,
            path=path,
            status=Promoter.Status.ACTIVE,
            org=city,
            channel=outlet.channel,
            outlet=outlet,
            seat_number="8001" if row.kind == AGENT else "",
            bank_name="中国工商银行广州分行" if row.city == "GD-GZ" else "招商银行深圳分行",
            bank_account=f"6222020200{index + 1:09d}",
            user=user,
            submitted_by=registrar if path == Promoter.Path.INTRANET else None,
            decided_at=decided_at,
        )
        # Registered two days before the approval, months ago (not "today" in the lists).
        Promoter.objects.filter(pk=promoter.pk).update(created_at=decided_at - timedelta(days=2))
        promoters[row.key] = promoter
    return promoters


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    codes = sorted(weights)
    return rng.choices(codes, weights=[weights[code] for code in codes])[0]


def _apportion(exact: dict) -> dict:
    """Whole numbers adding up to the rounded total of ``exact`` (largest remainders;
    ties in the order given)."""
    counts = {key: int(value) for key, value in exact.items()}
    left = round(sum(exact.values())) - sum(counts.values())
    order = sorted(exact, key=lambda key: counts[key] - exact[key])  # stable for ties
    for key in order[:left]:
        counts[key] += 1
    return counts


def _outcomes_deal(plans: list[Plan], rng: random.Random) -> None:
    """Give one city's records of a month their outcomes: ``OUTCOME_SHARES`` of them
    fail, apportioned to the causes and then to the promoters in proportion to their
    records, on records drawn at random — every promoter fails about as often."""
    if not plans:
        return
    failures = []
    for outcome, count in _apportion(
        {outcome: len(plans) * share for outcome, share in OUTCOME_SHARES}
    ).items():
        failures += [outcome] * count
    by_promoter: dict[int, list[Plan]] = {}
    for plan in plans:
        by_promoter.setdefault(plan.promoter.pk, []).append(plan)
    quotas = _apportion(
        {pk: len(group) * len(failures) / len(plans) for pk, group in by_promoter.items()}
    )
    slots = []
    for pk, group in sorted(by_promoter.items()):
        slots += rng.sample(group, quotas[pk])
    rng.shuffle(slots)
    rng.shuffle(failures)
    for plan, outcome in zip(slots, failures, strict=True):
        plan.outcome = outcome


def _plans(promoters, products, period: date, today: date, rng: random.Random) -> list[Plan]:
    """The development records from the month P−3 to yesterday, each with its outcome.

    Recommendations fall on the 2nd or later of a month, so that each settles in the
    period two months on (a record of the 1st closes its window a month earlier)."""
    months = [month_add(period, offset) for offset in (-3, -2, -1, 0, 1)]
    counters = dict.fromkeys(CITY_PREFIX, 1)
    plans: list[Plan] = []
    for month_index, month in enumerate(months):
        last_day = min(_month_end(month), today - timedelta(days=1))
        if last_day < month + timedelta(days=1):
            continue  # the current month has no day after its 1st gone yet
        month_plans: list[Plan] = []
        for row in DEMO_PROMOTERS:
            count = row.counts[month_index]
            if month_index == len(months) - 1:  # the current month, so far
                count = round(count * (last_day.day - 1) / (_month_end(month).day - 1))
            mix = dict(PRODUCT_MIX[row.kind])
            if month_index == 0 and row.kind == HALL_CLERK:
                mix[CLOSED_PRODUCT] = 1  # still open for recommendation then
            for _record in range(count):
                day = month.replace(day=rng.randint(2, last_day.day))
                hour, minute, second = rng.randint(9, 20), rng.randint(0, 59), rng.randint(0, 59)
                month_plans.append(
                    Plan(
                        promoter=promoters[row.key],
                        product=products[_weighted(rng, mix)],
                        msisdn=f"{CITY_PREFIX[row.city]}{counters[row.city]:04d}",
                        recommended_at=_local(day, hour, minute, second),
                        outcome=QUALIFIES,
                    )
                )
                counters[row.city] += 1
        for city in CITY_PREFIX:
            _outcomes_deal([plan for plan in month_plans if plan.promoter.org.code == city], rng)
        for plan in month_plans:
            if plan.outcome in FEE_OUTCOMES and plan.product.monthly_fee == 0:
                plan.product = products["CRBT"]
        plans += month_plans
    plans.sort(key=lambda plan: (plan.recommended_at, plan.msisdn))
    # The featured promoter's first qualifying record of P−3 is paid in P−1 and clawed
    # back in P (an upheld forced-subscription complaint after the payment).
    for plan in plans:
        if (
            plan.promoter.user.username == "promoter"
            and plan.outcome == QUALIFIES
            and plan.recommended_at.date() < month_add(period, -2)
        ):
            plan.product = products["CRBT"]
            plan.clawback = True
            break
    for plan in plans:
        _status_set(plan, today, rng)
    return plans


def _status_set(plan: Plan, today: date, rng: random.Random) -> None:
    Status = Recommendation.Status
    recent = plan.recommended_at.date() >= today - timedelta(days=2)
    if plan.outcome == "declined":
        plan.status = Status.DECLINED
    elif plan.outcome == "unanswered" or (recent and rng.random() < 0.5):
        plan.outcome = "unanswered"
        plan.status = Status.AWAITING_CONFIRMATION
    else:
        plan.confirmed_at = plan.recommended_at + timedelta(minutes=rng.randint(2, 180))
        plan.status = Status.OPEN_FAILED if plan.outcome == "not_billed" else Status.ORDERED


def _recommendations_create(plans: list[Plan]) -> None:
    """The past recommendations in one batch, numbered per year like the service does."""
    counters: dict[int, int] = {}
    rows = []
    for plan in plans:
        year = timezone.localtime(plan.recommended_at).year
        counters[year] = counters.get(year, 0) + 1
        promoter = plan.promoter
        is_agent = promoter.kind == Promoter.Kind.CALL_CENTRE_AGENT
        if is_agent:
            source = Recommendation.Source.ASSIST
        elif promoter.kind == Promoter.Kind.TELEMARKETER and counters[year] % 2:
            source = Recommendation.Source.API
        else:
            source = Recommendation.Source.WEB
        ordered = plan.status == Recommendation.Status.ORDERED
        rows.append(
            Recommendation(
                number=f"REC-{year}-{counters[year]:06d}",
                promoter=promoter,
                channel_id=promoter.channel_id,
                org_id=promoter.org_id,
                msisdn=plan.msisdn,
                product=plan.product,
                recommended_at=plan.recommended_at,
                confirmed_at=plan.confirmed_at,
                confirmation_code=f"{(counters[year] * 7919) % 10000:04d}",
                status=plan.status,
                source=source,
                billing_order_id=(
                    f"BO{_naive_local(plan.confirmed_at):%Y%m%d%H%M}{counters[year]:04d}"
                    if ordered
                    else ""
                ),
                billing_message=(
                    "号码状态不允许开通该业务"
                    if plan.status == Recommendation.Status.OPEN_FAILED
                    else ""
                ),
                seat_work_id=promoter.work_id if is_agent else "",
            )
        )
    created = Recommendation.objects.bulk_create(rows, batch_size=500)
    # Recorded when recommended (the lists sort and show the recording time).
    Recommendation.objects.filter(pk__in=[row.pk for row in created]).update(
        created_at=F("recommended_at"), updated_at=F("recommended_at")
    )


# --- Billing extracts ---------------------------------------------------------------------


def _billing_data(plans, promoters, products, period: date, rng) -> BillingData:
    """What billing knows of every number, made to give each plan its outcome."""
    first_month = month_add(period, -6)
    data = BillingData()
    fees = {code: product.monthly_fee for code, product in products.items()}
    paid_products = sorted(code for code, fee in fees.items() if fee > 0)

    def subscriber(number: int) -> Subscriber:
        if number not in data.subscribers:
            data.subscribers[number] = Subscriber(
                activated_on=first_month - timedelta(days=rng.randint(60, 3000))
            )
        return data.subscribers[number]

    def bill(number: int, code: str, start: date, stop: date, amount: Decimal) -> None:
        month = max(start.replace(day=1), first_month)
        while month <= min(stop, period):
            data.billing[(number, code, month)] = amount
            month = month_add(month, 1)

    for promoter in promoters.values():
        subscriber(int(promoter.msisdn))
    for prefix in CITY_PREFIX.values():
        for index in range(BACKGROUND_SUBSCRIBERS):
            number = int(f"{prefix}{BACKGROUND_NUMBER_BASE + index:04d}")
            subscriber(number)
            if index % 3 == 0:
                code = paid_products[index % len(paid_products)]
                bill(number, code, first_month, period, fees[code])
    period_end = _local(_month_end(period), 23, 59, 59)
    for plan in plans:
        number, code, fee = int(plan.msisdn), plan.product.code, fees[plan.product.code]
        moment = plan.recommended_at
        day = timezone.localtime(moment).date()
        end = _add_months(moment, 2)
        window_last_month = timezone.localtime(end - timedelta(seconds=1)).date().replace(day=1)
        entry = subscriber(number)
        outcome = plan.outcome
        if outcome == "not_active_before":
            entry.activated_on = day  # a number opened at the counter the same day
        elif outcome == "in_arrears":
            entry.in_arrears_from = month_add(day.replace(day=1), 1)
        elif outcome == "no_voice_in_window":
            entry.silent_from = day.replace(day=1)
        # Something else the subscriber already has (never the recommended product).
        other = paid_products[number % len(paid_products)]
        if number % 4 == 0 and other != code:
            bill(number, other, max(first_month, entry.activated_on), period, fees[other])
        opened = plan.status == Recommendation.Status.ORDERED
        if fee > 0 and opened and outcome != "not_billed":
            stop = period
            amount = fee
            if outcome == "product_changed_in_window":
                changed = moment + timedelta(days=rng.randint(6, 35), hours=rng.randint(0, 5))
                if changed <= period_end:
                    data.product_changes.append((number, code, changed, "unsubscribe"))
                stop = timezone.localtime(changed).date().replace(day=1)
            if outcome == "discounted_price":
                # Half price during the window (a promotion), full price after it.
                bill(number, code, day, window_last_month, (fee / 2).quantize(CENT))
                day = month_add(window_last_month, 1)
            if outcome == "prior_same_product":
                bill(number, code, month_add(day.replace(day=1), -2), period, fee)
            bill(number, code, day, stop, amount)
        if outcome == QUALIFIES and opened and number % 9 == 0:
            # A change after the window closed does not matter (decoy).
            changed = end + timedelta(days=rng.randint(1, 20))
            if changed <= period_end:
                data.product_changes.append((number, code, changed, "modify"))
        if outcome == "upheld_complaint":
            complained = moment + timedelta(days=rng.randint(10, 40), hours=rng.randint(1, 6))
            data.complaints.append((number, code, complained, "forced_subscription", True))
        elif outcome == QUALIFIES and number % 11 == 0:
            # Complaints that are not upheld or about something else cost nothing (decoys).
            complained = moment + timedelta(days=rng.randint(5, 30), hours=2)
            if complained <= period_end:
                upheld = number % 2 == 0
                kind = "other" if upheld else "forced_subscription"
                data.complaints.append((number, code, complained, kind, upheld))
        if plan.clawback:
            complained = _local(period.replace(day=rng.randint(3, 20)), 15, 20)
            data.complaints.append((number, code, complained, "forced_subscription", True))
    return data


_MONEY = pa.decimal128(14, 2)


def _month_tables(data: BillingData, month: date, rng: random.Random) -> dict[str, pa.Table]:
    """One month's extracts: the subscribers snapshot, usage, billing, changes, complaints."""
    end = _month_end(month)
    next_month = month_add(month, 1)
    subscribers = {"msisdn": [], "activated_on": [], "status": [], "in_arrears": []}
    usage = {"msisdn": [], "month": [], "first_voice_day": [], "last_voice_day": []}
    usage["voice_calls"] = []
    for number in sorted(data.subscribers):
        entry = data.subscribers[number]
        if entry.activated_on >= next_month:
            continue  # not a subscriber yet in this month's snapshot
        subscribers["msisdn"].append(number)
        subscribers["activated_on"].append(entry.activated_on)
        subscribers["status"].append("active")
        arrears = entry.in_arrears_from is not None and entry.in_arrears_from <= month
        subscribers["in_arrears"].append(arrears)
        usage["msisdn"].append(number)
        usage["month"].append(month)
        if entry.silent_from is not None and entry.silent_from <= month:
            usage["first_voice_day"].append(None)
            usage["last_voice_day"].append(None)
            usage["voice_calls"].append(0)
            continue
        first = max(month + timedelta(days=rng.randint(0, 3)), entry.activated_on)
        usage["first_voice_day"].append(first)
        usage["last_voice_day"].append(max(end - timedelta(days=rng.randint(0, 3)), first))
        usage["voice_calls"].append(rng.randint(15, 420))
    billing = {"msisdn": [], "product_code": [], "month": [], "billed_amount": []}
    for (number, code, billed_month), amount in sorted(data.billing.items()):
        if billed_month == month:
            billing["msisdn"].append(number)
            billing["product_code"].append(code)
            billing["month"].append(month)
            billing["billed_amount"].append(amount)
    start, stop = _local(month, 0, 0), _local(next_month, 0, 0)
    changes = {"msisdn": [], "product_code": [], "changed_at": [], "change_type": []}
    for number, code, moment, kind in sorted(data.product_changes):
        if start <= moment < stop:
            changes["msisdn"].append(number)
            changes["product_code"].append(code)
            changes["changed_at"].append(_naive_local(moment))
            changes["change_type"].append(kind)
    complaints = {"msisdn": [], "product_code": [], "complained_at": [], "kind": []}
    complaints["upheld"] = []
    for number, code, moment, kind, upheld in sorted(data.complaints):
        if start <= moment < stop:
            complaints["msisdn"].append(number)
            complaints["product_code"].append(code)
            complaints["complained_at"].append(_naive_local(moment))
            complaints["kind"].append(kind)
            complaints["upheld"].append(upheld)
    tables = {
        "subscribers": pa.table(
            subscribers,
            schema=pa.schema(
                [
                    ("msisdn", pa.int64()),
                    ("activated_on", pa.date32()),
                    ("status", pa.string()),
                    ("in_arrears", pa.bool_()),
                ]
            ),
        ),
        "usage_monthly": pa.table(
            usage,
            schema=pa.schema(
                [
                    ("msisdn", pa.int64()),
                    ("month", pa.date32()),
                    ("first_voice_day", pa.date32()),
                    ("last_voice_day", pa.date32()),
                    ("voice_calls", pa.int64()),
                ]
            ),
        ),
        "billing": pa.table(
            billing,
            schema=pa.schema(
                [
                    ("msisdn", pa.int64()),
                    ("product_code", pa.string()),
                    ("month", pa.date32()),
                    ("billed_amount", _MONEY),
                ]
            ),
        ),
    }
    if changes["msisdn"]:
        tables["product_changes"] = pa.table(
            changes,
            schema=pa.schema(
                [
                    ("msisdn", pa.int64()),
                    ("product_code", pa.string()),
                    ("changed_at", pa.timestamp("us")),
                    ("change_type", pa.string()),
                ]
            ),
        )
    if complaints["msisdn"]:
        tables["complaints"] = pa.table(
            complaints,
            schema=pa.schema(
                [
                    ("msisdn", pa.int64()),
                    ("product_code", pa.string()),
                    ("complained_at", pa.timestamp("us")),
                    ("kind", pa.string()),
                    ("upheld", pa.bool_()),
                ]
            ),
        )
    return tables


def _billing_import(data: BillingData, period: date, *, actor: User) -> None:
    """Write the months P−6 … P as extract files and import each through the service."""
    rng = random.Random(SEED + 1)
    root = storage.incentives_root()  # same file system: the import hard-links the files
    with tempfile.TemporaryDirectory(prefix="demo-billing-", dir=root) as work:
        for offset in range(-6, 1):
            month = month_add(period, offset)
            source = Path(work) / month.strftime("%Y-%m")
            source.mkdir()
            for table, content in _month_tables(data, month, rng).items():
                pq.write_table(content, source / f"{table}.parquet")
            job = billing_import_create_from_dir(actor=actor, month=month, source_dir=source)
            job = billing_import_execute(import_id=job.pk)
            if job.status != BillingImport.Status.SUCCEEDED:
                raise ApplicationError("demo_billing_import_failed", job.message)


# --- Settlement -------------------------------------------------------------------------


def _computed(run: SettlementRun) -> SettlementRun:
    """Compute a queued run now (the task queued after the commit then finds it done)."""
    run = settlement_run_compute(run_id=run.pk)
    if run.status != SettlementRun.Status.COMPUTED:
        raise ApplicationError("demo_settlement_failed", run.message)
    return run


def _runs(users: dict[str, User], orgs: dict[str, OrgUnit], period: date) -> None:
    """P−1 of Guangzhou approved city → province; P of both cities computed."""
    previous = month_add(period, -1).strftime("%Y-%m")
    starter = users["channel_mgr2"]
    run = _computed(settlement_run_start(org=orgs["GD-GZ"], period=previous, actor=starter))
    run = settlement_run_submit(run=run, actor=starter)
    run = settlement_run_approve(run=run, actor=users["channel_mgr"], comment="已核对。")
    run = settlement_run_approve(run=run, actor=users["channel_mgr_gd"], comment="同意发放。")
    if run.status != SettlementRun.Status.APPROVED:
        raise ApplicationError("demo_settlement_failed", run.message)
    for city in ("GD-GZ", "GD-SZ"):
        # Started by the schedule of the 15th: any channel manager may submit it.
        _computed(settlement_run_start(org=orgs[city], period=period.strftime("%Y-%m")))


# --- Today ------------------------------------------------------------------------------


def _today(users, promoters, products, channels, period: date) -> None:
    """What happens today through the services: targets, a closed product, a disabled
    promoter, new recommendations (one confirmed by SMS), the registrations."""
    manager = users["channel_mgr"]
    for offset in range(-3, 2):
        month = month_add(period, offset)
        for channel in channels.values():
            if channel.org.path.startswith(manager.org.path):
                target_set(
                    actor=manager, month=month, channel=channel, target=channel.monthly_quota
                )
        target_set(
            actor=manager,
            month=month,
            channel=channels["GZ-TH-HALL"],
            product=products["CRBT"],
            target=8,
        )
    product_update(actor=users["channel_mgr_gd"], product=products[CLOSED_PRODUCT], is_active=False)
    promoter_disable(
        actor=manager, promoter=promoters[DISABLED_PROMOTER], reason="已离职，账号停用。"
    )

    featured = promoters["promoter"]
    recorded = []
    for index, code in enumerate(("CRBT", "DATA10G", "WBR")):
        recorded.append(
            recommendation_record(
                actor=featured.user,
                promoter=featured,
                msisdn=f"{CITY_PREFIX['GD-GZ']}{8001 + index:04d}",
                product_code=code,
                source=Recommendation.Source.WEB,
            )
        )
    first = recorded[0]
    sms_inbound_handle(sender=first.msisdn, text=f"Y {first.confirmation_code}")
    # The call-centre agent records for a calling subscriber the assist knows.
    assist_recommend(
        actor=users["cs_agent"],
        msisdn=f"{CITY_PREFIX['GD-SZ']}{BACKGROUND_NUMBER_BASE + 1:04d}",
        product_code="VCRBT",
    )

    common = {
        "path": Promoter.Path.INTERNET,
        "actor": None,
        "city_code": "GD-GZ",
        "bank_name": "中国建设银行广州分行",
    }
    # Awaits the Guangzhou channel managers (channel_mgr, channel_mgr2) in their tasks.
    promoter_register(
        name="何嘉欣",
        msisdn=f"{CITY_PREFIX['GD-GZ']}{PROMOTER_NUMBER_BASE + 50:04d}",
        kind=Promoter.Kind.ORDINARY,
        channel_code="GZ-AGENT",
        outlet_code="GZ-AGENT-02",
        bank_account="6217003200012345678",
        email="hejiaxin@example.com",
        **common,
    )
    rejected = promoter_register(
        name="马超",
        msisdn=f"{CITY_PREFIX['GD-GZ']}{PROMOTER_NUMBER_BASE + 51:04d}",
        kind=Promoter.Kind.TELEMARKETER,
        channel_code="GZ-TM",
        bank_account="6217003200087654321",
        **common,
    )
    instance = workflow_instance_for(target=rejected, definition_code=PROMOTER_WORKFLOW)
    workflow_reject(
        instance_id=instance.pk,
        actor=manager,
        reason="银行卡户名与注册姓名不一致，请核实后重新注册。",
    )


def demo_logins() -> list[tuple[str, str]]:
    """(username, what to try) printed by ``prm demo``."""
    calling = f"{CITY_PREFIX['GD-SZ']}{BACKGROUND_NUMBER_BASE + 2:04d}"
    return [
        (
            "promoter",
            _("Hall clerk (promoter): records recommendations, sees statements and rebates"),
        ),
        (
            "channel_mgr",
            _(
                "Guangzhou channel manager: settlement analysis, submits the latest run, "
                "approves a promoter registration"
            ),
        ),
        (
            "channel_mgr2",
            _("Second Guangzhou channel manager: approves settlements and registrations"),
        ),
        ("channel_mgr_gd", _("Province channel manager: second approval of settlements")),
        (
            "cs_agent",
            _("Call-centre agent with a promoter record: the assist (try %(number)s)")
            % {"number": calling},
        ),
    ]
