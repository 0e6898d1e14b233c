"""Web and API latency benchmark (PERFORMANCE.md §2) for the partner and portal pages.

    .venv/bin/python bench/web_latency.py --partners 10000 --clients 50 --seconds 30

What it does, each step in its own process:

1. creates a fresh PostgreSQL database ``prm_bench_<pid>`` (127.0.0.1:5432, user
   ``postgres``, trust auth), runs ``prm migrate`` against it and seeds it in bulk:
   the demo operator tree, N partners (root org, admin user, qualifications,
   agreements, business codes), ~200 announcements, ~2 k breach cases, 1 k knowledge
   articles, public notices, and the load's users (a province and a city
   partner_manager; partner admins) with API tokens;
2. counts the SQL queries of every endpoint once (Django test client and
   ``CaptureQueriesContext``), to tell an N+1 from a slow query;
3. starts the app under gunicorn (``PRM_MODE=production``) on a free loopback port;
4. runs the load from this process: ``--clients`` concurrent keep-alive HTTP/1.1
   clients (asyncio, no third-party tool), each signed in (login form with CSRF;
   bearer tokens for the API), requesting a mix of list, search, deep-page, detail,
   API and portal pages without think time, for ``--seconds`` after a warm-up;
5. prints per endpoint and overall requests, errors (non-2xx), p50/p95/p99 in ms and
   the throughput, writes ``bench/results/web_latency-<timestamp>.json`` and drops the
   database (also on failure or Ctrl-C; ``--keep-db`` keeps it).

The load generator shares the machine with gunicorn and PostgreSQL: on a small machine
its CPU time (printed) competes with the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(sys.executable).parent

PASSWORD = "Bench-Passw0rd-2026"  # every seeded user; the hash is computed once
KNOWLEDGE_WORD = "彩铃"
SEARCH_WORD = "科技"

# ---------------------------------------------------------------------------------------
# Stage: seed (runs in a child process with Django set up)
# ---------------------------------------------------------------------------------------

CITY_PREFIXES = ["广州", "深圳", "佛山", "东莞", "珠海", "中山", "惠州", "江门", "汕头", "湛江"]
NAME_WORDS = ["信息", "科技", "通信", "网络", "数据", "传媒", "文化", "智能", "软件", "电子"]
NAME_SUFFIXES = ["有限公司", "股份有限公司", "服务有限公司", "技术有限公司"]


def _bulk(model, rows, batch_size=2000):
    return model.objects.bulk_create(rows, batch_size=batch_size)


def stage_seed(args) -> None:  # noqa: C901  (one linear script)
    import django

    django.setup()
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from prm.accounts.demo import DEMO_ORGS
    from prm.accounts.models import OrgUnit, Role, User
    from prm.accounts.services import org_unit_create, user_create
    from prm.accounts.services.tokens import api_token_create
    from prm.core.validators import uscc_check_char
    from prm.partners.models import (
        Agreement,
        BusinessCode,
        Partner,
        PartnerCategory,
        Qualification,
    )
    from prm.partners.services.registration import partner_categories_sync
    from prm.portal.models import (
        Announcement,
        AnnouncementReceipt,
        BreachCase,
        KnowledgeArticle,
        PublicNotice,
    )

    rng = random.Random(20260)
    started = time.perf_counter()
    now = timezone.now()
    today = timezone.localdate()
    n_partners = args.partners

    partner_categories_sync()  # migrate ran it already; a no-op then
    categories = list(PartnerCategory.objects.prefetch_related("requirements").order_by("code"))
    roles = {role.code: role for role in Role.objects.select_related("group")}

    with transaction.atomic():
        # The demo operator tree (HQ → province → cities → counties).
        orgs: dict[str, OrgUnit] = {}
        for code, name, kind, parent in DEMO_ORGS:
            if kind in OrgUnit.OPERATOR_KINDS:
                orgs[code] = org_unit_create(
                    actor=None, code=code, name=name, kind=kind, parent=orgs.get(parent)
                )
        managing = [orgs[c] for c in ("GD-GZ", "GD-SZ", "GD-GZ-TH", "GD-GZ-HZ", "GD-SZ-NS")]

        province_pm = user_create(
            actor=None,
            username="bench_province_pm",
            display_name="省公司合作伙伴经理",
            org=orgs["GD"],
            password=PASSWORD,
            role_codes=["partner_manager"],
            must_change_password=False,
        )
        city_pm = user_create(
            actor=None,
            username="bench_city_pm",
            display_name="广州合作伙伴经理",
            org=orgs["GD-GZ"],
            password=PASSWORD,
            role_codes=["partner_manager"],
            must_change_password=False,
        )
        password_hash = make_password(PASSWORD)

        # Partner roots: bulk-created, then their materialised path set in one UPDATE
        # (a root's path is "/<own id>/", depth 0, as org_unit_create makes it).
        names = []
        for i in range(n_partners):
            names.append(
                f"{rng.choice(CITY_PREFIXES)}{rng.choice(NAME_WORDS)}{rng.choice(NAME_WORDS)}"
                f"{i:05d}{rng.choice(NAME_SUFFIXES)}"
            )
        roots = _bulk(
            OrgUnit,
            [
                OrgUnit(code=f"BP{i:06d}", name=names[i], kind=OrgUnit.Kind.PARTNER, depth=0)
                for i in range(n_partners)
            ],
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {OrgUnit._meta.db_table} SET path = '/' || id || '/' "  # noqa: S608
                "WHERE kind = 'partner' AND parent_id IS NULL AND path = ''"
            )

        statuses = []
        for i in range(n_partners):
            if i % 20 == 0:
                statuses.append(Partner.Status.SUBMITTED)
            elif i % 20 == 1:
                statuses.append(Partner.Status.EXITING)
            elif i % 50 == 2:
                statuses.append(Partner.Status.EXITED)
            else:
                statuses.append(Partner.Status.ACTIVE)

        admins = _bulk(
            User,
            [
                User(
                    username=f"bp{i:06d}_admin",
                    display_name=f"管理员{i:05d}",
                    email=f"bp{i:06d}@bench.prm.local",
                    mobile="13800138000",
                    org=roots[i],
                    password=password_hash,
                    must_change_password=False,
                    password_changed_at=now,
                )
                for i in range(n_partners)
            ],
        )
        through = User.groups.through
        _bulk(
            through,
            [
                through(
                    user_id=admins[i].pk,
                    group_id=roles[
                        "partner_applicant"
                        if statuses[i] in Partner.APPLICATION_STATUSES
                        else "partner_admin"
                    ].group_id,
                )
                for i in range(n_partners)
            ],
        )

        partner_rows = []
        for i in range(n_partners):
            status = statuses[i]
            is_application = status in Partner.APPLICATION_STATUSES
            managing_org = managing[i % len(managing)]
            first17 = f"91440101MB{i:07d}"
            decided_at = now - timedelta(days=rng.randrange(1, 800))
            partner_rows.append(
                Partner(
                    org=roots[i],
                    category=categories[i % len(categories)],
                    code=None if is_application else f"P-2026-{i:06d}",
                    status=status,
                    managing_org=managing_org,
                    manager=(
                        city_pm if managing_org.path.startswith(orgs["GD-GZ"].path) else province_pm
                    ),
                    admin_user=admins[i],
                    source=rng.choice(list(Partner.Source.values)),
                    company_name=names[i],
                    uscc=first17 + uscc_check_char(first17),
                    legal_representative="张三",
                    registered_capital=Decimal(rng.randrange(1, 500) * 100000),
                    address="广州市天河区体育西路 1 号",
                    contact_name="李四",
                    contact_phone="13800138000",
                    admin_email=f"bp{i:06d}@bench.prm.local",
                    bank_name="中国工商银行",
                    bank_account=f"6222{i:015d}",
                    business_scope="短信、彩铃及移动增值业务",
                    submitted_at=now - timedelta(days=rng.randrange(30, 900)),
                    approved_at=None if is_application else decided_at,
                    decided_at=None if is_application else decided_at,
                    tier="" if is_application else rng.choice(["A", "B", "C", "ordinary"]),
                    exited_at=now if status == Partner.Status.EXITED else None,
                )
            )
        partners = _bulk(Partner, partner_rows)
        working = [
            p for p in partners if p.status in (Partner.Status.ACTIVE, Partner.Status.EXITING)
        ]

        # Qualifications (3 per partner, from its category's checklist), agreements,
        # business codes.
        qualifications = []
        agreements = []
        codes = []
        for index, partner in enumerate(partners):
            requirements = list(partner.category.requirements.all())[:3]
            for j, requirement in enumerate(requirements):
                expires = today + timedelta(days=rng.randrange(-20, 900)) if j else None
                qualifications.append(
                    Qualification(
                        partner=partner,
                        requirement=requirement,
                        name=requirement.name,
                        number=f"Q{index:06d}{j}",
                        issuer="广东省市场监督管理局",
                        issued_on=today - timedelta(days=400),
                        expires_on=expires,
                        mandatory=requirement.mandatory,
                    )
                )
            if partner.code is None:
                continue
            agreements.append(
                Agreement(
                    partner=partner,
                    number=f"A-2026-{index:06d}",
                    title="合作协议",
                    status=Agreement.Status.ACTIVE,
                    starts_on=today - timedelta(days=200),
                    ends_on=today + timedelta(days=rng.randrange(10, 700)),
                    business_scope="移动增值业务合作",
                    settlement_model=Agreement.SettlementModel.REVENUE_SHARE,
                    revenue_share_percent=Decimal("30.00"),
                    signed_on=today - timedelta(days=210),
                    created_by=province_pm,
                )
            )
            if index % 3 == 0:
                agreements.append(
                    Agreement(
                        partner=partner,
                        number=f"A-2024-{index:06d}",
                        title="原合作协议",
                        status=Agreement.Status.TERMINATED,
                        starts_on=today - timedelta(days=900),
                        ends_on=today - timedelta(days=200),
                        business_scope="移动增值业务合作",
                        settlement_model=Agreement.SettlementModel.FIXED_FEE,
                        fixed_fee=Decimal("5000.00"),
                        created_by=province_pm,
                        terminated_at=now - timedelta(days=200),
                    )
                )
            for j in range(2):
                codes.append(
                    BusinessCode(
                        partner=partner,
                        code=f"10{index:06d}{j}",
                        name=f"彩铃业务 {j}",
                        service_type="sms",
                    )
                )
        _bulk(Qualification, qualifications)
        _bulk(Agreement, agreements)
        _bulk(BusinessCode, codes)

        # Announcements (~200) with a few receipts each.
        publishers = [orgs["HQ"], orgs["GD"], orgs["GD-GZ"], orgs["GD-SZ"]]
        announcements = []
        for k in range(200):
            status = (
                Announcement.Status.PUBLISHED
                if k % 10 < 8
                else (Announcement.Status.DRAFT if k % 10 == 8 else Announcement.Status.WITHDRAWN)
            )
            publish_from = now - timedelta(days=rng.randrange(0, 365), hours=rng.randrange(24))
            announcements.append(
                Announcement(
                    title=f"关于{KNOWLEDGE_WORD}业务规范的通知（第{k + 1}号）",
                    body="各合作伙伴：请按要求开展业务。" * 20,
                    status=status,
                    org=publishers[k % len(publishers)],
                    audience_all=k % 4 != 0,
                    audience_tiers=["A", "B"] if k % 8 == 0 else [],
                    publish_from=publish_from,
                    requires_ack=k % 5 == 0,
                    created_by=province_pm,
                    published_at=publish_from if status != Announcement.Status.DRAFT else None,
                )
            )
        announcements = _bulk(Announcement, announcements)
        category_through = Announcement.audience_categories.through
        _bulk(
            category_through,
            [
                category_through(announcement_id=a.pk, partnercategory_id=categories[j].pk)
                for n, a in enumerate(announcements)
                if not a.audience_all
                for j in ((n % len(categories)), ((n + 3) % len(categories)))
            ],
        )
        receipts = []
        for announcement in announcements:
            if announcement.status == Announcement.Status.DRAFT:
                continue
            for partner in rng.sample(working, min(20, len(working))):
                receipts.append(
                    AnnouncementReceipt(
                        announcement=announcement,
                        partner=partner,
                        read_by=partner.admin_user,
                        read_at=now,
                    )
                )
        _bulk(AnnouncementReceipt, receipts)

        # Breach cases (~2 k).
        case_count = min(2000, max(20, n_partners // 5))
        cases = []
        case_statuses = list(BreachCase.Status.values)
        for k in range(case_count):
            partner = working[(k * 7) % len(working)]
            cases.append(
                BreachCase(
                    number=f"BC-2026-{k + 1:06d}",
                    partner=partner,
                    org=partner.managing_org,
                    business=f"{KNOWLEDGE_WORD}包月业务",
                    violation_type=rng.choice(list(BreachCase.ViolationType.values)),
                    description="用户投诉未经同意订购。" * 5,
                    affected_users=rng.randrange(1, 5000),
                    impact=rng.choice(list(BreachCase.Impact.values)),
                    status=case_statuses[k % len(case_statuses)],
                    response_due=today + timedelta(days=rng.randrange(-10, 10)),
                    opened_by=province_pm,
                )
            )
        _bulk(BreachCase, cases)

        # Knowledge articles (1 k); a quarter mention the searched word.
        knowledge_statuses = [KnowledgeArticle.Status.PUBLISHED] * 8 + [
            KnowledgeArticle.Status.IN_REVIEW,
            KnowledgeArticle.Status.DRAFT,
        ]
        articles = []
        for k in range(1000):
            mention = k % 4 == 0
            status = knowledge_statuses[k % len(knowledge_statuses)]
            author = province_pm if k % 2 else city_pm
            articles.append(
                KnowledgeArticle(
                    title=f"{'本月' + KNOWLEDGE_WORD if mention else '流量包'}营销经验 {k + 1}",
                    category=rng.choice(list(KnowledgeArticle.Category.values)),
                    summary="一线营销经验分享",
                    body=("本月" + (KNOWLEDGE_WORD if mention else "套餐") + "业务推广经验。") * 40,
                    tags="营销,经验",
                    status=status,
                    audience_partners=k % 10 != 0,
                    org=author.org,
                    author=author,
                    published_at=(
                        now - timedelta(days=rng.randrange(0, 365))
                        if status == KnowledgeArticle.Status.PUBLISHED
                        else None
                    ),
                )
            )
        _bulk(KnowledgeArticle, articles)

        # Public notices (500; one in ten addressed back-to-back to one partner).
        notices = []
        for k in range(500):
            partner = working[(k * 13) % len(working)]
            notices.append(
                PublicNotice(
                    kind=rng.choice(list(PublicNotice.Kind.values)),
                    title=f"合作伙伴公示 {k + 1}",
                    body="公示内容。" * 30,
                    only_partner=partner if k % 10 == 0 else None,
                    partner=partner,
                    org=publishers[k % len(publishers)],
                    published_at=now - timedelta(days=rng.randrange(0, 365)),
                )
            )
        _bulk(PublicNotice, notices)

        # The partner admins the load signs in as (partners with breach cases).
        case_partner_ids = [c.partner_id for c in cases[: args.partner_admins * 7 : 7]]
        by_id = {p.pk: p for p in partners}
        load_partners = [by_id[pk] for pk in dict.fromkeys(case_partner_ids)][: args.partner_admins]

        _token, province_token = api_token_create(
            actor=None, user=province_pm, label="bench", scopes=["partners.read"]
        )
        _token, city_token = api_token_create(
            actor=None, user=city_pm, label="bench", scopes=["partners.read"]
        )
        partner_tokens = {}
        for partner in load_partners:
            _token, raw = api_token_create(
                actor=None, user=partner.admin_user, label="bench", scopes=["partners.read"]
            )
            partner_tokens[partner.admin_user.username] = raw

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    def codes_under(path: str) -> list[str]:
        return sorted(p.code for p in partners if p.code and p.managing_org.path.startswith(path))

    def visible_count(path: str) -> int:
        return sum(1 for p in partners if p.managing_org.path.startswith(path))

    gz_path = orgs["GD-GZ"].path
    province_codes = codes_under(orgs["GD"].path)
    city_codes = codes_under(gz_path)
    counts = {
        "org_units": OrgUnit.objects.count(),
        "users": User.objects.count(),
        "partners": Partner.objects.count(),
        "qualifications": Qualification.objects.count(),
        "agreements": Agreement.objects.count(),
        "business_codes": BusinessCode.objects.count(),
        "announcements": Announcement.objects.count(),
        "announcement_receipts": AnnouncementReceipt.objects.count(),
        "breach_cases": BreachCase.objects.count(),
        "knowledge_articles": KnowledgeArticle.objects.count(),
        "public_notices": PublicNotice.objects.count(),
    }
    result = {
        "seconds": round(time.perf_counter() - started, 1),
        "counts": counts,
        "password": PASSWORD,
        "users": {
            "province": {
                "username": province_pm.username,
                "token": province_token,
                "codes": rng.sample(province_codes, min(2000, len(province_codes))),
                "visible": visible_count(orgs["GD"].path),
            },
            "city": {
                "username": city_pm.username,
                "token": city_token,
                "codes": rng.sample(city_codes, min(2000, len(city_codes))),
                "visible": visible_count(gz_path),
            },
            "partners": [
                {
                    "username": p.admin_user.username,
                    "token": partner_tokens[p.admin_user.username],
                    "codes": [p.code],
                    "visible": 1,
                }
                for p in load_partners
            ],
        },
    }
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False))


# ---------------------------------------------------------------------------------------
# The request mix
# ---------------------------------------------------------------------------------------

PAGE_SIZE = 50


def endpoints_for(role: str, info: dict) -> list[tuple[str, object]]:
    """(endpoint name, path or callable(rng) -> path) for a client of ``role``."""
    codes = info["codes"]
    q_knowledge = urllib.parse.quote(KNOWLEDGE_WORD)
    portal = [
        ("portal.announcements", "/portal/announcements/"),
        ("portal.cases", "/portal/cases/"),
        ("portal.knowledge?q=彩铃", f"/portal/knowledge/?q={q_knowledge}"),
        ("portal.notices", "/portal/notices/"),
    ]
    api = [
        ("api.partners.list", "/api/v1/partners/?limit=50"),
        ("api.partners.detail", lambda rng: f"/api/v1/partners/{rng.choice(codes)}"),
    ]
    if role == "partner":
        return [("partners.my_company", "/partners/my-company/"), *api, *portal]
    pages = max(1, -(-info["visible"] // PAGE_SIZE))
    deep = max(1, int(pages * 0.8))
    return [
        ("partners.list", "/partners/"),
        ("partners.list?q", f"/partners/?q={urllib.parse.quote(SEARCH_WORD)}"),
        ("partners.list?filter", "/partners/?status=active&category=sp"),
        ("partners.list?page=deep", f"/partners/?page={deep}"),
        ("partners.detail", lambda rng: f"/partners/{rng.choice(codes)}/"),
        *api,
        *portal,
    ]


def client_plan(seed: dict, clients: int) -> list[tuple[str, dict, str]]:
    """(role, user info, audience) per client: 40 % province, 40 % city, 20 % partner."""
    users = seed["users"]
    n_partner = max(1, round(clients * 0.2)) if users["partners"] else 0
    n_province = (clients - n_partner + 1) // 2
    plan = []
    for k in range(clients):
        if k < n_province:
            plan.append(("province", users["province"], "staff"))
        elif k < clients - n_partner:
            plan.append(("city", users["city"], "staff"))
        else:
            info = users["partners"][k % len(users["partners"])]
            plan.append(("partner", info, "partner"))
    return plan


# ---------------------------------------------------------------------------------------
# Stage: query counts (child process, Django test client)
# ---------------------------------------------------------------------------------------


def stage_queries(args) -> None:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from prm.accounts.models import User

    seed = json.loads(Path(args.seed_file).read_text())
    rng = random.Random(1)
    out = {}
    for role, info in (
        ("province", seed["users"]["province"]),
        ("city", seed["users"]["city"]),
        ("partner", seed["users"]["partners"][0] if seed["users"]["partners"] else None),
    ):
        if info is None:
            continue
        client = Client()
        client.force_login(User.objects.get(username=info["username"]))
        audience = "partner" if role == "partner" else "staff"
        for name, target in endpoints_for(audience, info):
            path = target(rng) if callable(target) else target
            client.get(path)  # warm caches (content types, permissions, templates)
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(path)
                wall = (time.perf_counter() - t0) * 1000
            timed = sorted(
                (
                    {"ms": float(q["time"]) * 1000, "sql": q["sql"]}
                    for q in queries.captured_queries
                ),
                key=lambda q: -q["ms"],
            )
            out[f"{name} [{role}]"] = {
                "path": path,
                "status": response.status_code,
                "queries": len(queries.captured_queries),
                "sql_ms": round(sum(q["ms"] for q in timed), 1),
                "wall_ms": round(wall, 1),
                "slowest": [{"ms": round(q["ms"], 1), "sql": q["sql"][:600]} for q in timed[:3]],
            }
    Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1))


# ---------------------------------------------------------------------------------------
# A small keep-alive HTTP/1.1 client on asyncio streams
# ---------------------------------------------------------------------------------------


class HttpConnection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, method: str, path: str, headers: dict, body: bytes = b""):
        for attempt in (1, 2):
            reused = self.writer is not None
            if not reused:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                return await self._exchange(method, path, headers, body)
            except (ConnectionError, asyncio.IncompleteReadError, EOFError):
                await self.close()
                if not reused or attempt == 2:  # a fresh connection failed: give up
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, method, path, headers, body):
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise EOFError
        status = int(status_line.split(b" ", 2)[1])
        response_headers: dict[str, list[str]] = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            key, _, value = line.decode("latin-1").partition(":")
            response_headers.setdefault(key.strip().lower(), []).append(value.strip())
        if "chunked" in ",".join(response_headers.get("transfer-encoding", [])).lower():
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readline()
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            data = b"".join(chunks)
        elif "content-length" in response_headers:
            data = await self.reader.readexactly(int(response_headers["content-length"][0]))
        elif method == "HEAD" or status in (204, 304):
            data = b""
        else:
            data = await self.reader.read()
            await self.close()
        if "close" in ",".join(response_headers.get("connection", [])).lower():
            await self.close()
        return status, response_headers, data


def _cookies(headers: dict) -> dict[str, str]:
    jar = {}
    for value in headers.get("set-cookie", []):
        name, _, rest = value.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, ms: float, ok: bool, note: str = "") -> None:
        self.latencies.setdefault(name, []).append(ms)
        if not ok:
            self.errors[name] = self.errors.get(name, 0) + 1
            samples = self.error_samples.setdefault(name, [])
            if len(samples) < 3:
                samples.append(note)


async def sign_in(conn: HttpConnection, username: str, password: str) -> dict[str, str]:
    status, headers, body = await conn.request("GET", "/accounts/login/", {})
    jar = _cookies(headers)
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if status != 200 or not match or "csrftoken" not in jar:
        raise RuntimeError(f"login page: HTTP {status}")
    form = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": match.group(1).decode(),
            "username": username,
            "password": password,
        }
    ).encode()
    status, headers, body = await conn.request(
        "POST",
        "/accounts/login/",
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={jar['csrftoken']}",
        },
        form,
    )
    jar.update(_cookies(headers))
    if status != 302 or "sessionid" not in jar:
        raise RuntimeError(f"login of {username}: HTTP {status}")
    return jar


async def run_client(k, role, info, audience, seed, host, port, stats, clock, login_gate, think):
    rng = random.Random(1000 + k)
    conn = HttpConnection(host, port)
    async with login_gate:
        jar = await sign_in(conn, info["username"], seed["password"])
    cookie = "; ".join(f"{name}={value}" for name, value in jar.items())
    page_headers = {"Cookie": cookie, "Accept": "text/html"}
    api_headers = {"Authorization": f"Bearer {info['token']}", "Accept": "application/json"}
    mix = endpoints_for(audience, info)
    clock["ready"] += 1
    await clock["go"].wait()
    try:
        while True:
            now = time.perf_counter()
            if now >= clock["end"]:
                break
            name, target = rng.choice(mix)
            path = target(rng) if callable(target) else target
            headers = api_headers if path.startswith("/api/") else page_headers
            t0 = time.perf_counter()
            try:
                status, _headers, body = await conn.request("GET", path, headers)
                ok, note = 200 <= status < 300, f"HTTP {status} {path}"
            except (OSError, asyncio.IncompleteReadError, EOFError, ValueError) as exc:
                ok, note = False, f"{exc.__class__.__name__} {path}"
                await conn.close()
            ms = (time.perf_counter() - t0) * 1000
            if t0 >= clock["start"]:
                stats.add(f"{name} [{audience}]", ms, ok, note)
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think / 1000)
    finally:
        await conn.close()


def _cpu_ticks() -> tuple[int, int]:
    """(all, idle) clock ticks of the machine since boot (/proc/stat)."""
    parts = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in parts[:8]]
    idle = values[3] + values[4]
    return sum(values), idle


def _process_ticks(pids) -> int:
    """user + system clock ticks of the given processes (those still alive)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def _children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == parent:
                pids.append(int(entry.name))
    return pids


class CpuMeter:
    """Who used the machine's CPU during the measured window: gunicorn (master and
    workers), PostgreSQL backends serving the bench database, this load generator, and
    everything else (other processes on the machine)."""

    def __init__(self, server_pid: int | None, db_pids):
        self.server_pids = [server_pid, *_children(server_pid)] if server_pid else []
        self.db_pids = db_pids

    def sample(self) -> dict:
        machine, idle = _cpu_ticks()
        own = os.times()
        return {
            "machine": machine,
            "idle": idle,
            "server": _process_ticks(self.server_pids),
            "db": _process_ticks(self.db_pids()),
            "own": (own.user + own.system) * os.sysconf("SC_CLK_TCK"),
        }

    @staticmethod
    def shares(before: dict, after: dict) -> dict:
        total = after["machine"] - before["machine"]
        if total <= 0:
            return {}

        def pct(ticks: float) -> float:
            return round(100.0 * ticks / total, 1)

        busy = total - (after["idle"] - before["idle"])
        server = after["server"] - before["server"]
        db = after["db"] - before["db"]
        own = after["own"] - before["own"]
        return {
            "busy": pct(busy),
            "gunicorn": pct(server),
            "postgres": pct(db),
            "load_generator": pct(own),
            "other_processes": pct(max(0.0, busy - server - db - own)),
        }


async def run_load(seed, host, port, clients, warmup, seconds, think_ms, meter) -> dict:
    stats = Stats()
    loop = asyncio.get_running_loop()
    clock = {"ready": 0, "go": asyncio.Event(), "start": float("inf"), "end": float("inf")}
    login_gate = asyncio.Semaphore(10)
    plan = client_plan(seed, clients)
    tasks = [
        loop.create_task(
            run_client(
                k, role, info, audience, seed, host, port, stats, clock, login_gate, think_ms
            )
        )
        for k, (role, info, audience) in enumerate(plan)
    ]
    login_started = time.perf_counter()
    while clock["ready"] < clients:
        failed = [t for t in tasks if t.done() and t.exception()]
        if failed:
            raise RuntimeError(f"a client failed to start: {failed[0].exception()!r}")
        await asyncio.sleep(0.05)
    print(f"  {clients} clients signed in in {time.perf_counter() - login_started:.1f} s")
    t0 = time.perf_counter()
    clock["start"], clock["end"] = t0 + warmup, t0 + warmup + seconds
    clock["go"].set()
    await asyncio.sleep(warmup)
    before = meter.sample()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - clock["start"]
    return {"stats": stats, "elapsed": elapsed, "cpu": CpuMeter.shares(before, meter.sample())}


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def summarise(stats: Stats, elapsed: float) -> dict:
    rows = {}
    everything: list[float] = []
    for name in sorted(stats.latencies):
        values = sorted(stats.latencies[name])
        everything.extend(values)
        rows[name] = {
            "requests": len(values),
            "errors": stats.errors.get(name, 0),
            "p50_ms": round(_percentile(values, 50), 1),
            "p95_ms": round(_percentile(values, 95), 1),
            "p99_ms": round(_percentile(values, 99), 1),
            "max_ms": round(values[-1], 1),
            "rps": round(len(values) / elapsed, 1),
            "error_samples": stats.error_samples.get(name, []),
        }
    everything.sort()
    overall = {
        "requests": len(everything),
        "errors": sum(stats.errors.values()),
        "p50_ms": round(_percentile(everything, 50), 1),
        "p95_ms": round(_percentile(everything, 95), 1),
        "p99_ms": round(_percentile(everything, 99), 1),
        "max_ms": round(everything[-1], 1) if everything else 0.0,
        "rps": round(len(everything) / elapsed, 1),
    }
    return {"endpoints": rows, "overall": overall}


def print_table(summary: dict, queries: dict, target_p95: float, target_p99: float) -> None:
    header = (
        f"{'endpoint':38} {'req':>6} {'err':>5} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'rps':>6} {'SQL':>4}"
    )
    print(header)
    print("-" * len(header))
    for name, row in summary["endpoints"].items():
        flag = ""
        if row["p95_ms"] > target_p95 or row["p99_ms"] > target_p99:
            flag = "  > target"
        n_sql = _query_count(queries, name)
        print(
            f"{name:38} {row['requests']:>6} {row['errors']:>5} {row['p50_ms']:>7.1f} "
            f"{row['p95_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['rps']:>6.1f} "
            f"{n_sql:>4}{flag}"
        )
    row = summary["overall"]
    print("-" * len(header))
    print(
        f"{'overall':38} {row['requests']:>6} {row['errors']:>5} {row['p50_ms']:>7.1f} "
        f"{row['p95_ms']:>7.1f} {row['p99_ms']:>7.1f} {row['rps']:>6.1f}"
    )


def _query_count(queries: dict, name: str) -> str:
    """The SQL count of an endpoint (province user for staff lines)."""
    endpoint, _, audience = name.rpartition(" [")
    role = "partner" if audience.startswith("partner") else "province"
    entry = queries.get(f"{endpoint} [{role}]")
    return str(entry["queries"]) if entry else "-"


# ---------------------------------------------------------------------------------------
# Orchestration: database, child stages, gunicorn
# ---------------------------------------------------------------------------------------


def _admin_connect(args):
    import psycopg

    return psycopg.connect(
        host=args.db_host, port=args.db_port, user=args.db_user, dbname="postgres", autocommit=True
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_http(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    import http.client

    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _run_stage(stage: str, env: dict, extra: list[str]) -> None:
    subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--stage", stage, *extra],
        env=env,
        cwd=REPO_DIR,
        check=True,
    )


def main_run(args) -> int:
    cores = os.cpu_count() or 1
    workers = args.workers or (2 * cores + 1)
    db_name = f"prm_bench_{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix="prm_bench_"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "prm.settings",
        "PRM_MODE": "production",
        "PRM_SECRET_KEY": secrets.token_urlsafe(50),
        "PRM_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PRM_DATABASE_URL": f"postgres://{args.db_user}@{args.db_host}:{args.db_port}/{db_name}",
        "PRM_VAR_DIR": str(tmp / "var"),
        "PRM_LOG_LEVEL": "WARNING",
        "PRM_EMAIL_BACKEND": "locmem",
        "PYTHONPATH": str(REPO_DIR),
    }
    env.pop("PRM_BROKER_URL", None)
    server: subprocess.Popen | None = None
    admin = _admin_connect(args)
    print(f"database {db_name} on {args.db_host}:{args.db_port}")
    admin.execute(f'CREATE DATABASE "{db_name}"')
    try:
        t0 = time.perf_counter()
        prm = VENV_BIN / "prm"
        migrate = [str(prm)] if prm.exists() else [sys.executable, "-m", "prm.cli"]
        subprocess.run(
            [*migrate, "migrate", "--noinput", "-v", "0"], env=env, cwd=REPO_DIR, check=True
        )
        print(f"  migrated in {time.perf_counter() - t0:.1f} s")
        seed_file = tmp / "seed.json"
        _run_stage(
            "seed",
            env,
            [
                "--partners",
                str(args.partners),
                "--partner-admins",
                str(args.partner_admins),
                "--out",
                str(seed_file),
            ],
        )
        seed = json.loads(seed_file.read_text())
        print(f"  seeded in {seed['seconds']} s: {seed['counts']}")

        queries: dict = {}
        if not args.no_queries:
            queries_file = tmp / "queries.json"
            _run_stage(
                "queries",
                {**env, "PRM_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"},
                ["--seed-file", str(seed_file), "--out", str(queries_file)],
            )
            queries = json.loads(queries_file.read_text())
            bad = {k: v["status"] for k, v in queries.items() if v["status"] != 200}
            if bad:
                print(f"  WARNING: non-200 answers in the query count: {bad}")

        port = _free_port()
        gunicorn = [
            str(VENV_BIN / "gunicorn"),
            "prm.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--keep-alive",
            "5",
            "--log-level",
            "warning",
            *shlex.split(args.gunicorn_args),
        ]
        server = subprocess.Popen(gunicorn, env=env, cwd=REPO_DIR, start_new_session=True)
        _wait_http(port, server)
        print(
            f"gunicorn on 127.0.0.1:{port}: {workers} workers × {args.threads} threads "
            f"({args.worker_class}), {cores} cores shared with PostgreSQL and the load"
        )
        idle_before = _machine_busy(2.0)
        print(f"machine busy before the load (other processes): {idle_before} %")
        print(
            f"load: {args.clients} clients, think time {args.think_ms} ms, "
            f"{args.warmup} s warm-up, {args.seconds} s measured"
        )

        def db_pids() -> list[int]:
            return [
                row[0]
                for row in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", (db_name,)
                ).fetchall()
            ]

        meter = CpuMeter(server.pid, db_pids)
        load = asyncio.run(
            run_load(
                seed,
                "127.0.0.1",
                port,
                args.clients,
                args.warmup,
                args.seconds,
                args.think_ms,
                meter,
            )
        )
        summary = summarise(load["stats"], load["elapsed"])
        print()
        print_table(summary, queries, args.target_p95, args.target_p99)
        cpu = load["cpu"]
        print(
            f"\nCPU of the machine ({cores} cores) during the window: busy {cpu.get('busy')} % = "
            f"gunicorn {cpu.get('gunicorn')} % + PostgreSQL {cpu.get('postgres')} % + "
            f"load generator {cpu.get('load_generator')} % + other processes "
            f"{cpu.get('other_processes')} %"
        )
        requests = summary["overall"]["requests"] or 1
        cpu_ms = {
            key: round(cpu.get(key, 0) / 100 * cores * load["elapsed"] * 1000 / requests, 1)
            for key in ("gunicorn", "postgres")
        }
        print(
            f"server CPU per request: {cpu_ms['gunicorn'] + cpu_ms['postgres']:.1f} ms "
            f"(Python {cpu_ms['gunicorn']} ms + PostgreSQL {cpu_ms['postgres']} ms); the "
            f"capacity of {cores} free cores would be about "
            f"{cores * 1000 / max(0.1, cpu_ms['gunicorn'] + cpu_ms['postgres']):.0f} requests/s"
        )
        RESULTS_DIR.mkdir(exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        result_file = RESULTS_DIR / f"web_latency-{stamp}.json"
        result = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "started": stamp,
            "machine": {"cores": cores, "platform": sys.platform},
            "server": {
                "gunicorn": gunicorn[1:],
                "workers": workers,
                "threads": args.threads,
                "worker_class": args.worker_class,
            },
            "load": {
                "clients": args.clients,
                "warmup_s": args.warmup,
                "seconds": args.seconds,
                "elapsed_s": round(load["elapsed"], 2),
                "think_time_ms": args.think_ms,
                "machine_busy_before_percent": idle_before,
                "cpu_percent_of_machine": cpu,
                "server_cpu_ms_per_request": cpu_ms,
            },
            "data": seed["counts"],
            "targets": {"p95_ms": args.target_p95, "p99_ms": args.target_p99},
            "results": summary,
            "sql_per_request": queries,
        }
        result_file.write_text(json.dumps(result, ensure_ascii=False, indent=1))
        print(f"written {result_file.relative_to(REPO_DIR)}")
        overall = summary["overall"]
        return 0 if overall["errors"] == 0 else 1
    finally:
        _stop(server)
        if args.keep_db:
            print(f"kept database {db_name}")
        else:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            print(f"dropped database {db_name}")
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _machine_busy(seconds: float) -> float:
    before = _cpu_ticks()
    time.sleep(seconds)
    after = _cpu_ticks()
    total = after[0] - before[0]
    return round(100.0 * (total - (after[1] - before[1])) / total, 1) if total else 0.0


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=30, help="measured time")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of load not measured")
    parser.add_argument(
        "--workers", type=int, default=0, help="gunicorn workers (default 2 × cores + 1)"
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument(
        "--worker-class",
        default="sync",
        help="gunicorn worker class (sync: requests queue fairly on the shared socket)",
    )
    parser.add_argument("--gunicorn-args", default="", help="more gunicorn options")
    parser.add_argument(
        "--think-ms",
        type=int,
        default=0,
        help="mean pause of a client between requests (0: closed loop, as wrk)",
    )
    parser.add_argument("--partner-admins", type=int, default=10, help="partner users of the load")
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--db-user", default="postgres")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument("--no-queries", action="store_true", help="skip the SQL count stage")
    parser.add_argument("--target-p95", type=float, default=150.0)
    parser.add_argument("--target-p99", type=float, default=400.0)
    # Internal: the child stages.
    parser.add_argument("--stage", choices=["run", "seed", "queries"], default="run")
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--seed-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "seed":
        stage_seed(args)
        return 0
    if args.stage == "queries":
        stage_queries(args)
        return 0
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return main_run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
