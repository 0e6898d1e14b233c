"""Qualifications with expiry (R1 "Qualifications"; issue 3 item 6).

Reminders go out when the days left reach 30 and 7 (``PRM_QUALIFICATION_REMINDER_DAYS``),
once each, to the partner's admins and its manager; a missed day is caught up. An
expired mandatory qualification suspends new business with the partner until renewed.
"""

from __future__ import annotations

import struct
import zlib
from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from prm.core.exceptions import ApplicationError
from prm.core.models import Attachment, AuditEvent, Notification
from prm.partners.models import Partner, Qualification
from prm.partners.selectors import partner_may_do_new_business
from prm.partners.services.profile import (
    qualification_add,
    qualification_renew,
    qualifications_check,
    reminder_due,
)
from prm.partners.tests import factories

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 1)


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def upload(name: str = "licence.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content if content is not None else pdf_bytes())


@pytest.fixture(autouse=True)
def _setup(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.PRM_QUALIFICATION_REMINDER_DAYS = [30, 7]


@pytest.fixture
def world(orgs, make_user):
    manager_a = make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm")
    partner_a = factories.partner(managing_org=orgs.city_a, org=orgs.partner, manager=manager_a)
    partner_b = factories.partner(managing_org=orgs.city_b, org=orgs.other_partner)
    # A checklist item of its own (the category may come with seeded items).
    licence = factories.requirement(
        partner_a.category,
        "test_licence",
        name="营业执照",
        mandatory=True,
        has_expiry=True,
        allowed_types=["pdf"],
    )
    return {
        "partner_a": partner_a,
        "partner_b": partner_b,
        "admin_a": partner_a.admin_user,
        "admin_b": partner_b.admin_user,
        "staff_a": factories.partner_user(partner_a, roles=("partner_staff",)),
        "manager_a": manager_a,
        "manager_b": make_user(org=orgs.city_b, roles=("partner_manager",)),
        "licence": licence,
    }


def _qualification(partner, *, expires_on, mandatory=True, sent=None, **extra):
    return Qualification.objects.create(
        partner=partner,
        name=extra.pop("name", "营业执照"),
        expires_on=expires_on,
        mandatory=mandatory,
        reminders_sent=sent or [],
        **extra,
    )


def _reminders():
    return list(
        Notification.objects.filter(event="partners.qualification_expiring")
        .order_by("recipient__username")
        .values_list("recipient__username", flat=True)
    )


# ---- Reminders --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days_left", "sent_before", "reminded", "sent_after"),
    [
        pytest.param(31, [], False, [], id="31_days_too_early"),
        pytest.param(30, [], True, [30], id="30_days_first_reminder"),
        pytest.param(29, [], True, [30], id="29_days_catch_up_missed_30"),
        pytest.param(29, [30], False, [30], id="29_days_already_sent"),
        pytest.param(8, [30], False, [30], id="8_days_nothing_new"),
        pytest.param(8, [], True, [30], id="8_days_catch_up_30"),
        pytest.param(7, [30], True, [30, 7], id="7_days_second_reminder"),
        pytest.param(6, [30], True, [30, 7], id="6_days_catch_up_missed_7"),
        pytest.param(6, [30, 7], False, [30, 7], id="6_days_all_sent"),
        pytest.param(6, [], True, [30, 7], id="6_days_one_reminder_settles_both"),
        pytest.param(0, [30, 7], False, [30, 7], id="0_days_expires_today"),
        pytest.param(0, [30], True, [30, 7], id="0_days_catch_up_7"),
        pytest.param(-1, [30], False, [30], id="expired_no_reminder"),
    ],
)
def test_reminder_boundaries(
    world, django_capture_on_commit_callbacks, days_left, sent_before, reminded, sent_after
):
    qualification = _qualification(
        world["partner_a"], expires_on=TODAY + timedelta(days=days_left), sent=sent_before
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = qualifications_check(today=TODAY)

    qualification.refresh_from_db()
    assert result["reminders"] == (1 if reminded else 0)
    assert qualification.reminders_sent == sent_after
    expected = sorted([world["admin_a"].username, "gz_pm"]) if reminded else []
    assert _reminders() == expected


def test_reminder_text_and_second_run_sends_nothing(
    world, django_capture_on_commit_callbacks, settings
):
    settings.LANGUAGE_CODE = "en"
    for user in (world["admin_a"], world["manager_a"]):
        user.language = "en"
        user.save(update_fields=["language"])
    _qualification(world["partner_a"], expires_on=TODAY + timedelta(days=7), sent=[30])

    with django_capture_on_commit_callbacks(execute=True):
        first = qualifications_check(today=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        second = qualifications_check(today=TODAY)

    assert (first["reminders"], second["reminders"]) == (1, 0)
    notifications = Notification.objects.filter(event="partners.qualification_expiring")
    assert notifications.count() == 2
    by_recipient = {n.recipient: n for n in notifications}
    assert by_recipient[world["admin_a"]].link == reverse("partners:my_profile")
    assert by_recipient[world["manager_a"]].link == reverse(
        "partners:partner_detail", args=[world["partner_a"].code]
    )
    assert "expires on 2026-06-08 (in 7 days)" in by_recipient[world["admin_a"]].body
    assert AuditEvent.objects.filter(action="qualification.reminder_sent").count() == 1


def test_reminders_go_to_active_admins_and_manager_only(world, django_capture_on_commit_callbacks):
    second_admin = factories.partner_user(world["partner_a"], roles=("partner_admin",))
    disabled_admin = factories.partner_user(world["partner_a"], roles=("partner_admin",))
    disabled_admin.is_active = False
    disabled_admin.save(update_fields=["is_active"])
    _qualification(world["partner_a"], expires_on=TODAY + timedelta(days=30))

    with django_capture_on_commit_callbacks(execute=True):
        qualifications_check(today=TODAY)

    assert _reminders() == sorted([world["admin_a"].username, second_admin.username, "gz_pm"])


@pytest.mark.parametrize(
    "case",
    ["not_current", "no_expiry", "partner_exited"],
)
def test_no_reminder_for(world, case):
    partner = world["partner_a"]
    qualification = _qualification(partner, expires_on=TODAY + timedelta(days=30))
    if case == "not_current":
        Qualification.objects.filter(pk=qualification.pk).update(is_current=False)
    elif case == "no_expiry":
        Qualification.objects.filter(pk=qualification.pk).update(expires_on=None)
    else:
        Partner.objects.filter(pk=partner.pk).update(status=Partner.Status.EXITED)
    assert qualifications_check(today=TODAY)["reminders"] == 0


def test_reminder_days_are_configurable(world, settings):
    settings.PRM_QUALIFICATION_REMINDER_DAYS = [60, 15]
    qualification = _qualification(world["partner_a"], expires_on=TODAY + timedelta(days=60))
    assert qualifications_check(today=TODAY)["reminders"] == 1
    qualification.refresh_from_db()
    assert qualification.reminders_sent == [60]


@pytest.mark.parametrize(
    ("days_left", "sent", "due"),
    [
        pytest.param(31, [], None, id="31"),
        pytest.param(30, [], 30, id="30"),
        pytest.param(8, [30], None, id="8"),
        pytest.param(7, [30], 7, id="7"),
        pytest.param(7, [30, 7], None, id="7_sent"),
        pytest.param(-1, [], None, id="expired"),
    ],
)
def test_reminder_due(days_left, sent, due):
    assert reminder_due(days_left=days_left, sent=sent, thresholds=[30, 7]) == due


# ---- Suspension -------------------------------------------------------------------------


def test_expired_mandatory_qualification_suspends_new_business(
    world, django_capture_on_commit_callbacks
):
    partner = world["partner_a"]
    _qualification(partner, expires_on=TODAY - timedelta(days=1), name="ICP licence")

    with django_capture_on_commit_callbacks(execute=True):
        result = qualifications_check(today=TODAY)

    partner.refresh_from_db()
    assert result["suspended"] == 1
    assert partner.business_suspended is True
    assert "ICP licence (2026-05-31)" in partner.business_suspended_reason
    assert partner_may_do_new_business(partner, today=TODAY) is False
    event = AuditEvent.objects.get(action="partner.business_suspended")
    assert event.changes["business_suspended"] == [False, True]
    told = Notification.objects.filter(event="partners.business_suspended")
    assert sorted(n.recipient.username for n in told) == sorted(
        [world["admin_a"].username, "gz_pm"]
    )
    # A second run changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        assert qualifications_check(today=TODAY)["suspended"] == 0
    assert AuditEvent.objects.filter(action="partner.business_suspended").count() == 1


@pytest.mark.parametrize(
    ("days_left", "mandatory", "is_current", "suspended"),
    [
        pytest.param(-1, True, True, True, id="mandatory_expired_yesterday"),
        pytest.param(0, True, True, False, id="mandatory_expires_today"),
        pytest.param(-1, False, True, False, id="optional_expired"),
        pytest.param(-30, True, False, False, id="replaced_expired"),
    ],
)
def test_suspension_boundaries(world, days_left, mandatory, is_current, suspended):
    partner = world["partner_a"]
    _qualification(
        partner,
        expires_on=TODAY + timedelta(days=days_left),
        mandatory=mandatory,
        is_current=is_current,
    )
    qualifications_check(today=TODAY)
    partner.refresh_from_db()
    assert partner.business_suspended is suspended


def test_renewal_lifts_the_suspension_at_once(world, django_capture_on_commit_callbacks):
    partner = world["partner_a"]
    old = _qualification(
        partner,
        expires_on=date.today() - timedelta(days=1),
        requirement=world["licence"],
        number="OLD-1",
    )
    qualifications_check()
    partner.refresh_from_db()
    assert partner.business_suspended is True

    with django_capture_on_commit_callbacks(execute=True):
        new = qualification_renew(
            actor=world["admin_a"],
            qualification=old,
            uploaded_file=upload(),
            expires_on=date.today() + timedelta(days=365),
            number="NEW-1",
        )

    old.refresh_from_db()
    partner.refresh_from_db()
    assert (old.is_current, old.replaced_by) == (False, new)
    assert (new.is_current, new.mandatory, new.number, new.requirement) == (
        True,
        True,
        "NEW-1",
        world["licence"],
    )
    assert (partner.business_suspended, partner.business_suspended_reason) == (False, "")
    assert partner_may_do_new_business(partner) is True
    assert AuditEvent.objects.filter(action="partner.business_resumed").count() == 1
    assert Attachment.objects.filter(owner_id=str(new.pk)).count() == 1
    assert Notification.objects.filter(event="partners.business_resumed").count() == 2


def test_renewal_keeps_the_suspension_while_another_mandatory_is_expired(world):
    partner = world["partner_a"]
    expired = date.today() - timedelta(days=3)
    first = _qualification(partner, expires_on=expired, name="A")
    _qualification(partner, expires_on=expired, name="B")
    qualifications_check()
    qualification_renew(
        actor=world["admin_a"],
        qualification=first,
        uploaded_file=upload(),
        expires_on=date.today() + timedelta(days=100),
    )
    partner.refresh_from_db()
    assert partner.business_suspended is True
    assert not AuditEvent.objects.filter(action="partner.business_resumed").exists()


# ---- Adding and renewing ----------------------------------------------------------------


def _state():
    return (
        Qualification.objects.count(),
        Qualification.objects.filter(is_current=True).count(),
        Attachment.objects.count(),
        AuditEvent.objects.count(),
    )


def test_admin_adds_a_qualification_with_its_scan(world):
    qualification = qualification_add(
        actor=world["admin_a"],
        partner=world["partner_a"],
        requirement=world["licence"],
        name="",
        number="91440101-1",
        issued_on=date(2025, 1, 1),
        expires_on=date(2030, 1, 1),
        uploaded_file=upload(),
    )
    assert (qualification.name, qualification.mandatory, qualification.is_current) == (
        "营业执照",
        True,
        True,
    )
    attachment = Attachment.objects.get(owner_id=str(qualification.pk))
    assert (attachment.original_name, attachment.content_type) == ("licence.pdf", "application/pdf")
    assert AuditEvent.objects.filter(action="qualification.added").count() == 1


@pytest.mark.parametrize(
    ("case", "code"),
    [
        pytest.param(
            "type_not_in_requirement", "attachment_type_not_allowed", id="png_for_pdf_only"
        ),
        pytest.param("content_mismatch", "attachment_type_mismatch", id="png_named_pdf"),
        pytest.param("no_expiry", "expiry_required", id="expiry_required"),
        pytest.param("expiry_before_issue", "expiry_before_issue", id="expiry_before_issue"),
        pytest.param("other_category", "requirement_invalid", id="other_categorys_item"),
        pytest.param("duplicate", "qualification_exists", id="current_one_exists"),
        pytest.param("exiting", "partner_in_exit", id="partner_exiting"),
        pytest.param("staff", "forbidden", id="partner_staff"),
        pytest.param("other_partner", "not_found", id="other_partners_admin"),
        pytest.param("no_file", "attachment_required", id="no_file"),
    ],
)
def test_refused_additions_write_nothing(world, case, code):
    actor, partner, requirement = world["admin_a"], world["partner_a"], world["licence"]
    kwargs = {
        "issued_on": date(2025, 1, 1),
        "expires_on": date(2030, 1, 1),
        "uploaded_file": upload(),
    }
    if case == "type_not_in_requirement":
        kwargs["uploaded_file"] = upload("licence.png", png_bytes())
    elif case == "content_mismatch":
        requirement.allowed_types = []
        requirement.save()
        kwargs["uploaded_file"] = upload("licence.pdf", png_bytes())
    elif case == "no_expiry":
        kwargs["expires_on"] = None
    elif case == "expiry_before_issue":
        kwargs["expires_on"] = date(2024, 1, 1)
    elif case == "other_category":
        requirement = factories.requirement(factories.category("cp"), "licence_cp")
    elif case == "duplicate":
        _qualification(partner, expires_on=date(2029, 1, 1), requirement=requirement)
    elif case == "exiting":
        Partner.objects.filter(pk=partner.pk).update(status=Partner.Status.EXITING)
    elif case == "staff":
        actor = world["staff_a"]
    elif case == "other_partner":
        actor = world["admin_b"]
    elif case == "no_file":
        kwargs["uploaded_file"] = None
    before = _state()

    with pytest.raises(ApplicationError) as error:
        qualification_add(actor=actor, partner=partner, requirement=requirement, name="", **kwargs)

    assert error.value.code == code
    assert _state() == before


@pytest.mark.parametrize(
    ("new_expiry", "code"),
    [
        pytest.param(date(2027, 1, 1), "renewal_not_later", id="same_expiry"),
        pytest.param(date(2026, 12, 31), "renewal_not_later", id="earlier_expiry"),
        pytest.param(None, "expiry_required", id="no_expiry"),
    ],
)
def test_refused_renewals_write_nothing(world, new_expiry, code):
    old = _qualification(world["partner_a"], expires_on=date(2027, 1, 1))
    before = _state()
    with pytest.raises(ApplicationError) as error:
        qualification_renew(
            actor=world["admin_a"], qualification=old, uploaded_file=upload(), expires_on=new_expiry
        )
    assert error.value.code == code
    assert _state() == before


def test_a_renewed_qualification_cannot_be_renewed_again(world):
    old = _qualification(world["partner_a"], expires_on=date(2027, 1, 1))
    qualification_renew(
        actor=world["admin_a"],
        qualification=old,
        uploaded_file=upload(),
        expires_on=date(2028, 1, 1),
    )
    old.refresh_from_db()
    with pytest.raises(ApplicationError) as error:
        qualification_renew(
            actor=world["admin_a"],
            qualification=old,
            uploaded_file=upload(),
            expires_on=date(2029, 1, 1),
        )
    assert error.value.code == "qualification_replaced"


# ---- Pages and API ----------------------------------------------------------------------


def test_admin_adds_and_renews_through_the_pages(client, world):
    client.force_login(world["admin_a"])
    response = client.post(
        reverse("partners:qualification_create"),
        {
            "requirement": world["licence"].pk,
            "name": "",
            "number": "L-1",
            "issuer": "AIC",
            "issued_on": "2025-01-01",
            "expires_on": "2027-01-01",
            "attachment": upload(),
        },
    )
    assert response.status_code == 302
    qualification = Qualification.objects.get()
    page = client.get(reverse("partners:my_profile")).content.decode()
    assert f'data-id="{qualification.pk}"' in page
    assert 'data-testid="attachment-download"' in page

    response = client.post(
        reverse("partners:qualification_renew", args=[qualification.pk]),
        {"number": "L-2", "expires_on": "2029-01-01", "attachment": upload()},
    )
    assert response.status_code == 302
    assert list(Qualification.objects.filter(is_current=True).values_list("number", flat=True)) == [
        "L-2"
    ]


def test_add_page_shows_the_refusal(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world["admin_a"])
    response = client.post(
        reverse("partners:qualification_create"),
        {
            "requirement": world["licence"].pk,
            "expires_on": "2027-01-01",
            "attachment": upload("scan.png", png_bytes()),
        },
    )
    assert response.status_code == 200
    assert "accepts only: PDF" in response.content.decode()
    assert Qualification.objects.count() == 0


def test_staff_see_qualifications_and_download_the_scan(client, world):
    qualification = qualification_add(
        actor=world["admin_a"],
        partner=world["partner_a"],
        requirement=world["licence"],
        name="",
        expires_on=date(2030, 1, 1),
        uploaded_file=upload(),
    )
    attachment = Attachment.objects.get(owner_id=str(qualification.pk))
    url = reverse("core:attachment_download", args=[attachment.public_id])
    client.force_login(world["manager_a"])
    detail = client.get(reverse("partners:partner_detail", args=[world["partner_a"].code]))
    assert url in detail.content.decode()
    assert client.get(url).status_code == 200
    client.force_login(world["manager_b"])
    assert client.get(url).status_code == 404
    client.force_login(world["admin_b"])
    assert client.get(url).status_code == 404


ANONYMOUS = "anonymous"
PAGE_ACCESS = [
    ("create", ANONYMOUS, 302),
    ("create", "manager_a", 403),
    ("create", "staff_a", 403),
    ("create", "admin_b", 200),  # their own partner's form
    ("create", "admin_a", 200),
    ("renew", ANONYMOUS, 302),
    ("renew", "manager_a", 403),
    ("renew", "staff_a", 403),
    ("renew", "admin_b", 404),
    ("renew", "admin_a", 200),
]


@pytest.mark.parametrize(
    ("page", "who", "status"), PAGE_ACCESS, ids=[f"{p}-{w}-{s}" for p, w, s in PAGE_ACCESS]
)
def test_page_access(client, world, page, who, status):
    qualification = _qualification(world["partner_a"], expires_on=date(2027, 1, 1))
    url = (
        reverse("partners:qualification_create")
        if page == "create"
        else reverse("partners:qualification_renew", args=[qualification.pk])
    )
    if who != ANONYMOUS:
        client.force_login(world[who])
    response = client.get(url)
    assert response.status_code == status


def test_api_lists_current_and_replaced_qualifications(client, world):
    old = _qualification(world["partner_a"], expires_on=TODAY - timedelta(days=1), number="OLD")
    qualification_renew(
        actor=world["admin_a"],
        qualification=old,
        uploaded_file=upload(),
        expires_on=date.today() + timedelta(days=400),
        number="NEW",
    )
    client.force_login(world["manager_a"])
    response = client.get(f"/api/v1/partners/{world['partner_a'].code}/qualifications")
    items = response.json()
    assert [(item["number"], item["is_current"]) for item in items] == [
        ("NEW", True),
        ("OLD", False),
    ]
    assert len(items[0]["attachments"]) == 1
    assert items[1]["replaced_by"] == items[0]["id"]
