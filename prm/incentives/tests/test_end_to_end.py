"""R4 "done when": one city's promoters from registration to payout and a later clawback,
through the public surfaces (pages, the REST API, the SMS gateway's endpoint, the billing
import, the Celery task of the 15th), with exact figures.

Guangzhou (``orgs.city_a``, code GZ). Zhang Wei registers on the internet form, Li Na is
registered on the intranet by the Tianhe county's channel manager; the city's channel
manager approves both (work IDs GZ-000001 and GZ-000002, initial passwords by SMS). They
sign in, change their password and record (web form or API); the subscribers answer the
confirmation SMS through ``/api/v1/incentives/sms/inbound``; confirmed orders reach the
billing fake. The billing extracts 2025-10 … 2026-03 (csv and parquet, daily and monthly
usage) are imported through ``/api/v1/incentives/billing/imports``; the monthly task on
2026-04-15 settles period 2026-03:

====  ======  ==========  =======  ==================  ====================================
rec   by      subscriber  product  recommended (local)  verdict in 2026-03
====  ======  ==========  =======  ==================  ====================================
r1    Zhang   A           CRBT     2026-01-10 10:00    qualifies: 4.00
r2    Zhang   B           CRBT     2026-01-12 11:00    declined: unconfirmed, not_billed
r3    Li      C           WBR      2026-01-15 09:30    never answered: unconfirmed
r4    Li      D           CRBT     2026-01-18 14:00    no_voice_in_window (calls on 01-05,
                                                       0 calls on 01-19, next on 03-18 =
                                                       the day the window ends)
r5    Li      E           WBR      2026-01-20 16:00    qualifies: 2.00 (no monthly fee)
r6    Zhang   F           CRBT     2026-01-24 15:00    not_billed (billed 0.00 in February)
r8    Li      H           CRBT     2026-02-10 10:00    period 2026-04 (not_in_period here);
                                                       qualifies there: 4.00 (billed 4.99,
                                                       then exactly the 5.00 fee)
====  ======  ==========  =======  ==================  ====================================

G is refused at entry (billed CRBT in 2025-12). Approval: the city manager who re-ran the
run (no change) and the one who submitted it cannot approve; a third city manager, then
the province's manager approve. The payout files (xlsx, csv) are read back; the approved
period and its billing month refuse any change. The 2026-04 extract holds an upheld
forced-subscription complaint about A's CRBT: the 2026-05-15 run of 2026-04 claws r1's
4.00 back from Zhang, who has nothing else that month (net −4.00, payable 0.00, carried
forward −4.00), while Li is paid r8.

The module-level builders (``extracts``, ``extract_files_write``, ``billing_store_import``,
``recommendations_record``) are reused by the browser test ``tests/e2e/test_incentives.py``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from prm.accounts.tests.factories import DEFAULT_PASSWORD
from prm.core.sms import sms_outbox
from prm.core.workflow import workflow_instance_for
from prm.incentives import storage
from prm.incentives.adapters.billing import billing_fake_orders
from prm.incentives.constants import PROMOTER_WORKFLOW, SETTLEMENT_WORKFLOW
from prm.incentives.models import (
    BillingImport,
    BillingMonth,
    Clawback,
    PaidRecord,
    Promoter,
    Recommendation,
    SettlementRun,
    SettlementStatement,
)
from prm.incentives.services.billing import billing_import_create_from_dir, billing_import_execute
from prm.incentives.services.recommendations import recommendation_record, sms_inbound_handle
from prm.incentives.tasks import settlement_runs_monthly
from prm.incentives.tests import factories

pytestmark = pytest.mark.django_db

LOCAL = ZoneInfo("Asia/Shanghai")
SMS_TOKEN = "gateway-e2e-secret"
API = "/api/v1/incentives"

# Subscribers (China Mobile 139 segment) and the promoters' own numbers.
A, B, C, D, E, F, G, H = (f"1390013900{n}" for n in range(1, 9))
ZHANG_NUMBER, LI_NUMBER = "13800138101", "13800138102"
ZHANG, LI = "zhang", "li"

STORE_MONTHS = [date(2025, 10, 1), date(2025, 11, 1), date(2025, 12, 1)] + [
    date(2026, m, 1) for m in (1, 2, 3)
]
APRIL = date(2026, 4, 1)
# Each month arrives as csv or parquet (both readers are exercised).
EXTRACT_FORMATS = {
    date(2025, 10, 1): "parquet",
    date(2025, 11, 1): "csv",
    date(2025, 12, 1): "csv",
    date(2026, 1, 1): "csv",
    date(2026, 2, 1): "parquet",
    date(2026, 3, 1): "csv",
    APRIL: "parquet",
}


def local(*args) -> datetime:
    """An aware moment in Asia/Shanghai."""
    return datetime(*args, tzinfo=LOCAL)


def money(value: str) -> Decimal:
    return Decimal(value)


# --- The plan of recommendations ----------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    key: str
    promoter: str  # ZHANG or LI
    msisdn: str
    product: str
    at: datetime
    reply: str | None  # the subscriber's SMS ("{code}" replaced), None: never answers
    via: str  # "web" (the form) or "api"


PLAN = (
    Planned("r1", ZHANG, A, "CRBT", local(2026, 1, 10, 10), "Y {code}", "web"),
    Planned("r2", ZHANG, B, "CRBT", local(2026, 1, 12, 11), "N {code}", "api"),
    Planned("r3", LI, C, "WBR", local(2026, 1, 15, 9, 30), None, "api"),
    Planned("r4", LI, D, "CRBT", local(2026, 1, 18, 14), "y{code}", "web"),
    Planned("r5", LI, E, "WBR", local(2026, 1, 20, 16), "确认 {code}", "api"),
    Planned("r6", ZHANG, F, "CRBT", local(2026, 1, 24, 15), "Y {code}", "web"),
    Planned("r8", LI, H, "CRBT", local(2026, 2, 10, 10), "是 {code}", "web"),
)
REPLY_AFTER = timedelta(minutes=7)


def products() -> dict:
    """CRBT (5.00 a month, rebate 4.00) and the weekly bill report WBR (free, rebate 2.00)."""
    return {
        "CRBT": factories.product(
            "CRBT", name="Colour ring-back tone", monthly_fee="5.00", rebate="4.00"
        ),
        "WBR": factories.product(
            "WBR", name="Weekly bill report", monthly_fee="0.00", rebate="2.00", kind="own_business"
        ),
    }


# --- Billing extracts ------------------------------------------------------------------------

COLUMNS = {
    "subscribers": ("msisdn", "activated_on", "status", "in_arrears"),
    "usage_monthly": ("msisdn", "month", "first_voice_day", "last_voice_day", "voice_calls"),
    "usage_daily": ("msisdn", "day", "voice_calls"),
    "product_changes": ("msisdn", "product_code", "changed_at", "change_type"),
    "billing": ("msisdn", "product_code", "month", "billed_amount"),
    "complaints": ("msisdn", "product_code", "complained_at", "kind", "upheld"),
}
_TYPES = {
    "msisdn": pa.int64(),
    "activated_on": pa.date32(),
    "status": pa.string(),
    "in_arrears": pa.bool_(),
    "month": pa.date32(),
    "first_voice_day": pa.date32(),
    "last_voice_day": pa.date32(),
    "voice_calls": pa.int64(),
    "day": pa.date32(),
    "product_code": pa.string(),
    "changed_at": pa.timestamp("us"),
    "change_type": pa.string(),
    "billed_amount": pa.decimal128(14, 2),
    "complained_at": pa.timestamp("us"),
    "kind": pa.string(),
    "upheld": pa.bool_(),
}


def _usage(msisdn: str, month: date, first: int, last: int, calls: int) -> tuple:
    return (msisdn, month, month.replace(day=first), month.replace(day=last), calls)


def _billed(msisdn: str, month: date, amount: str, product: str = "CRBT") -> tuple:
    return (msisdn, product, month, Decimal(amount))


def extracts(month: date) -> dict[str, list[tuple]]:
    """The billing-system extracts of ``month`` (rows of typed values; see the module
    docstring for what each row is there for)."""
    subscribers = [(n, date(2020, 1, 1), "active", False) for n in (A, B, C, D, E, F, G, H)]
    jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    tables: dict[date, dict[str, list[tuple]]] = {
        date(2025, 10, 1): {
            "usage_monthly": [_usage(A, date(2025, 10, 1), 3, 28, 9)],
            # Another product: does not block a CRBT recommendation.
            "billing": [_billed(A, date(2025, 10, 1), "2.00", "WBR")],
        },
        date(2025, 11, 1): {"usage_monthly": [_usage(A, date(2025, 11, 1), 2, 27, 8)]},
        date(2025, 12, 1): {
            "usage_monthly": [_usage(G, date(2025, 12, 1), 1, 30, 20)],
            # G had CRBT in the 3 months before January: refused at entry.
            "billing": [_billed(G, date(2025, 12, 1), "5.00")],
        },
        jan: {
            "usage_daily": [
                (A, date(2026, 1, 15), 4),
                (B, date(2026, 1, 20), 2),
                (C, date(2026, 1, 16), 1),
                (D, date(2026, 1, 5), 3),  # before D's window
                (D, date(2026, 1, 19), 0),  # in the window, but no call
                (F, date(2026, 1, 25), 6),
            ],
            "billing": [_billed(A, jan, "5.00"), _billed(D, jan, "5.00")],
        },
        feb: {
            "usage_monthly": [_usage(E, feb, 2, 27, 7), _usage(H, feb, 11, 20, 5)],
            "billing": [
                _billed(A, feb, "5.00"),
                _billed(D, feb, "5.00"),
                _billed(F, feb, "0.00"),  # a row, but nothing billed
                _billed(H, feb, "4.99"),
            ],
            # A changed another product: CRBT's rule 3 does not care.
            "product_changes": [(A, "WBR", datetime(2026, 2, 12, 10), "modify")],
        },
        mar: {
            # D's first call after the recommendation is on the day its window ends.
            "usage_monthly": [_usage(D, mar, 18, 28, 4), _usage(H, mar, 2, 30, 8)],
            "billing": [_billed(D, mar, "5.00"), _billed(H, mar, "5.00")],
            "complaints": [(E, "WBR", datetime(2026, 3, 3, 12), "other", True)],
        },
        APRIL: {
            "usage_monthly": [_usage(H, APRIL, 1, 9, 3)],
            "billing": [_billed(H, APRIL, "5.00")],
            "complaints": [
                # Upheld forced subscription of A's CRBT (paid in 2026-03): clawed back.
                (A, "CRBT", datetime(2026, 4, 20, 10), "forced_subscription", True),
                (A, "CRBT", datetime(2026, 4, 22, 9), "other", True),
                (E, "WBR", datetime(2026, 4, 21, 15), "forced_subscription", False),
            ],
        },
    }
    return {"subscribers": subscribers, **tables[month]}


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def extract_files_write(directory: Path, tables: dict[str, list[tuple]], *, fmt: str) -> list:
    """Write each table as ``<table>.csv`` or ``<table>.parquet`` (the contract's
    columns and types) into ``directory``; returns the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for table, rows in tables.items():
        columns = COLUMNS[table]
        path = directory / f"{table}.{fmt}"
        if fmt == "csv":
            with open(path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(columns)
                writer.writerows([_csv_text(value) for value in row] for row in rows)
        else:
            schema = pa.schema([(name, _TYPES[name]) for name in columns])
            data = [
                {
                    name: int(value) if name == "msisdn" else value
                    for name, value in zip(columns, row, strict=True)
                }
                for row in rows
            ]
            pq.write_table(pa.Table.from_pylist(data, schema=schema), path)
        paths.append(path)
    return paths


def billing_store_import(*, actor, months: Iterable[date], directory: Path) -> None:
    """Import months through the import service's directory path (the CLI's): the
    files are written to ``directory/<YYYY-MM>/``, checked, stored and hashed."""
    for month in months:
        folder = directory / month.strftime("%Y-%m")
        extract_files_write(folder, extracts(month), fmt=EXTRACT_FORMATS[month])
        job = billing_import_create_from_dir(actor=actor, month=month, source_dir=folder)
        job = billing_import_execute(import_id=job.pk)
        assert job.status == BillingImport.Status.SUCCEEDED, job.message


def recommendations_record(promoters: dict[str, Promoter], plan=PLAN) -> dict:
    """Record the plan through the services (the promoter's own login, at the planned
    moment) and apply the subscribers' replies as the SMS gateway would; returns the
    recommendations by key. The hand-over to billing runs on commit."""
    made = {}
    for planned in plan:
        promoter = promoters[planned.promoter]
        recommendation = recommendation_record(
            actor=promoter.user,
            promoter=promoter,
            msisdn=planned.msisdn,
            product_code=planned.product,
            source=Recommendation.Source.WEB,
            at=planned.at,
        )
        if planned.reply:
            sms_inbound_handle(
                sender=planned.msisdn,
                text=planned.reply.format(code=recommendation.confirmation_code),
                received_at=planned.at + REPLY_AFTER,
            )
        recommendation.refresh_from_db()
        made[planned.key] = recommendation
    return made


# --- HTTP helpers ------------------------------------------------------------------------


def sign_in(username: str, password: str = DEFAULT_PASSWORD) -> Client:
    """A fresh browser-like client signed in through the login page."""
    client = Client()
    response = client.post("/accounts/login/", {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not response["Location"].startswith("/accounts/login/")
    return client


def api_json(response) -> dict | list:
    return json.loads(response.content.decode("utf-8"))


def post_json(client: Client, url: str, body: dict | None = None, **headers):
    return client.post(
        url, data=json.dumps(body or {}), content_type="application/json", headers=headers
    )


def api_import(client: Client, month: date, directory: Path, capture) -> dict:
    """Upload a month's extract files to the billing import endpoint; the import task
    runs after the commit. Returns the import as the API reports it afterwards."""
    folder = directory / month.strftime("%Y-%m")
    paths = extract_files_write(folder, extracts(month), fmt=EXTRACT_FORMATS[month])
    handles = [open(path, "rb") for path in paths]  # noqa: SIM115  (closed below)
    try:
        with capture(execute=True):
            response = client.post(
                f"{API}/billing/imports", {"month": month.strftime("%Y-%m"), "files": handles}
            )
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 202, response.content
    job = api_json(client.get(f"{API}/billing/imports/{api_json(response)['id']}"))
    return job


def sms_to(number: str) -> list[str]:
    return [message["text"] for message in sms_outbox() if message["mobile"] == number]


def run_snapshot(number: str) -> tuple:
    run = SettlementRun.objects.get(number=number)
    return (
        run.status,
        run.revision,
        run.started_by_id,
        run.approved_at,
        run.updated_at,
        dict(run.artefacts),
        dict(run.input_sha256),
        run.payable_amount,
        list(
            SettlementStatement.objects.filter(run=run)
            .order_by("pk")
            .values_list("pk", "promoter_id", "payable_amount", "carry_forward")
        ),
        sorted(p.name for p in Path(run.artefact_dir).parent.parent.rglob("*")),
    )


def statement_rows(client: Client, number: str) -> list[tuple]:
    response = client.get(f"{API}/runs/{number}/statements")
    assert response.status_code == 200, response.content
    return [
        (
            row["promoter_work_id"],
            row["records"],
            row["qualified"],
            money(row["gross_amount"]),
            money(row["clawback_amount"]),
            money(row["carried_in"]),
            money(row["adjustment_amount"]),
            money(row["net_amount"]),
            money(row["payable_amount"]),
            money(row["carry_forward"]),
        )
        for row in api_json(response)
    ]


def verdict_rows(client: Client, number: str) -> list[tuple]:
    response = client.get(f"{API}/runs/{number}/verdicts")
    assert response.status_code == 200, response.content
    page = api_json(response)
    assert page["next_after"] is None
    return [
        (
            row["number"],
            row["promoter_work_id"],
            row["msisdn"],
            row["product_code"],
            row["period"],
            row["qualified"],
            row["reasons"],
            money(row["amount"]),
        )
        for row in page["items"]
    ]


# --- The people ----------------------------------------------------------------------------


@dataclass
class People:
    city_manager: str  # re-runs the run (its starter)
    city_manager_2: str  # submits it
    city_manager_3: str  # approves the city's step
    province_manager: str
    county_manager: str  # registers Li Na on the intranet
    finance: str


@pytest.fixture
def people(orgs, make_user) -> People:
    def staff(org, role, username):
        return make_user(org=org, roles=(role,), username=username).username

    return People(
        city_manager=staff(orgs.city_a, "channel_manager", "gz_cm1"),
        city_manager_2=staff(orgs.city_a, "channel_manager", "gz_cm2"),
        city_manager_3=staff(orgs.city_a, "channel_manager", "gz_cm3"),
        province_manager=staff(orgs.province, "channel_manager", "gd_cm"),
        county_manager=staff(orgs.county_a, "channel_manager", "th_cm"),
        finance=staff(orgs.city_a, "finance", "gz_finance"),
    )


# --- The scenario --------------------------------------------------------------------------


def test_promoters_to_payout_and_a_later_clawback(
    orgs, people, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    settings.PRM_SMS_INBOUND_TOKEN = SMS_TOKEN
    settings.PRM_RECOMMENDATION_CONFIRM_HOURS = 48
    capture = django_capture_on_commit_callbacks
    products()
    factories.channel(org=orgs.county_a, code="GZ-TH-HALL", name="Tianhe business hall")
    factories.channel(org=orgs.city_a, code="GZ-ONLINE", name="Guangzhou online", kind="online")

    # --- 1. the older extracts (2025-10 … 2025-12) are in the store ----------------------
    with time_machine.travel(local(2026, 1, 5, 9), tick=False):
        manager = sign_in(people.city_manager)
        for month in STORE_MONTHS[:3]:
            job = api_import(manager, month, tmp_path, capture)
            assert (job["status"], job["progress"]) == ("succeeded", 100), job

    # --- 2. registrations: internet (anonymous) and intranet (the county's manager) -----
    with time_machine.travel(local(2026, 1, 5, 10), tick=False):
        anonymous = Client()
        response = anonymous.post(
            "/incentives/promoters/register/",
            {
                "name": "Zhang Wei",
                "msisdn": ZHANG_NUMBER,
                "kind": "ordinary",
                "city": "GZ",
                "channel": "GZ-ONLINE",
                "outlet": "",
                "bank_name": "ICBC Guangzhou",
                "bank_account": "6222 0200 0000 1001",
                "email": "",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
        assert response["Location"] == "/incentives/promoters/register/done/"

        county = sign_in(people.county_manager)
        response = county.post(
            "/incentives/promoters/register/intranet/",
            {
                "name": "Li Na",
                "msisdn": LI_NUMBER,
                "kind": "hall_clerk",
                "city": "GZ",
                "channel": "GZ-TH-HALL",
                "outlet": "",
                "bank_name": "CCB Tianhe",
                "bank_account": "621700000000002002",
                "email": "li.na@example.com",
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    zhang = Promoter.objects.get(msisdn=ZHANG_NUMBER)
    li = Promoter.objects.get(msisdn=LI_NUMBER)
    assert (zhang.status, zhang.path, zhang.kind, zhang.work_id, zhang.user_id) == (
        "submitted",
        "internet",
        "ordinary",
        None,
        None,
    )
    assert (li.status, li.path, li.kind, li.submitted_by.username) == (
        "submitted",
        "intranet",
        "hall_clerk",
        people.county_manager,
    )
    assert sms_outbox() == []

    # --- 3. the city's channel manager approves: work ID, login, password by SMS ---------
    with time_machine.travel(local(2026, 1, 6, 9), tick=False):
        approver = sign_in(people.city_manager)
        for promoter in (zhang, li):
            instance = workflow_instance_for(target=promoter, definition_code=PROMOTER_WORKFLOW)
            with capture(execute=True):
                response = approver.post(f"/approvals/{instance.pk}/approve/")
            assert response.status_code == 302
    zhang.refresh_from_db()
    li.refresh_from_db()
    assert (zhang.status, zhang.work_id, zhang.user.username) == (
        "active",
        "GZ-000001",
        "GZ-000001",
    )
    assert (li.status, li.work_id, li.user.username) == ("active", "GZ-000002", "GZ-000002")
    assert zhang.user.org == orgs.city_a and zhang.user.must_change_password
    passwords = {}
    for promoter in (zhang, li):
        [text] = sms_to(promoter.msisdn)
        found = re.search(
            rf"Your work ID {promoter.work_id} is your PRM login; initial password: (\S+)\. ",
            text,
        )
        assert found, text
        passwords[promoter.work_id] = found.group(1)

    # --- 4. the promoters sign in and must change their initial password first -----------
    new_passwords = {zhang.work_id: "Zhang-Wei-2026!", li.work_id: "Li-Na-Hall-2026!"}
    with time_machine.travel(local(2026, 1, 6, 10), tick=False):
        for work_id, password in passwords.items():
            client = sign_in(work_id, password)
            response = client.get("/incentives/recommendations/new/")
            assert (response.status_code, response["Location"]) == (302, "/accounts/password/")
            response = post_json(client, f"{API}/recommendations", {"msisdn": A})
            assert (response.status_code, api_json(response)["code"]) == (
                403,
                "account_action_required",
            )
            response = client.post(
                "/accounts/password/",
                {
                    "old_password": password,
                    "new_password1": new_passwords[work_id],
                    "new_password2": new_passwords[work_id],
                },
            )
            assert response.status_code == 302, response.content.decode()[:2000]
    assert Recommendation.objects.count() == 0

    # --- 5. recommendations (web form and API); the subscribers answer by SMS -----------
    promoters = {ZHANG: zhang, LI: li}
    records: dict[str, Recommendation] = {}
    for planned in PLAN:
        promoter = promoters[planned.promoter]
        with time_machine.travel(planned.at, tick=False):
            client = sign_in(promoter.work_id, new_passwords[promoter.work_id])
            with capture(execute=True):
                if planned.via == "web":
                    response = client.post(
                        "/incentives/recommendations/new/",
                        {"msisdn": planned.msisdn, "product_code": planned.product},
                    )
                    assert response.status_code == 302, response.content.decode()[:3000]
                else:
                    response = post_json(
                        client,
                        f"{API}/recommendations",
                        {"msisdn": planned.msisdn, "product_code": planned.product},
                    )
                    assert response.status_code == 201, response.content
            if planned.key == "r5":
                # G had CRBT billed in 2025-12: refused at entry, nothing written, no SMS.
                before = (Recommendation.objects.count(), len(sms_outbox()))
                with capture(execute=True):
                    response = post_json(
                        client, f"{API}/recommendations", {"msisdn": G, "product_code": "CRBT"}
                    )
                assert response.status_code == 409
                assert api_json(response)["code"] == "already_had_product"
                assert (Recommendation.objects.count(), len(sms_outbox())) == before
        recommendation = Recommendation.objects.get(msisdn=planned.msisdn)
        assert (recommendation.promoter, recommendation.recommended_at) == (promoter, planned.at)
        assert recommendation.status == "awaiting_confirmation"
        [text] = sms_to(planned.msisdn)
        code = re.search(r"Reply Y (\d{4}) to confirm, N \1 to decline\.", text).group(1)
        records[planned.key] = recommendation

        if planned.reply is None:
            continue
        with time_machine.travel(planned.at + REPLY_AFTER, tick=False), capture(execute=True):
            response = post_json(
                Client(),
                f"{API}/sms/inbound",
                {"from": planned.msisdn, "text": planned.reply.format(code=code)},
                **{"X-PRM-SMS-Token": SMS_TOKEN},
            )
        assert response.status_code == 200, response.content
        declined = planned.reply.startswith("N")
        assert api_json(response) == {
            "result": "declined" if declined else "confirmed",
            "reason": "",
            "reference": recommendation.number,
        }

    for recommendation in records.values():
        recommendation.refresh_from_db()
    assert {key: r.status for key, r in records.items()} == {
        "r1": "ordered",
        "r2": "declined",
        "r3": "awaiting_confirmation",
        "r4": "ordered",
        "r5": "ordered",
        "r6": "ordered",
        "r8": "ordered",
    }
    assert records["r1"].confirmed_at == local(2026, 1, 10, 10, 7)
    assert records["r2"].confirmed_at is None and records["r3"].confirmed_at is None
    # The confirmed orders reached billing, once each, in the order of the replies.
    assert [
        (order["reference"], order["msisdn"], order["product_code"])
        for order in billing_fake_orders()
    ] == [
        (records["r1"].number, A, "CRBT"),
        (records["r4"].number, D, "CRBT"),
        (records["r5"].number, E, "WBR"),
        (records["r6"].number, F, "CRBT"),
        (records["r8"].number, H, "CRBT"),
    ]
    assert [records[key].billing_order_id for key in ("r1", "r4", "r5", "r6", "r8")] == [
        "FAKE-1",
        "FAKE-2",
        "FAKE-3",
        "FAKE-4",
        "FAKE-5",
    ]

    # --- 6. the extracts 2026-01 … 2026-03 are imported in April ------------------------
    with time_machine.travel(local(2026, 4, 3, 9), tick=False):
        manager = sign_in(people.city_manager)
        for month in STORE_MONTHS[3:]:
            job = api_import(manager, month, tmp_path, capture)
            assert job["status"] == "succeeded", job
    assert list(
        BillingMonth.objects.order_by("month").values_list("month", "revision", "locked_at")
    ) == [(month, 1, None) for month in STORE_MONTHS]
    # January's daily usage was rolled up to one row per number and month.
    assert sorted(BillingMonth.objects.get(month=date(2026, 1, 1)).files) == [
        "billing",
        "subscribers",
        "usage_monthly",
    ]

    # --- 7. the monthly task on the 15th settles 2026-03 for every city -----------------
    with time_machine.travel(local(2026, 4, 15, 2), tick=False), capture(execute=True):
        counts = settlement_runs_monthly()
    assert counts == {"started": 2, "skipped": 0, "not_started": 0}
    number = "ST-2026-03-GZ"
    staff = sign_in(people.city_manager)
    run = api_json(staff.get(f"{API}/runs/{number}"))
    assert (run["status"], run["revision"], run["started_by"], run["period"]) == (
        "computed",
        1,
        None,
        "2026-03",
    )
    assert (run["records"], run["qualified"]) == (6, 2)
    assert [
        money(run[name])
        for name in ("gross_amount", "clawback_amount", "adjustment_amount", "payable_amount")
    ] == [money("6.00"), money("0.00"), money("0.00"), money("6.00")]
    summary = run["summary"]
    assert (summary["records"], summary["qualified"], summary["not_in_period"]) == (6, 2, 1)
    assert {code: n for code, n in summary["reasons"].items() if n} == {
        "unconfirmed": 2,
        "no_voice_in_window": 1,
        "not_billed": 2,
    }
    assert (summary["gross_amount"], summary["clawback_amount"], summary["net_amount"]) == (
        "6.00",
        "0.00",
        "6.00",
    )
    n = {key: records[key].number for key in records}
    zero = money("0.00")
    assert verdict_rows(staff, number) == [
        (n["r1"], "GZ-000001", A, "CRBT", "2026-03", True, [], money("4.00")),
        (n["r2"], "GZ-000001", B, "CRBT", "2026-03", False, ["unconfirmed", "not_billed"], zero),
        (n["r3"], "GZ-000002", C, "WBR", "2026-03", False, ["unconfirmed"], zero),
        (n["r4"], "GZ-000002", D, "CRBT", "2026-03", False, ["no_voice_in_window"], zero),
        (n["r5"], "GZ-000002", E, "WBR", "2026-03", True, [], money("2.00")),
        (n["r6"], "GZ-000001", F, "CRBT", "2026-03", False, ["not_billed"], zero),
    ]
    assert statement_rows(staff, number) == [
        ("GZ-000001", 3, 1, money("4.00"), zero, zero, zero, money("4.00"), money("4.00"), zero),
        ("GZ-000002", 3, 1, money("2.00"), zero, zero, zero, money("2.00"), money("2.00"), zero),
    ]
    # Shenzhen has no promoter: its run is computed empty.
    other = SettlementRun.objects.get(number="ST-2026-03-SZ")
    assert (other.status, other.records, other.payable_amount) == ("computed", 0, zero)
    # The reasons in words, as the analysis shows them.
    detail = api_json(staff.get(f"{API}/runs/{number}/verdicts/{records['r4'].pk}"))
    assert detail["explanations"] == [
        {
            "code": "no_voice_in_window",
            "label": "No voice calls in the window",
            "text": "The number made no voice call from 2026-01-18 to 2026-03-18.",
        }
    ]

    # --- 8. approval: neither the starter nor the submitter; city, then province ---------
    with time_machine.travel(local(2026, 4, 16, 9), tick=False):
        starter = sign_in(people.city_manager)
        with capture(execute=True):
            response = post_json(starter, f"{API}/runs/{number}/rerun")
        assert response.status_code == 202, response.content
        run = api_json(starter.get(f"{API}/runs/{number}"))
        assert (run["status"], run["revision"], run["started_by"]) == (
            "computed",
            1,
            people.city_manager,
        )
        assert run["changes"] == {"from_revision": 1, "to_revision": 1, "no_change": True}

        submitter = sign_in(people.city_manager_2)
        response = post_json(submitter, f"{API}/runs/{number}/submit")
        assert (response.status_code, api_json(response)["status"]) == (200, "submitted")
        before = run_snapshot(number)
        for client, code in ((starter, "four_eyes"), (submitter, "not_your_task")):
            response = post_json(client, f"{API}/runs/{number}/approve", {"comment": "ok"})
            assert (response.status_code, api_json(response)["code"]) == (403, code)
        assert run_snapshot(number) == before
        instance = workflow_instance_for(
            target=SettlementRun.objects.get(number=number), definition_code=SETTLEMENT_WORKFLOW
        )
        assert (instance.status, instance.current_step) == ("in_progress", 1)

        city = sign_in(people.city_manager_3)
        response = post_json(city, f"{API}/runs/{number}/approve", {"comment": "Checked."})
        assert (response.status_code, api_json(response)["status"]) == (200, "submitted")
        assert PaidRecord.objects.count() == 0
        province = sign_in(people.province_manager)
        with capture(execute=True):
            response = post_json(province, f"{API}/runs/{number}/approve", {"comment": "OK."})
        assert (response.status_code, api_json(response)["status"]) == (200, "approved")
    assert sorted(
        PaidRecord.objects.values_list("recommendation__number", "amount", "run__number")
    ) == sorted([(n["r1"], money("4.00"), number), (n["r5"], money("2.00"), number)])
    march = BillingMonth.objects.get(month=date(2026, 3, 1))
    assert march.locked_by_run.number == number and march.locked_at is not None
    assert BillingMonth.objects.filter(locked_at__isnull=False).count() == 1

    # --- 9. finance produces the payout files; read back ------------------------------
    with time_machine.travel(local(2026, 4, 17, 10), tick=False):
        finance = sign_in(people.finance)
        response = finance.get(f"{API}/runs/{number}/payout.xlsx")
        assert response.status_code == 200, response.content
        assert response["Content-Disposition"] == f'attachment; filename="payout-{number}.xlsx"'
        sheet = load_workbook(io.BytesIO(response.content))["Payout"]
        rows = list(sheet.iter_rows(values_only=True))
        amounts = [row[5] for row in sheet.iter_rows(min_row=2)]
        response = finance.get(f"{API}/runs/{number}/payout.csv")
        assert response.status_code == 200
        lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = ["Promoter", "Work ID", "Channel", "Bank", "Bank account", "Amount"]
    assert [list(row[:5]) for row in rows] == [
        header[:5],
        ["Zhang Wei", "GZ-000001", "Guangzhou online", "ICBC Guangzhou", "6222020000001001"],
        ["Li Na", "GZ-000002", "Tianhe business hall", "CCB Tianhe", "621700000000002002"],
        ["Total", None, None, None, None],
    ]
    assert rows[0][5] == "Amount"
    assert [Decimal(str(row[5])) for row in rows[1:]] == [
        money("4.00"),
        money("2.00"),
        money("6.00"),
    ]
    assert [cell.number_format for cell in amounts] == ["0.00", "0.00", "0.00"]
    assert lines == [
        header,
        [
            "Zhang Wei",
            "GZ-000001",
            "Guangzhou online",
            "ICBC Guangzhou",
            "6222020000001001",
            "4.00",
        ],
        ["Li Na", "GZ-000002", "Tianhe business hall", "CCB Tianhe", "621700000000002002", "2.00"],
    ]
    assert SettlementRun.objects.get(number=number).payout_generated_at == local(2026, 4, 17, 10)

    # --- 10. the approved period refuses a re-run; its billing month a new import -------
    with time_machine.travel(local(2026, 4, 20, 9), tick=False):
        manager = sign_in(people.city_manager)
        before = run_snapshot(number)
        with capture(execute=True):
            response = post_json(manager, f"{API}/runs/{number}/rerun")
            assert (response.status_code, api_json(response)["code"]) == (409, "run_approved")
            assert api_json(response)["message"] == (
                f"The settlement {number} is approved and can no longer be changed; "
                "corrections are adjustments paid in a later run."
            )
            response = post_json(manager, f"{API}/runs", {"city": "GZ", "period": "2026-03"})
            assert (response.status_code, api_json(response)["code"]) == (409, "run_approved")
        assert run_snapshot(number) == before

        imports = BillingImport.objects.count()
        store = {p.name: p.read_bytes() for p in storage.billing_month_dir(march.month).iterdir()}
        month_row = (march.revision, dict(march.files), march.imported_at, march.locked_at)
        folder = tmp_path / "again" / "2026-03"
        paths = extract_files_write(folder, extracts(march.month), fmt="csv")
        handles = [open(path, "rb") for path in paths]  # noqa: SIM115
        try:
            with capture(execute=True):
                response = manager.post(
                    f"{API}/billing/imports", {"month": "2026-03", "files": handles}
                )
        finally:
            for handle in handles:
                handle.close()
        assert (response.status_code, api_json(response)["code"]) == (409, "billing_month_locked")
        assert BillingImport.objects.count() == imports
        march.refresh_from_db()
        assert (march.revision, dict(march.files), march.imported_at, march.locked_at) == (
            month_row
        )
        assert {
            p.name: p.read_bytes() for p in storage.billing_month_dir(march.month).iterdir()
        } == store

    # --- 11. April's complaints: the 2026-04 run claws r1's rebate back ----------------
    with time_machine.travel(local(2026, 5, 4, 9), tick=False):
        job = api_import(sign_in(people.city_manager), APRIL, tmp_path, capture)
        assert job["status"] == "succeeded", job
    with time_machine.travel(local(2026, 5, 15, 2), tick=False), capture(execute=True):
        counts = settlement_runs_monthly()
    assert counts == {"started": 2, "skipped": 0, "not_started": 0}
    april = "ST-2026-04-GZ"
    staff = sign_in(people.city_manager)
    run = api_json(staff.get(f"{API}/runs/{april}"))
    assert (run["status"], run["records"], run["qualified"]) == ("computed", 1, 1)
    assert [money(run[name]) for name in ("gross_amount", "clawback_amount", "payable_amount")] == [
        money("4.00"),
        money("-4.00"),
        money("4.00"),
    ]
    assert run["summary"]["not_in_period"] == 6
    assert run["summary"]["app"]["carry_forward_amount"] == "-4.00"
    assert verdict_rows(staff, april) == [
        (n["r8"], "GZ-000002", H, "CRBT", "2026-04", True, [], money("4.00")),
    ]
    clawbacks = pq.read_table(
        Path(SettlementRun.objects.get(number=april).artefact_dir) / "clawbacks.parquet"
    ).to_pylist()
    assert clawbacks == [
        {
            "record_id": records["r1"].pk,
            "promoter_id": zhang.pk,
            "msisdn": A,
            "product_code": "CRBT",
            "complained_at": datetime(2026, 4, 20, 10),
            "amount": money("-4.00"),
        }
    ]
    four = money("4.00")
    assert statement_rows(staff, april) == [
        # Zhang: nothing else that month, the clawback is carried forward.
        ("GZ-000001", 0, 0, zero, money("-4.00"), zero, zero, money("-4.00"), zero, money("-4.00")),
        ("GZ-000002", 1, 1, four, zero, zero, zero, four, four, zero),
    ]
    # Zhang reads both statements (the April one is provisional until approved).
    with time_machine.travel(local(2026, 5, 15, 9), tick=False):
        mine = sign_in(zhang.work_id, new_passwords[zhang.work_id])
        statements = api_json(mine.get(f"{API}/my/statements"))
    assert [
        (s["run"], s["provisional"], s["net_amount"], s["payable_amount"], s["carry_forward"])
        for s in statements
    ] == [(april, True, "-4.00", "0.00", "-4.00"), (number, False, "4.00", "4.00", "0.00")]

    # Approved: the clawback is written against r1's paid record; only Li is paid.
    with time_machine.travel(local(2026, 5, 16, 9), tick=False):
        post_json(sign_in(people.city_manager), f"{API}/runs/{april}/submit")
        post_json(sign_in(people.city_manager_2), f"{API}/runs/{april}/approve")
        with capture(execute=True):
            response = post_json(sign_in(people.province_manager), f"{API}/runs/{april}/approve")
        assert api_json(response)["status"] == "approved"
        response = sign_in(people.finance).get(f"{API}/runs/{april}/payout.csv")
    assert list(Clawback.objects.values_list("paid_record__recommendation__number", "amount")) == [
        (n["r1"], money("-4.00"))
    ]
    assert Clawback.objects.get().complained_at == local(2026, 4, 20, 10)
    assert list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")))) == [
        header,
        ["Li Na", "GZ-000002", "Tianhe business hall", "CCB Tianhe", "621700000000002002", "4.00"],
    ]
