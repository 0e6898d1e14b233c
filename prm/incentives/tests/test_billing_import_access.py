"""Billing store pages and API: who may do what (anonymous, a partner user, staff of
another city, staff without the permission, the allowed users), the job page with its
htmx progress, the upload through the page and the API, and the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from prm.accounts.models import User
from prm.accounts.services import api_token_create
from prm.incentives.billing_cli import billing_import_cli
from prm.incentives.models import BillingImport, BillingMonth
from prm.incentives.tests.test_billing_import import (
    MONTH,
    csv_bytes,
    good_rows,
    import_month,
    products,
    read_store,
    store_snapshot,
    uploads,
)

pytestmark = pytest.mark.django_db


@dataclass
class World:
    manager_a: User
    manager_b: User
    manager_province: User
    manager_county: User
    auditor_a: User
    no_permission: User
    partner_user: User
    job: BillingImport


FILES = {
    table: {"sha256": f"{index:064x}", "rows": 3, "name": f"{table}.csv"}
    for index, table in enumerate(("subscribers", "usage_monthly", "billing"), start=1)
}


@pytest.fixture
def world(orgs, make_user) -> World:
    """A month imported by manager_a (rows as an import leaves them; the access rules need
    no files, and the tests that read the store run a real import)."""
    products()
    manager_a = make_user(org=orgs.city_a, roles=("channel_manager",))
    User.objects.filter(pk=manager_a.pk).update(language="en")
    manager_a.refresh_from_db()
    now = timezone.now()
    job = BillingImport.objects.create(
        month=MONTH,
        actor=manager_a,
        staging_dir="",
        status=BillingImport.Status.SUCCEEDED,
        progress=100,
        files=FILES,
        finished_at=now,
    )
    BillingMonth.objects.create(month=MONTH, revision=1, files=FILES, imported_at=now)
    return World(
        manager_a=manager_a,
        manager_b=make_user(org=orgs.city_b, roles=("channel_manager",)),
        manager_province=make_user(org=orgs.province, roles=("channel_manager",)),
        manager_county=make_user(org=orgs.county_a, roles=("channel_manager",)),
        auditor_a=make_user(org=orgs.city_a, roles=("auditor",)),
        no_permission=make_user(org=orgs.city_a, roles=("account_manager",)),
        partner_user=make_user(org=orgs.partner, roles=("partner_admin",)),
        job=job,
    )


def _login(client, world: World, who: str | None):
    if who is not None:
        client.force_login(getattr(world, who))
    return client


PAGES = [
    # the months
    ("months anonymous", None, "/incentives/billing/", 302),
    ("months partner", "partner_user", "/incentives/billing/", 403),
    ("months without permission", "no_permission", "/incentives/billing/", 403),
    ("months auditor", "auditor_a", "/incentives/billing/", 200),
    ("months other city", "manager_b", "/incentives/billing/", 200),
    ("months manager", "manager_a", "/incentives/billing/", 200),
    # one month (the store is operator-wide)
    ("month anonymous", None, "/incentives/billing/2026-03/", 302),
    ("month partner", "partner_user", "/incentives/billing/2026-03/", 403),
    ("month without permission", "no_permission", "/incentives/billing/2026-03/", 403),
    ("month other city", "manager_b", "/incentives/billing/2026-03/", 200),
    ("month auditor", "auditor_a", "/incentives/billing/2026-03/", 200),
    ("month not imported", "manager_a", "/incentives/billing/2026-04/", 404),
    ("month malformed", "manager_a", "/incentives/billing/2026-13/", 404),
    # the upload form
    ("form anonymous", None, "/incentives/billing/import/", 302),
    ("form partner", "partner_user", "/incentives/billing/import/", 403),
    ("form without permission", "no_permission", "/incentives/billing/import/", 403),
    ("form auditor", "auditor_a", "/incentives/billing/import/", 403),
    ("form county manager", "manager_county", "/incentives/billing/import/", 403),
    ("form province manager", "manager_province", "/incentives/billing/import/", 200),
    ("form manager", "manager_a", "/incentives/billing/import/", 200),
    # the job page (imports are scoped to the importer's subtree)
    ("job anonymous", None, "/incentives/billing/imports/{id}/", 302),
    ("job partner", "partner_user", "/incentives/billing/imports/{id}/", 403),
    ("job without permission", "no_permission", "/incentives/billing/imports/{id}/", 403),
    ("job other city", "manager_b", "/incentives/billing/imports/{id}/", 404),
    ("job auditor same city", "auditor_a", "/incentives/billing/imports/{id}/", 200),
    ("job province manager", "manager_province", "/incentives/billing/imports/{id}/", 200),
    ("job manager", "manager_a", "/incentives/billing/imports/{id}/", 200),
    ("job unknown", "manager_a", "/incentives/billing/imports/999999/", 404),
    ("progress anonymous", None, "/incentives/billing/imports/{id}/progress/", 302),
    ("progress other city", "manager_b", "/incentives/billing/imports/{id}/progress/", 404),
    ("progress manager", "manager_a", "/incentives/billing/imports/{id}/progress/", 200),
]


@pytest.mark.parametrize(("_case", "who", "path", "status"), PAGES)
def test_page_access(client, world, _case, who, path, status):
    _login(client, world, who)

    response = client.get(path.format(id=world.job.pk))

    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/accounts/login/")


def test_months_page_lists_months_and_only_imports_of_the_subtree(client, world):
    client.force_login(world.manager_b)

    response = client.get("/incentives/billing/")

    content = response.content.decode()
    assert content.count('data-testid="billing-month-row"') == 1
    assert 'data-testid="billing-import-row"' not in content
    client.force_login(world.manager_a)
    content = client.get("/incentives/billing/").content.decode()
    assert content.count('data-testid="billing-import-row"') == 1
    assert 'data-testid="billing-import-new"' in content


def test_month_page_shows_files_hashes_and_history(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    import_month(world.manager_a, capture=django_capture_on_commit_callbacks)
    client.force_login(world.auditor_a)

    response = client.get("/incentives/billing/2026-03/")

    content = response.content.decode()
    month = BillingMonth.objects.get()
    assert content.count('data-testid="billing-month-file"') == 5
    assert month.files["billing"]["sha256"] in content
    assert "billing_month.replaced" in content  # the fixture's month was revision 1
    assert 'data-testid="billing-month-reimport"' not in content  # the auditor cannot import


def test_upload_through_the_page_runs_the_import(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world.manager_a)
    rows = good_rows()
    rows["billing"] = [("13800130001", "CRBT", "2026-03-01", "6.00")]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/incentives/billing/import/", {"month": "2026-03", "files": uploads(rows)}
        )

    job = BillingImport.objects.latest("pk")
    assert response.status_code == 302
    assert response["Location"] == f"/incentives/billing/imports/{job.pk}/"
    assert job.status == BillingImport.Status.SUCCEEDED
    assert BillingMonth.objects.get().revision == 2
    assert str(read_store(MONTH, "billing")[0][3]) == "6.00"
    page = client.get(response["Location"]).content.decode()
    assert 'data-status="succeeded"' in page
    assert "hx-trigger" not in page  # a finished job does not poll


def test_page_upload_errors_are_shown_and_nothing_is_written(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world.manager_a)
    store, jobs = store_snapshot(), BillingImport.objects.count()

    response = client.post(
        "/incentives/billing/import/",
        {"month": "2026-03", "files": uploads({"usage_daily": good_rows()["usage_daily"]})},
    )

    assert response.status_code == 400
    assert "The subscribers table" in response.content.decode()
    assert (store_snapshot(), BillingImport.objects.count()) == (store, jobs)


def test_page_upload_by_an_auditor_is_refused(client, world):
    client.force_login(world.auditor_a)
    jobs = BillingImport.objects.count()

    response = client.post(
        "/incentives/billing/import/", {"month": "2026-03", "files": uploads(good_rows())}
    )

    assert response.status_code == 403
    assert BillingImport.objects.count() == jobs


def test_job_page_polls_while_queued_and_refreshes_when_done(client, world):
    client.force_login(world.manager_a)
    queued = BillingImport.objects.create(month=MONTH, actor=world.manager_a, staging_dir="")

    page = client.get(f"/incentives/billing/imports/{queued.pk}/").content.decode()
    partial = client.get(
        f"/incentives/billing/imports/{world.job.pk}/progress/", HTTP_HX_REQUEST="true"
    )

    assert f'hx-get="/incentives/billing/imports/{queued.pk}/progress/"' in page
    assert partial["HX-Refresh"] == "true"
    assert "Cache-Control" in partial and "no-store" in partial["Cache-Control"]


# API --------------------------------------------------------------------------------------------

API = [
    ("months anonymous", None, "get", "/api/v1/incentives/billing/months", 401),
    ("months partner", "partner_user", "get", "/api/v1/incentives/billing/months", 403),
    ("months without permission", "no_permission", "get", "/api/v1/incentives/billing/months", 403),
    ("months other city", "manager_b", "get", "/api/v1/incentives/billing/months", 200),
    ("months auditor", "auditor_a", "get", "/api/v1/incentives/billing/months", 200),
    ("month anonymous", None, "get", "/api/v1/incentives/billing/months/2026-03", 401),
    ("month manager", "manager_a", "get", "/api/v1/incentives/billing/months/2026-03", 200),
    ("month not imported", "manager_a", "get", "/api/v1/incentives/billing/months/2026-04", 404),
    ("month malformed", "manager_a", "get", "/api/v1/incentives/billing/months/March", 404),
    ("import anonymous", None, "get", "/api/v1/incentives/billing/imports/{id}", 401),
    ("import partner", "partner_user", "get", "/api/v1/incentives/billing/imports/{id}", 403),
    ("import other city", "manager_b", "get", "/api/v1/incentives/billing/imports/{id}", 404),
    (
        "import no permission",
        "no_permission",
        "get",
        "/api/v1/incentives/billing/imports/{id}",
        403,
    ),
    ("import manager", "manager_a", "get", "/api/v1/incentives/billing/imports/{id}", 200),
    ("upload anonymous", None, "post", "/api/v1/incentives/billing/imports", 401),
    ("upload partner", "partner_user", "post", "/api/v1/incentives/billing/imports", 403),
    ("upload auditor", "auditor_a", "post", "/api/v1/incentives/billing/imports", 403),
    ("upload county manager", "manager_county", "post", "/api/v1/incentives/billing/imports", 403),
    (
        "upload without permission",
        "no_permission",
        "post",
        "/api/v1/incentives/billing/imports",
        403,
    ),
]


@pytest.mark.parametrize(("_case", "who", "method", "path", "status"), API)
def test_api_access(client, world, _case, who, method, path, status):
    _login(client, world, who)
    store, jobs = store_snapshot(), BillingImport.objects.count()
    data = {"month": "2026-03", "files": uploads(good_rows())} if method == "post" else None

    response = getattr(client, method)(path.format(id=world.job.pk), data)

    assert response.status_code == status
    assert (store_snapshot(), BillingImport.objects.count()) == (store, jobs)


def test_api_month_detail(client, world):
    client.force_login(world.auditor_a)

    body = client.get("/api/v1/incentives/billing/months/2026-03").json()

    month = BillingMonth.objects.get()
    assert body["month"] == "2026-03"
    assert body["revision"] == 1
    assert body["locked_at"] is None
    assert body["files"] == month.files


def test_api_upload_queues_and_runs_the_import(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.manager_a)
    rows = good_rows()
    rows["billing"] = [("13800130002", "WBR", "2026-03-01", "2.50")]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/incentives/billing/imports", {"month": "2026-03", "files": uploads(rows)}
        )

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["imported_by"] == world.manager_a.username
    followed = client.get(f"/api/v1/incentives/billing/imports/{body['id']}").json()
    assert followed["status"] == "succeeded"
    assert followed["progress"] == 100
    assert read_store(MONTH, "billing")[0][1:] == ("WBR", MONTH, read_store(MONTH, "billing")[0][3])
    assert BillingMonth.objects.get().revision == 2


def test_api_upload_refusal_has_a_stable_code(client, world):
    client.force_login(world.manager_a)
    BillingMonth.objects.update(locked_at="2026-05-15T10:00:00+08:00")

    response = client.post(
        "/api/v1/incentives/billing/imports", {"month": "2026-03", "files": uploads(good_rows())}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "billing_month_locked"


def test_api_token_needs_the_write_scope_to_upload(client, world):
    _token, raw = api_token_create(
        actor=world.manager_a,
        user=world.manager_a,
        label="billing feed",
        scopes=["incentives.read"],
    )
    jobs = BillingImport.objects.count()

    listed = client.get("/api/v1/incentives/billing/months", HTTP_AUTHORIZATION=f"Bearer {raw}")
    refused = client.post(
        "/api/v1/incentives/billing/imports",
        {"month": "2026-03", "files": uploads(good_rows())},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )

    assert listed.status_code == 200
    assert refused.status_code == 403
    assert refused.json()["code"] == "token_scope"
    assert BillingImport.objects.count() == jobs


# CLI --------------------------------------------------------------------------------------------


def _month_dir(tmp_path, rows) -> str:
    directory = tmp_path / "extract"
    directory.mkdir()
    for table, table_rows in rows.items():
        (directory / f"{table}.csv").write_bytes(csv_bytes(table, table_rows))
    (directory / "README.txt").write_text("not a table")
    return str(directory)


def test_cli_imports_a_directory(world, tmp_path, capsys):
    rows = good_rows()
    rows["billing"] = [("13800130001", "CRBT", "2026-03-01", "7.00")]

    status = billing_import_cli(
        [
            "--month",
            "2026-03",
            "--user",
            world.manager_province.username,
            _month_dir(tmp_path, rows),
        ]
    )

    out = capsys.readouterr()
    assert status == 0, out.err
    assert out.out.splitlines()[-1].startswith("imported 2026-03 (import ")
    job = BillingImport.objects.latest("pk")
    assert job.actor == world.manager_province
    assert BillingMonth.objects.get().revision == 2
    assert str(read_store(MONTH, "billing")[0][3]) == "7.00"


def test_prm_incentives_import_billing_command(world, tmp_path):
    rows = good_rows()
    rows["billing"] = [("13800130001", "CRBT", "2026-03-01", "8.00")]
    out, err = StringIO(), StringIO()

    call_command(
        "incentives",
        "import-billing",
        "--month",
        "2026-03",
        "--user",
        world.manager_province.username,
        _month_dir(tmp_path, rows),
        stdout=out,
        stderr=err,
    )

    assert out.getvalue().splitlines()[-1].startswith("imported 2026-03 (import "), err.getvalue()
    assert BillingMonth.objects.get().revision == 2
    assert str(read_store(MONTH, "billing")[0][3]) == "8.00"


def test_cli_bad_input_exits_2_and_changes_nothing(world, tmp_path, capsys):
    rows = good_rows()
    rows["billing"] = [("13800130001", "NOPE", "2026-03-01", "7.00")]
    store = store_snapshot()

    status = billing_import_cli(["--month", "2026-03", _month_dir(tmp_path, rows)])

    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: billing.csv, row 1, column product_code: unknown product code")
    assert err.count("\n") == 1
    assert store_snapshot() == store
    assert BillingMonth.objects.get().revision == 1


@pytest.mark.parametrize(
    ("_case", "argv", "message"),
    [
        ("no such directory", ["--month", "2026-03", "/nonexistent/dir"], "is not a directory"),
        ("bad month", ["--month", "03/2026", "{dir}"], "YYYY-MM"),
        ("unknown user", ["--month", "2026-03", "--user", "nobody", "{dir}"], "no active user"),
    ],
)
def test_cli_refusals(world, tmp_path, capsys, _case, argv, message):
    directory = _month_dir(tmp_path, good_rows())
    jobs = BillingImport.objects.count()

    status = billing_import_cli([arg.format(dir=directory) for arg in argv])

    assert status == 2
    assert message in capsys.readouterr().err
    assert BillingImport.objects.count() == jobs
    assert BillingMonth.objects.get().revision == 1


def test_cli_refuses_a_user_who_may_not_import(world, tmp_path, capsys):
    status = billing_import_cli(
        [
            "--month",
            "2026-03",
            "--user",
            world.auditor_a.username,
            _month_dir(tmp_path, good_rows()),
        ]
    )

    assert status == 2
    assert "channel managers" in capsys.readouterr().err
