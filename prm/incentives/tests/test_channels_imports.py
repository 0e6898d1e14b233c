"""Import and export of channels, outlets and development targets (R0 import/export, R4):
good files are written through the services, a file with any bad row writes nothing,
codes outside the importer's scope are row errors, re-importing an export changes
nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from prm.accounts.models import User
from prm.core.imports import export_rows, import_spec_get, import_specs_for
from prm.core.models import AuditEvent
from prm.core.tests.spreadsheets import csv_bytes, csv_rows, run_import, xlsx_bytes, xlsx_rows
from prm.incentives.imports_channels import (
    CHANNEL_IMPORT_KIND,
    OUTLET_IMPORT_KIND,
    PRODUCT_IMPORT_KIND,
    TARGET_IMPORT_KIND,
)
from prm.incentives.models import Channel, DevelopmentTarget, Outlet
from prm.incentives.services.channels import target_set
from prm.incentives.tests.test_channels_fixtures import world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

CHANNEL_HEADER = [
    "code",
    "name",
    "kind",
    "org code",
    "partner code",
    "contact",
    "contact phone",
    "address",
    "rebate share (%)",
    "monthly development quota",
]


@pytest.fixture
def english(world):
    for user in (world.cm_a, world.cm_b, world.cm_county, world.auditor_a, world.cs_agent):
        user.language = "en"
        user.save(update_fields=["language"])
    return world


def _channels():
    return list(
        Channel.objects.order_by("code").values_list(
            "code",
            "name",
            "kind",
            "org__code",
            "partner__code",
            "contact_phone",
            "rebate_share_percent",
            "monthly_quota",
        )
    )


def _state():
    return (
        _channels(),
        list(Outlet.objects.order_by("code").values_list("code", "name", "channel__code")),
        list(DevelopmentTarget.objects.order_by("pk").values_list("month", "channel", "target")),
        AuditEvent.objects.exclude(action__startswith="import_job").count(),
    )


def test_the_specs_are_registered_for_the_right_users(english):
    world = english
    kinds = {spec.kind for spec in import_specs_for(world.cm_a)}

    assert {CHANNEL_IMPORT_KIND, OUTLET_IMPORT_KIND, TARGET_IMPORT_KIND, PRODUCT_IMPORT_KIND} <= (
        kinds
    )
    assert not {CHANNEL_IMPORT_KIND, TARGET_IMPORT_KIND} & {
        spec.kind for spec in import_specs_for(world.auditor_a)
    }
    assert import_spec_get(CHANNEL_IMPORT_KIND).user_may_import(world.cs_agent) is False


# ---- Channels -----------------------------------------------------------------------------


def test_a_good_channel_file_creates_and_updates(english, django_capture_on_commit_callbacks):
    world = english
    rows = [
        CHANNEL_HEADER,
        # A new channel, its type by the Chinese alias, linked to a partner.
        [
            "GZ-STORE-1",
            "Store one",
            "手机卖场",
            "GZ-TH",
            world.partner_a.code,
            "Li",
            "020-1234567",
            "Road 1",
            "75.5",
            "30",
        ],
        # A new channel, its type by the English label, defaults for the parameters.
        ["GZ-ONLINE-2", "Online two", "Online channel", "GZ", "", "", "", "", "", ""],
        # An existing channel of the importer's scope: updated.
        ["GZ-TH-HALL", "Tianhe hall (new name)", "own_hall", "GZ-TH", "", "", "", "", "", "8"],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=CHANNEL_IMPORT_KIND,
        name="channels.xlsx",
        data=xlsx_bytes(rows),
        actor=world.cm_a,
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 2, 1), job.errors
    assert _channels() == [
        ("GZ-ONLINE", "GZ online", "own_hall", "GZ", None, "", Decimal("100.00"), 0),
        ("GZ-ONLINE-2", "Online two", "online", "GZ", None, "", Decimal("100.00"), 0),
        (
            "GZ-STORE-1",
            "Store one",
            "handset_store",
            "GZ-TH",
            world.partner_a.code,
            "020-1234567",
            Decimal("75.50"),
            30,
        ),
        (
            "GZ-TH-HALL",
            "Tianhe hall (new name)",
            "own_hall",
            "GZ-TH",
            None,
            "",
            Decimal("100.00"),
            8,
        ),
        ("SZ-HALL", "Nanshan hall", "own_hall", "SZ", None, "", Decimal("100.00"), 0),
    ]
    assert list(
        AuditEvent.objects.filter(action__startswith="channel.")
        .order_by("pk")
        .values_list("action", "target_repr")
    ) == [
        ("channel.created", "GZ-STORE-1 Store one"),
        ("channel.created", "GZ-ONLINE-2 Online two"),
        ("channel.updated", "GZ-TH-HALL Tianhe hall (new name)"),
    ]


def _channel_row(**cells) -> list[str]:
    """A channel row: N1 / x / own_hall under GZ, with ``cells`` replaced by header key."""
    row = dict.fromkeys(CHANNEL_HEADER, "")
    row.update({"code": "N1", "name": "x", "kind": "own_hall", "org code": "GZ"})
    row.update({key.replace("_", " "): value for key, value in cells.items()})
    return [row[key] for key in CHANNEL_HEADER]


@pytest.mark.parametrize(
    ("_case", "row", "column"),
    [
        ("other_citys_channel", _channel_row(code="SZ-HALL"), "code"),
        ("code_in_other_case", _channel_row(code="sz-hall"), "code"),
        ("org_of_other_city", _channel_row(org_code="SZ"), "org code"),
        ("org_is_the_province", _channel_row(org_code="GD"), "org code"),
        ("unknown_kind", _channel_row(kind="kiosk"), "kind"),
        ("partner_of_other_city", _channel_row(partner_code="B"), "partner code"),
        ("share_above_100", _channel_row(**{"rebate share (%)": "100.01"}), "rebate share (%)"),
        (
            "negative_quota",
            _channel_row(monthly_development_quota="-1"),
            "monthly development quota",
        ),
        ("bad_phone", _channel_row(contact_phone="phone?"), "contact phone"),
        ("bad_code", _channel_row(code="N 1"), "code"),
        ("missing_name", _channel_row(name=""), "name"),
    ],
)
def test_one_bad_channel_row_writes_nothing(
    english, django_capture_on_commit_callbacks, _case, row, column
):
    world = english
    row = [world.partner_b.code if cell == "B" else cell for cell in row]
    good = ["GZ-NEW", "New", "own_hall", "GZ", "", "", "", "", "", ""]
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=CHANNEL_IMPORT_KIND,
        name="channels.csv",
        data=csv_bytes([CHANNEL_HEADER, good, row]),
        actor=world.cm_a,
    )

    assert job.status == "rejected"
    assert [(error["row"], error["column"]) for error in job.errors] == [(3, column)]
    assert _state() == before


def test_a_user_who_may_change_but_not_create_channels(english, django_capture_on_commit_callbacks):
    world = english
    group = world.cm_a.groups.get()
    group.permissions.remove(*group.permissions.filter(codename="add_channel"))
    actor = User.objects.get(pk=world.cm_a.pk)
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=CHANNEL_IMPORT_KIND,
        name="channels.csv",
        data=csv_bytes(
            [CHANNEL_HEADER, ["GZ-NEW", "New", "own_hall", "GZ", "", "", "", "", "", ""]]
        ),
        actor=actor,
    )

    assert job.status == "rejected"
    assert job.errors[0]["message"] == "You may change channels but not create them."
    assert _state() == before


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exporting_then_importing_channels_changes_nothing(
    english, django_capture_on_commit_callbacks, fmt
):
    world = english
    Channel.objects.filter(pk=world.channel_a.pk).update(
        partner=world.partner_a, rebate_share_percent=Decimal("62.50"), contact_phone="+86 20 1"
    )
    exported = export_rows(kind=CHANNEL_IMPORT_KIND, user=world.cm_a, fmt=fmt)
    rows = csv_rows(exported.content) if fmt == "csv" else xlsx_rows(exported.content)
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=CHANNEL_IMPORT_KIND,
        name=f"channels.{fmt}",
        data=exported.content,
        actor=world.cm_a,
    )

    assert [row[0] for row in rows[1:]] == ["GZ-ONLINE", "GZ-TH-HALL"]  # only the scope
    assert rows[2][4] == world.partner_a.code
    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 0, 0), job.errors
    assert _state() == before


# ---- Outlets ------------------------------------------------------------------------------


def test_outlets_import(english, django_capture_on_commit_callbacks):
    world = english
    rows = [
        ["code", "name", "channel code", "address"],
        ["GZ-TH-HALL-01", "Counter one", "GZ-TH-HALL", "B1"],
        ["GZ-ONLINE-01", "Web shop", "GZ-ONLINE", ""],
    ]

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=OUTLET_IMPORT_KIND,
        name="outlets.csv",
        data=csv_bytes(rows),
        actor=world.cm_a,
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 1, 1), job.errors
    assert list(Outlet.objects.order_by("code").values_list("code", "name", "channel__code")) == [
        ("GZ-ONLINE-01", "Web shop", "GZ-ONLINE"),
        ("GZ-TH-HALL-01", "Counter one", "GZ-TH-HALL"),
    ]


@pytest.mark.parametrize(
    ("_case", "row", "column"),
    [
        ("channel_of_other_city", ["O-9", "x", "SZ-HALL", ""], "channel code"),
        ("move_to_other_channel", ["GZ-TH-HALL-01", "x", "GZ-ONLINE", ""], "channel code"),
        ("unknown_channel", ["O-9", "x", "NOPE", ""], "channel code"),
        ("closed_channel", ["O-9", "x", "CLOSED", ""], "channel code"),
    ],
)
def test_one_bad_outlet_row_writes_nothing(
    english, django_capture_on_commit_callbacks, _case, row, column
):
    world = english
    if row[2] == "CLOSED":
        Channel.objects.filter(pk=world.channel_city_a.pk).update(is_active=False)
        row = [row[0], row[1], "GZ-ONLINE", ""]
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=OUTLET_IMPORT_KIND,
        name="outlets.csv",
        data=csv_bytes(
            [["code", "name", "channel code", "address"], ["O-1", "ok", "GZ-TH-HALL", ""], row]
        ),
        actor=world.cm_a,
    )

    assert job.status == "rejected"
    assert [(error["row"], error["column"]) for error in job.errors] == [(3, column)]
    assert _state() == before


def test_an_outlet_of_another_city_is_a_row_error(english, django_capture_on_commit_callbacks):
    world = english
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=OUTLET_IMPORT_KIND,
        name="outlets.csv",
        data=csv_bytes(
            [["code", "name", "channel code"], ["GZ-TH-HALL-01", "Mine now", "SZ-HALL"]]
        ),
        actor=world.cm_b,
    )

    assert job.status == "rejected"
    assert [(e["column"], e["message"]) for e in job.errors] == [
        ("code", "An outlet with this code exists outside your scope."),
    ]
    assert _state() == before


# ---- Development targets ------------------------------------------------------------------

TARGET_HEADER = ["month", "channel code", "product code", "target"]


def test_targets_import_creates_and_updates(english, django_capture_on_commit_callbacks):
    world = english
    target_set(actor=world.cm_a, month=date(2026, 3, 1), channel=world.channel_a, target=5)

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=TARGET_IMPORT_KIND,
        name="targets.csv",
        data=csv_bytes(
            [
                TARGET_HEADER,
                ["2026-03", "GZ-TH-HALL", "", "7"],
                ["2026-03", "GZ-TH-HALL", "CRBT", "2"],
                ["2026-04-01", "GZ-ONLINE", "", "0"],
            ]
        ),
        actor=world.cm_a,
    )

    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 2, 1), job.errors
    assert sorted(
        (month.isoformat(), channel, product or "", target)
        for month, channel, product, target in DevelopmentTarget.objects.values_list(
            "month", "channel__code", "product__code", "target"
        )
    ) == [
        ("2026-03-01", "GZ-TH-HALL", "", 7),
        ("2026-03-01", "GZ-TH-HALL", "CRBT", 2),
        ("2026-04-01", "GZ-ONLINE", "", 0),
    ]


@pytest.mark.parametrize(
    ("_case", "row", "column"),
    [
        ("bad_month", ["2026-13", "GZ-TH-HALL", "", "1"], "month"),
        ("channel_of_other_city", ["2026-03", "SZ-HALL", "", "1"], "channel code"),
        ("unknown_product", ["2026-03", "GZ-TH-HALL", "NOPE", "1"], "product code"),
        ("negative_target", ["2026-03", "GZ-TH-HALL", "", "-1"], "target"),
        ("duplicate_key", ["2026-03", "GZ-ONLINE", "", "2"], "month"),
    ],
)
def test_one_bad_target_row_writes_nothing(
    english, django_capture_on_commit_callbacks, _case, row, column
):
    world = english
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=TARGET_IMPORT_KIND,
        name="targets.csv",
        data=csv_bytes([TARGET_HEADER, ["2026-03", "GZ-ONLINE", "", "1"], row]),
        actor=world.cm_a,
    )

    assert job.status == "rejected"
    assert [(error["row"], error["column"]) for error in job.errors] == [(3, column)]
    assert _state() == before


def test_exporting_then_importing_targets_changes_nothing(
    english, django_capture_on_commit_callbacks
):
    world = english
    target_set(actor=world.cm_a, month=date(2026, 3, 1), channel=world.channel_a, target=5)
    target_set(
        actor=world.cm_a,
        month=date(2026, 3, 1),
        channel=world.channel_a,
        product=world.product,
        target=1,
    )
    target_set(actor=world.cm_b, month=date(2026, 3, 1), channel=world.channel_b, target=9)
    exported = export_rows(kind=TARGET_IMPORT_KIND, user=world.cm_a, fmt="csv")
    before = _state()

    job = run_import(
        django_capture_on_commit_callbacks,
        kind=TARGET_IMPORT_KIND,
        name="targets.csv",
        data=exported.content,
        actor=world.cm_a,
    )

    assert csv_rows(exported.content)[1:] == [
        ["2026-03", "GZ-TH-HALL", "", "5"],
        ["2026-03", "GZ-TH-HALL", "CRBT", "1"],
    ]
    assert (job.status, job.created_count, job.updated_count) == ("succeeded", 0, 0), job.errors
    assert _state() == before
