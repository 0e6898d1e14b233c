"""The import/export framework (R0) through the reference-data kinds (regions, number
segments), and the import pages."""

import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.db import IntegrityError
from django.utils import translation

from prm.accounts.models import User
from prm.core.exceptions import ApplicationError
from prm.core.imports import (
    NumberSegmentImport,
    export_rows,
    import_error_report,
    import_job_retry,
)
from prm.core.models import AuditEvent, ImportJob, NumberSegment, Region
from prm.core.tests.spreadsheets import (
    csv_bytes,
    csv_rows,
    run_import,
    upload,
    xlsx_bytes,
    xlsx_rows,
)

pytestmark = pytest.mark.django_db

HEADERS = ["prefix", "operator", "province_code", "city_code"]
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def guangdong(db):
    province = Region.objects.create(code="440000", name="广东省", level="province")
    Region.objects.create(code="440100", name="广州市", level="city", parent=province)
    Region.objects.create(code="440300", name="深圳市", level="city", parent=province)
    Region.objects.create(code="110000", name="北京市", level="province")
    return province


def _with_perms(user: User, *codenames: str) -> User:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    User.objects.filter(pk=user.pk).update(language="en")
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def admin(orgs, make_user):
    """A province user allowed to import reference data."""
    user = make_user(org=orgs.province, roles=("system_admin",), username="ref_admin")
    return _with_perms(user, "change_numbersegment", "change_region")


def _segments() -> list[tuple]:
    return list(
        NumberSegment.objects.order_by("prefix").values_list(
            "prefix", "operator", "province__code", "city__code"
        )
    )


GOOD_ROWS = [
    HEADERS,
    ["138", "china_mobile", "", ""],
    ["1380240", "China Mobile", "440000", "440100"],
    ["186", "china_unicom", "", ""],
]


def test_good_xlsx_is_imported(admin, guangdong, django_capture_on_commit_callbacks):
    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="segments.xlsx",
        data=xlsx_bytes(GOOD_ROWS),
        actor=admin,
    )

    assert (job.status, job.created_count, job.updated_count, job.error_count) == (
        "succeeded",
        3,
        0,
        0,
    )
    assert (job.total_rows, job.processed_rows, job.progress_percent) == (3, 3, 100)
    assert job.message == "3 created, 0 updated."
    assert _segments() == [
        ("138", "china_mobile", None, None),
        ("1380240", "china_mobile", "440000", "440100"),
        ("186", "china_unicom", None, None),
    ]
    assert list(
        AuditEvent.objects.filter(action__startswith="import_job").values_list("action", flat=True)
    ) == ["import_job.succeeded", "import_job.created"]
    summary = AuditEvent.objects.get(action="number_segment.imported")
    assert summary.changes == {"created": ["138", "1380240", "186"], "updated": []}


def test_good_gb18030_csv_with_chinese_headers_is_imported(
    admin, guangdong, django_capture_on_commit_callbacks
):
    rows = [
        ["号段", "运营商", "省份代码", "地市代码"],
        ["1330200", "中国电信", "", "440100"],
        ["192", "广电", "", ""],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="号段.csv",
        data=csv_bytes(rows, encoding="gb18030"),
        actor=admin,
    )

    assert (job.status, job.created_count) == ("succeeded", 2)
    assert _segments() == [
        ("1330200", "china_telecom", "440000", "440100"),
        ("192", "china_broadnet", None, None),
    ]


def test_one_bad_row_writes_nothing_and_keeps_row_errors(
    admin, guangdong, django_capture_on_commit_callbacks
):
    rows = [
        HEADERS,
        ["138", "china_mobile", "", ""],
        ["2345", "Vodafone", "", ""],
        ["186", "china_unicom", "110000", "440100"],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="segments.csv",
        data=csv_bytes(rows),
        actor=admin,
    )

    assert NumberSegment.objects.count() == 0
    assert (job.status, job.created_count, job.error_count) == ("rejected", 0, 3)
    assert job.message == (
        "3 errors found; nothing was imported. Correct the file and upload it again."
    )
    assert job.errors == [
        {
            "row": 3,
            "column": "prefix",
            "value": "2345",
            "message": "A prefix is 3 to 7 digits starting with 1.",
        },
        {
            "row": 3,
            "column": "operator",
            "value": "Vodafone",
            "message": "Unknown value “Vodafone”; use one of: "
            "china_mobile, china_unicom, china_telecom, china_broadnet.",
        },
        {
            "row": 4,
            "column": "city_code",
            "value": "440100",
            "message": "This city is not in the given province.",
        },
    ]
    with translation.override("en"):
        report = import_error_report(job=job, fmt="csv")
        xlsx_report = import_error_report(job=job, fmt="xlsx")
    expected = [
        [*HEADERS, "Errors"],
        ["138", "china_mobile", "", "", ""],
        [
            "2345",
            "Vodafone",
            "",
            "",
            "prefix: A prefix is 3 to 7 digits starting with 1.; operator: Unknown value "
            "“Vodafone”; use one of: china_mobile, china_unicom, china_telecom, china_broadnet.",
        ],
        [
            "186",
            "china_unicom",
            "110000",
            "440100",
            "city_code: This city is not in the given province.",
        ],
    ]
    assert csv_rows(report.content) == expected
    assert report.filename == f"number_segments-errors-{job.public_id}.csv"
    assert xlsx_rows(xlsx_report.content) == expected


def test_a_corrected_error_report_can_be_uploaded_again(
    admin, guangdong, django_capture_on_commit_callbacks
):
    rows = [HEADERS, ["138", "china_mobile", "", ""], ["99", "china_mobile", "", ""]]
    rejected = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.xlsx",
        data=xlsx_bytes(rows),
        actor=admin,
    )
    report = xlsx_rows(import_error_report(job=rejected, fmt="xlsx").content)
    report[2][0] = "199"  # the user fixes the prefix and leaves the errors column

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="fixed.xlsx",
        data=xlsx_bytes(report),
        actor=admin,
    )

    assert (job.status, job.created_count) == ("succeeded", 2)
    assert [prefix for prefix, *_rest in _segments()] == ["138", "199"]


def test_duplicate_keys_in_the_file_are_row_errors(
    admin, guangdong, django_capture_on_commit_callbacks
):
    rows = [HEADERS, ["138", "china_mobile", "", ""], ["138", "china_unicom", "", ""]]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="dup.xlsx",
        data=xlsx_bytes(rows),
        actor=admin,
    )

    assert job.status == "rejected"
    assert job.errors == [
        {"row": 3, "column": "prefix", "value": "138", "message": "Duplicate of row 2."}
    ]
    assert NumberSegment.objects.count() == 0


def test_importing_the_same_file_again_changes_nothing(
    admin, guangdong, django_capture_on_commit_callbacks
):
    data = xlsx_bytes(GOOD_ROWS)
    run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.xlsx",
        data=data,
        actor=admin,
    )
    before = list(NumberSegment.objects.order_by("prefix").values_list("prefix", "updated_at"))
    events = AuditEvent.objects.exclude(action__startswith="import_job").count()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.xlsx",
        data=data,
        actor=admin,
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 0, 0)
    assert (
        list(NumberSegment.objects.order_by("prefix").values_list("prefix", "updated_at")) == before
    )
    assert AuditEvent.objects.exclude(action__startswith="import_job").count() == events


def test_a_changed_row_is_updated(admin, guangdong, django_capture_on_commit_callbacks):
    run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.csv",
        data=csv_bytes(GOOD_ROWS),
        actor=admin,
    )
    changed = [*GOOD_ROWS[:3], ["186", "china_telecom", "", ""]]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="b.csv",
        data=csv_bytes(changed),
        actor=admin,
    )

    assert (job.created_count, job.updated_count) == (0, 1)
    assert NumberSegment.objects.get(prefix="186").operator == "china_telecom"


def test_too_many_rows_are_refused(admin, settings, django_capture_on_commit_callbacks):
    settings.PRM_IMPORT_MAX_ROWS = 2

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="big.csv",
        data=csv_bytes(GOOD_ROWS),
        actor=admin,
    )

    assert job.status == "rejected"
    assert job.message == "The file has more than 2 rows; split it into smaller files."
    assert NumberSegment.objects.count() == 0


def test_a_missing_required_column_rejects_the_file(admin, django_capture_on_commit_callbacks):
    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.csv",
        data=csv_bytes([["prefix"], ["138"]]),
        actor=admin,
    )

    assert job.status == "rejected"
    assert job.errors == [
        {
            "row": 1,
            "column": "Operator",
            "value": "",
            "message": "This required column is missing.",
        }
    ]


@pytest.mark.parametrize(
    ("_case", "name", "data"),
    [
        ("png renamed xlsx", "segments.xlsx", PNG),
        ("png renamed csv", "segments.csv", PNG),
        ("csv named xlsx", "segments.xlsx", b"prefix,operator\r\n138,china_mobile\r\n"),
        ("xlsx named csv", "segments.csv", xlsx_bytes(GOOD_ROWS)),
        ("zip without a workbook", "segments.xlsx", b"PK\x03\x04" + b"\x00" * 40),
        ("other extension", "segments.txt", b"prefix,operator\r\n"),
    ],
)
def test_a_wrong_file_type_is_refused(_case, name, data, admin):
    with pytest.raises(ApplicationError) as excinfo:
        from prm.core.imports import import_job_create

        import_job_create(kind="number_segments", uploaded_file=upload(name, data), actor=admin)

    assert excinfo.value.code == "import_file_type"
    assert ImportJob.objects.count() == 0


def test_a_failure_while_writing_rolls_everything_back(
    admin, guangdong, monkeypatch, django_capture_on_commit_callbacks
):
    original = NumberSegmentImport.write

    def write_then_fail(self, rows, *, actor):
        original(self, rows, actor=actor)
        raise IntegrityError("segment_prefix_digits")

    monkeypatch.setattr(NumberSegmentImport, "write", write_then_fail)

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.xlsx",
        data=xlsx_bytes(GOOD_ROWS),
        actor=admin,
    )

    assert job.status == "failed"
    assert job.message == (
        "The rows could not be written (segment_prefix_digits). Nothing was imported."
    )
    assert NumberSegment.objects.count() == 0
    assert not AuditEvent.objects.filter(action="number_segment.imported").exists()


def test_a_failed_job_can_be_retried(admin, guangdong, django_capture_on_commit_callbacks):
    # given a job whose stored file went missing before it ran (storage outage)
    from prm.core.imports import import_job_create

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = import_job_create(
            kind="number_segments",
            uploaded_file=upload("a.xlsx", xlsx_bytes(GOOD_ROWS)),
            actor=admin,
        )
    stored = Path(job.source.path)
    content = stored.read_bytes()
    stored.unlink()
    callbacks[0]()
    job.refresh_from_db()
    assert (job.status, job.message) == (
        "failed",
        "The import failed unexpectedly (FileNotFoundError). Nothing was written.",
    )

    # when the file is back and the job is retried
    stored.write_bytes(content)
    with django_capture_on_commit_callbacks(execute=True):
        import_job_retry(job=job, actor=admin)

    # then it runs to the end
    job.refresh_from_db()
    assert (job.status, job.created_count, job.message) == (
        "succeeded",
        3,
        "3 created, 0 updated.",
    )
    assert (
        AuditEvent.objects.filter(action="import_job.retried", target_id=str(job.pk)).count() == 1
    )


def test_a_rejected_job_cannot_be_retried(admin, django_capture_on_commit_callbacks):
    job = run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.csv",
        data=csv_bytes([HEADERS, ["99", "x", "", ""]]),
        actor=admin,
    )

    with pytest.raises(ApplicationError) as excinfo:
        import_job_retry(job=job, actor=admin)

    assert excinfo.value.code == "invalid_transition"
    job.refresh_from_db()
    assert job.status == "rejected"


def test_regions_with_parents_in_the_same_file(admin, django_capture_on_commit_callbacks):
    rows = [
        ["代码", "名称", "英文名称", "级别", "上级代码"],
        ["440100", "广州市", "Guangzhou", "市", "440000"],
        ["440000", "广东省", "Guangdong", "省", ""],
        ["110000", "北京市", "Beijing", "province", ""],
        ["110101", "东城区", "Dongcheng", "county", "110000"],
        ["440106", "天河区", "Tianhe", "区县", "440100"],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="regions",
        name="regions.xlsx",
        data=xlsx_bytes(rows),
        actor=admin,
    )

    assert (job.status, job.created_count) == ("succeeded", 5)
    assert list(Region.objects.values_list("code", "level", "parent__code")) == [
        ("110000", "province", None),
        ("110101", "county", "110000"),
        ("440000", "province", None),
        ("440100", "city", "440000"),
        ("440106", "county", "440100"),
    ]


def test_region_rows_are_checked(admin, guangdong, django_capture_on_commit_callbacks):
    rows = [
        ["code", "name", "name_en", "level", "parent_code"],
        ["440200", "韶关市", "Shaoguan", "city", ""],
        ["440300", "深圳市", "Shenzhen", "city", "440100"],
        ["4403", "短码", "", "city", "440000"],
        ["440500", "汕头市", "Shantou", "city", "999999"],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="regions",
        name="regions.csv",
        data=csv_bytes(rows),
        actor=admin,
    )

    assert job.status == "rejected"
    assert [(error["row"], error["column"], error["message"]) for error in job.errors] == [
        (2, "parent_code", "This value is required."),
        (3, "parent_code", "A City cannot be placed under a City."),
        (4, "code", "A region code is 6 digits (GB/T 2260)."),
        (5, "parent_code", "No region with code 999999."),
    ]
    assert Region.objects.count() == 4


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_then_import_changes_nothing(fmt, admin, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    call_command("reference_load", stdout=io.StringIO())
    for kind in ("regions", "number_segments"):
        exported = export_rows(kind=kind, user=admin, fmt=fmt)

        job = run_import(
            django_capture_on_commit_callbacks,
            kind=kind,
            name=exported.filename,
            data=exported.content,
            actor=admin,
        )

        assert (job.status, job.created_count, job.updated_count) == ("succeeded", 0, 0)
    assert Region.objects.count() == 62
    assert NumberSegment.objects.count() == 56


def test_export_needs_the_permission(orgs, make_user):
    user = make_user(org=orgs.province, roles=("channel_manager",))

    with pytest.raises(ApplicationError) as excinfo:
        export_rows(kind="regions", user=user, fmt="csv")

    assert excinfo.value.code == "forbidden"


def test_city_staff_may_not_import_reference_data_even_with_the_permission(client, orgs, make_user):
    city_user = make_user(org=orgs.city_a, roles=("system_admin",))
    city_user = _with_perms(city_user, "change_numbersegment", "change_region")
    client.force_login(city_user)

    response = client.post(
        "/imports/number_segments/new/", {"file": upload("a.csv", csv_bytes(GOOD_ROWS))}
    )

    assert response.status_code == 403
    assert client.get("/exports/regions.csv").status_code == 403
    assert ImportJob.objects.count() == 0
    assert [spec.kind for spec in client.get("/imports/").context["specs"]] == [
        "org_units",
        "users",
    ]


# --- Pages ------------------------------------------------------------------------------


@pytest.fixture
def job(admin, django_capture_on_commit_callbacks):
    """A rejected number-segment job started by ``admin`` (the province)."""
    return run_import(
        django_capture_on_commit_callbacks,
        kind="number_segments",
        name="a.csv",
        data=csv_bytes([HEADERS, ["99", "china_mobile", "", ""]]),
        actor=admin,
    )


@pytest.fixture
def other_org_admin(orgs, make_user):
    user = make_user(org=orgs.city_b, roles=("system_admin",), username="other_admin")
    return _with_perms(user, "change_numbersegment", "change_region")


@pytest.fixture
def no_permission(orgs, make_user):
    return make_user(org=orgs.province, roles=("cs_agent",), username="agent")


def _job_urls(job) -> dict[str, str]:
    base = f"/imports/job/{job.public_id}/"
    return {
        "detail": base,
        "progress": f"{base}progress/",
        "errors": f"{base}errors.csv",
    }


def test_pages_refuse_anonymous(client, job):
    for url in [
        "/imports/",
        "/imports/number_segments/new/",
        *_job_urls(job).values(),
        "/exports/number_segments.csv",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url


def test_pages_refuse_users_without_the_permission(client, job, no_permission):
    client.force_login(no_permission)

    for url in [
        "/imports/",
        "/imports/number_segments/new/",
        *_job_urls(job).values(),
        "/exports/number_segments.csv",
    ]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"/imports/job/{job.public_id}/retry/").status_code == 403
    response = client.post(
        "/imports/number_segments/new/", {"file": upload("a.csv", csv_bytes(GOOD_ROWS))}
    )
    assert response.status_code == 403
    assert ImportJob.objects.count() == 1


def test_job_pages_of_another_org_are_not_found(client, job, other_org_admin):
    client.force_login(other_org_admin)

    for url in _job_urls(job).values():
        assert client.get(url).status_code == 404, url
    assert client.post(f"/imports/job/{job.public_id}/retry/").status_code == 404
    assert client.get("/imports/").context["jobs"] == []
    job.refresh_from_db()
    assert job.status == "rejected"


def test_job_pages_for_the_importer(client, job, admin):
    client.force_login(admin)

    listing = client.get("/imports/")
    detail = client.get(f"/imports/job/{job.public_id}/")
    progress = client.get(f"/imports/job/{job.public_id}/progress/", HTTP_HX_REQUEST="true")
    report = client.get(f"/imports/job/{job.public_id}/errors.csv", HTTP_ACCEPT_LANGUAGE="en")
    xlsx = client.get(f"/imports/job/{job.public_id}/errors.xlsx")

    assert listing.status_code == 200
    assert [spec.kind for spec in listing.context["specs"]] == [
        "calendar_days",
        "number_segments",
        "org_units",
        "regions",
        "users",
    ]
    assert listing.context["jobs"] == [job]
    assert detail.status_code == 200
    assert b'data-testid="import-error-row"' in detail.content
    assert b"hx-trigger" not in detail.content  # finished: no polling
    assert progress.status_code == 200
    assert progress["HX-Refresh"] == "true"
    assert report.status_code == 200
    assert report["Content-Disposition"] == (
        f'attachment; filename="number_segments-errors-{job.public_id}.csv"'
    )
    assert csv_rows(report.content)[1][-1] == ("prefix: A prefix is 3 to 7 digits starting with 1.")
    assert xlsx.status_code == 200
    assert client.get(f"/imports/job/{job.public_id}/errors.pdf").status_code == 404


def test_a_running_job_page_polls_for_progress(client, admin):
    job = ImportJob.objects.create(
        kind="number_segments",
        status="running",
        original_name="a.csv",
        sha256="0" * 64,
        actor=admin,
        actor_org_path=admin.org.path,
        total_rows=400,
        processed_rows=100,
    )
    client.force_login(admin)

    response = client.get(f"/imports/job/{job.public_id}/progress/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert b'hx-trigger="every 1s"' in response.content
    assert b"width: 25%" in response.content
    assert "HX-Refresh" not in response


def test_upload_page_runs_the_import(client, admin, guangdong, django_capture_on_commit_callbacks):
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/imports/number_segments/new/",
            {"file": upload("segments.xlsx", xlsx_bytes(GOOD_ROWS))},
        )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/job/{job.public_id}/"
    job.refresh_from_db()
    assert (job.status, job.created_count, job.actor) == ("succeeded", 3, admin)
    assert NumberSegment.objects.count() == 3


def test_upload_page_refuses_a_png(client, admin):
    client.force_login(admin)

    response = client.post(
        "/imports/number_segments/new/",
        {"file": upload("segments.xlsx", PNG)},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == ["The file is not a valid xlsx file."]
    assert ImportJob.objects.count() == 0


def test_template_and_export_downloads(client, admin, guangdong):
    NumberSegment.objects.create(prefix="138", operator="china_mobile")
    client.force_login(admin)

    template = client.get("/imports/number_segments/new/?template=csv", HTTP_ACCEPT_LANGUAGE="en")
    exported = client.get("/exports/number_segments.xlsx", HTTP_ACCEPT_LANGUAGE="en")

    assert template.status_code == 200
    assert csv_rows(template.content) == [["Prefix", "Operator", "Province code", "City code"]]
    assert exported.status_code == 200
    assert xlsx_rows(exported.content) == [
        ["Prefix", "Operator", "Province code", "City code"],
        ["138", "china_mobile", "", ""],
    ]
    assert client.get("/exports/unknown.csv").status_code == 404
    assert client.get("/imports/unknown/new/").status_code == 404


def test_retry_page_queues_a_failed_job(
    client, admin, guangdong, django_capture_on_commit_callbacks
):
    job = ImportJob.objects.create(
        kind="number_segments",
        status="failed",
        original_name="a.csv",
        sha256="0" * 64,
        actor=admin,
        actor_org_path=admin.org.path,
        message="broker down",
    )
    job.source.save(f"{job.public_id}.csv", io.BytesIO(csv_bytes(GOOD_ROWS)))
    client.force_login(admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/job/{job.public_id}/retry/")

    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("succeeded", 3)
