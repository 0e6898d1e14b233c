"""Import/export of org units and users (R0): scope, all-or-nothing, idempotency."""

import pytest

from prm.accounts.models import OrgUnit, User
from prm.core.imports import export_rows
from prm.core.models import AuditEvent, ImportJob, Region
from prm.core.tests.spreadsheets import csv_bytes, csv_rows, run_import, upload, xlsx_bytes

pytestmark = pytest.mark.django_db

ORG_HEADERS = ["code", "name", "kind", "parent_code", "region_code"]
USER_HEADERS = ["username", "display_name", "org_code", "roles", "email", "mobile"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def regions(db):
    province = Region.objects.create(code="440000", name="广东省", level="province")
    city = Region.objects.create(code="440100", name="广州市", level="city", parent=province)
    Region.objects.create(code="440111", name="白云区", level="county", parent=city)
    Region.objects.create(code="440105", name="海珠区", level="county", parent=city)


def _english(user: User) -> User:
    User.objects.filter(pk=user.pk).update(language="en")
    return User.objects.get(pk=user.pk)


@pytest.fixture
def city_admin(orgs, make_user):
    return _english(make_user(org=orgs.city_a, roles=("system_admin",), username="gz_admin"))


@pytest.fixture
def province_admin(orgs, make_user):
    return _english(make_user(org=orgs.province, roles=("system_admin",), username="gd_admin"))


def _org_rows() -> list[tuple]:
    return list(
        OrgUnit.objects.order_by("code").values_list("code", "name", "kind", "parent__code")
    )


# --- Org units --------------------------------------------------------------------------


def test_org_units_are_created_under_the_scope(
    city_admin, regions, django_capture_on_commit_callbacks
):
    rows = [
        ORG_HEADERS,
        ["GZ-BY", "Baiyun", "county", "GZ", "440111"],
        ["GZ-HZ", "Haizhu", "县分公司", "GZ", "440105"],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="orgs.csv",
        data=csv_bytes(rows),
        actor=city_admin,
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 2, 0)
    baiyun = OrgUnit.objects.get(code="GZ-BY")
    assert (baiyun.kind, baiyun.parent.code, baiyun.region.code) == ("county", "GZ", "440111")
    assert baiyun.path == f"{city_admin.org.path}{baiyun.pk}/"
    assert AuditEvent.objects.filter(action="org_unit.created", actor=city_admin).count() == 2


def test_a_new_city_and_its_county_in_one_file(province_admin, django_capture_on_commit_callbacks):
    rows = [
        ["编码", "名称", "类型", "上级编码", "行政区划代码"],
        ["ZH-XZ", "Xiangzhou", "county", "ZH", ""],
        ["ZH", "Zhuhai", "市分公司", "GD", ""],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="orgs.xlsx",
        data=xlsx_bytes(rows),
        actor=province_admin,
    )

    assert (job.status, job.created_count) == ("succeeded", 2)
    county = OrgUnit.objects.get(code="ZH-XZ")
    assert county.path == f"{province_admin.org.path}{county.parent.pk}/{county.pk}/"


def test_a_city_admin_cannot_import_under_another_city(
    city_admin, orgs, django_capture_on_commit_callbacks
):
    before = _org_rows()
    rows = [
        ORG_HEADERS,
        ["GZ-BY", "Baiyun", "county", "GZ", ""],
        ["SZ-FT", "Futian", "county", "SZ", ""],
        ["SZ-NS", "Nanshan renamed", "county", "SZ", ""],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="orgs.csv",
        data=csv_bytes(rows),
        actor=city_admin,
    )

    assert job.status == "rejected"
    assert job.errors == [
        {
            "row": 3,
            "column": "parent_code",
            "value": "SZ",
            "message": "No org unit with code SZ in your scope.",
        },
        {
            "row": 4,
            "column": "code",
            "value": "SZ-NS",
            "message": "An org unit with this code exists outside your scope.",
        },
    ]
    assert _org_rows() == before


@pytest.mark.parametrize(
    ("_case", "row", "column", "message"),
    [
        (
            "move an existing unit",
            ["GZ-TH", "Tianhe", "county", "GD", ""],
            "parent_code",
            "An existing org unit cannot be moved by import.",
        ),
        (
            "change the kind",
            ["GZ-TH", "Tianhe", "city", "GZ", ""],
            "kind",
            "The kind of an existing org unit cannot be changed here.",
        ),
        (
            "county under a province",
            ["GD-X", "X", "county", "GD", ""],
            "kind",
            "A County branch cannot be placed under a Province company.",
        ),
        (
            "unknown kind",
            ["GZ-X", "X", "department", "GZ", ""],
            "kind",
            "Unknown value “department”; use one of: hq, province, city, county, partner, "
            "office, project, station, team.",
        ),
        (
            "unknown region",
            ["GZ-X", "X", "county", "GZ", "999999"],
            "region_code",
            "No region with code 999999.",
        ),
        (
            "bad code",
            ["GZ X", "X", "county", "GZ", ""],
            "code",
            "A code is up to 40 letters, digits, dots, dashes or underscores.",
        ),
    ],
)
def test_org_unit_rows_are_checked(
    _case, row, column, message, province_admin, django_capture_on_commit_callbacks
):
    before = _org_rows()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="orgs.csv",
        data=csv_bytes([ORG_HEADERS, row]),
        actor=province_admin,
    )

    assert job.status == "rejected"
    assert [(error["column"], error["message"]) for error in job.errors] == [(column, message)]
    assert _org_rows() == before


def test_a_parent_loop_inside_the_file_is_refused(
    province_admin, django_capture_on_commit_callbacks
):
    rows = [ORG_HEADERS, ["A1", "A", "city", "B1", ""], ["B1", "B", "city", "A1", ""]]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="orgs.csv",
        data=csv_bytes(rows),
        actor=province_admin,
    )

    assert [(error["row"], error["column"]) for error in job.errors] == [
        (2, "parent_code"),
        (3, "parent_code"),
    ]
    assert not OrgUnit.objects.filter(code__in=["A1", "B1"]).exists()


def test_duplicate_org_codes_in_the_file(city_admin, django_capture_on_commit_callbacks):
    rows = [
        ORG_HEADERS,
        ["GZ-BY", "Baiyun", "county", "GZ", ""],
        ["GZ-BY", "B2", "county", "GZ", ""],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="orgs.csv",
        data=csv_bytes(rows),
        actor=city_admin,
    )

    assert job.errors == [
        {"row": 3, "column": "code", "value": "GZ-BY", "message": "Duplicate of row 2."}
    ]
    assert not OrgUnit.objects.filter(code="GZ-BY").exists()


def test_reimport_changes_nothing_and_a_rename_is_audited(
    city_admin, django_capture_on_commit_callbacks
):
    data = csv_bytes([ORG_HEADERS, ["GZ-BY", "Baiyun", "county", "GZ", ""]])
    run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="a.csv",
        data=data,
        actor=city_admin,
    )
    again = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="a.csv",
        data=data,
        actor=city_admin,
    )
    renamed = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="b.csv",
        data=csv_bytes([ORG_HEADERS, ["GZ-BY", "Baiyun branch", "county", "GZ", ""]]),
        actor=city_admin,
    )

    assert (again.created_count, again.updated_count) == (0, 0)
    assert (renamed.created_count, renamed.updated_count) == (0, 1)
    event = AuditEvent.objects.get(action="org_unit.updated")
    assert event.changes == {"name": ["Baiyun", "Baiyun branch"]}
    assert event.actor == city_admin


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_org_unit_export_is_scoped_and_round_trips(
    fmt, city_admin, django_capture_on_commit_callbacks
):
    exported = export_rows(kind="org_units", user=city_admin, fmt=fmt)

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name=exported.filename,
        data=exported.content,
        actor=city_admin,
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 0, 0)
    if fmt == "csv":
        assert csv_rows(exported.content)[1:] == [
            ["GZ", "Guangzhou", "city", "GD", ""],
            ["GZ-TH", "Tianhe", "county", "GZ", ""],
        ]


# --- Users ------------------------------------------------------------------------------


def test_users_are_created_without_a_password(city_admin, orgs, django_capture_on_commit_callbacks):
    rows = [
        ["用户名", "姓名", "组织编码", "角色", "邮箱", "手机号码"],
        ["zhang3", "张三", "GZ", "channel_manager、finance", "z3@example.com", "+86 186 1234 5678"],
        ["li4", "李四", "GZ-TH", "", "", ""],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="users",
        name="users.xlsx",
        data=xlsx_bytes(rows),
        actor=city_admin,
    )

    assert (job.status, job.created_count) == ("succeeded", 2)
    zhang = User.objects.get(username="zhang3")
    assert (zhang.display_name, zhang.org, zhang.mobile, zhang.email) == (
        "张三",
        orgs.city_a,
        "18612345678",
        "z3@example.com",
    )
    assert zhang.role_codes == {"channel_manager", "finance"}
    assert zhang.has_usable_password() is False
    assert zhang.must_change_password is True
    assert AuditEvent.objects.filter(action="user.created", actor=city_admin).count() == 2


def test_a_password_column_is_refused(city_admin, django_capture_on_commit_callbacks):
    rows = [[*USER_HEADERS, "password"], ["zhang3", "Zhang", "GZ", "", "", "", "Secret-123"]]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="users",
        name="users.csv",
        data=csv_bytes(rows),
        actor=city_admin,
    )

    assert job.status == "rejected"
    assert job.errors == [
        {
            "row": 1,
            "column": "password",
            "value": "password",
            "message": "This column may not be imported.",
        }
    ]
    assert not User.objects.filter(username="zhang3").exists()


def test_user_rows_are_checked(city_admin, orgs, make_user, django_capture_on_commit_callbacks):
    make_user(org=orgs.city_b, username="sz_user")
    users_before = User.objects.count()
    rows = [
        USER_HEADERS,
        ["ok_user", "OK", "GZ", "finance", "ok@example.com", "13800138000"],
        ["bad_mobile", "X", "GZ", "", "", "12345678901"],
        ["bad_org", "X", "SZ", "", "", ""],
        ["bad_role", "X", "GZ", "finance,wizard", "", ""],
        ["partner_role", "X", "GZ", "field_engineer", "", ""],
        ["sz_user", "Taken", "GZ", "", "", ""],
        ["bad_email", "X", "GZ", "", "not-an-email", "1380013800"],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="users",
        name="users.csv",
        data=csv_bytes(rows),
        actor=city_admin,
    )

    assert job.status == "rejected"
    assert [(error["row"], error["column"], error["message"]) for error in job.errors] == [
        (3, "mobile", "The number 12345678901 is not in a known mobile number segment."),
        (4, "org_code", "No org unit with code SZ in your scope."),
        (5, "roles", "Unknown roles: wizard."),
        (6, "roles", "These roles cannot be given to a user of this org unit: field_engineer."),
        (7, "username", "A user with this username exists outside your scope."),
        (8, "email", "Enter a valid email address."),
        (8, "mobile", "Enter an 11-digit mainland mobile number starting with 1."),
    ]
    assert User.objects.count() == users_before


def test_user_reimport_changes_nothing_and_role_changes_are_audited(
    city_admin, django_capture_on_commit_callbacks
):
    first = csv_bytes([USER_HEADERS, ["zhang3", "Zhang", "GZ", "finance", "", "13800138000"]])
    run_import(
        django_capture_on_commit_callbacks,
        kind="users",
        name="a.csv",
        data=first,
        actor=city_admin,
    )
    again = run_import(
        django_capture_on_commit_callbacks,
        kind="users",
        name="a.csv",
        data=first,
        actor=city_admin,
    )
    changed = run_import(
        django_capture_on_commit_callbacks,
        kind="users",
        name="b.csv",
        data=csv_bytes(
            [USER_HEADERS, ["zhang3", "Zhang", "GZ-TH", "auditor,finance", "", "13800138000"]]
        ),
        actor=city_admin,
    )

    assert (again.created_count, again.updated_count) == (0, 0)
    assert (changed.created_count, changed.updated_count) == (0, 1)
    zhang = User.objects.get(username="zhang3")
    assert (zhang.org.code, zhang.role_codes) == ("GZ-TH", {"auditor", "finance"})
    assert AuditEvent.objects.get(action="user.updated").changes == {
        "org": ["GZ", "GZ-TH"],
        "roles": [["finance"], ["auditor", "finance"]],
    }


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_user_export_is_scoped_and_round_trips(
    fmt, city_admin, orgs, make_user, django_capture_on_commit_callbacks
):
    make_user(org=orgs.city_a, roles=("finance", "auditor"), username="gz_finance")
    make_user(org=orgs.city_b, username="sz_user")
    exported = export_rows(kind="users", user=city_admin, fmt=fmt)

    job = run_import(
        django_capture_on_commit_callbacks,
        kind="users",
        name=exported.filename,
        data=exported.content,
        actor=city_admin,
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 0, 0)
    if fmt == "csv":
        assert [row[:4] for row in csv_rows(exported.content)[1:]] == [
            ["gz_admin", city_admin.display_name, "GZ", "system_admin"],
            [
                "gz_finance",
                User.objects.get(username="gz_finance").display_name,
                "GZ",
                "auditor,finance",
            ],
        ]


# --- Pages ------------------------------------------------------------------------------


def test_org_unit_import_pages_permissions(
    client, orgs, make_user, city_admin, django_capture_on_commit_callbacks
):
    job = run_import(
        django_capture_on_commit_callbacks,
        kind="org_units",
        name="a.csv",
        data=csv_bytes([ORG_HEADERS, ["GZ-BY", "Baiyun", "county", "GZ", ""]]),
        actor=city_admin,
    )
    detail = f"/imports/job/{job.public_id}/"
    other_city_admin = make_user(org=orgs.city_b, roles=("system_admin",))
    channel_manager = make_user(org=orgs.city_a, roles=("channel_manager",))

    # anonymous
    assert client.get("/imports/org_units/new/").status_code == 302
    assert client.get("/exports/users.csv").status_code == 302
    # without the permission
    client.force_login(channel_manager)
    assert client.get("/imports/org_units/new/").status_code == 403
    assert client.get("/exports/org_units.csv").status_code == 403
    assert client.get(detail).status_code == 403
    # another org
    client.force_login(other_city_admin)
    assert client.get(detail).status_code == 404
    exported = client.get("/exports/org_units.csv")
    assert [row[0] for row in csv_rows(exported.content)[1:]] == ["SZ", "SZ-NS"]
    # allowed
    client.force_login(city_admin)
    assert client.get("/imports/org_units/new/").status_code == 200
    assert client.get(detail).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/imports/users/new/",
            {"file": upload("u.csv", csv_bytes([USER_HEADERS, ["new1", "N", "GZ", "", "", ""]]))},
        )
    assert response.status_code == 302
    assert ImportJob.objects.filter(kind="users", status="succeeded").count() == 1
    assert User.objects.filter(username="new1", org=orgs.city_a).exists()
