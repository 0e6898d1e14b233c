"""Breach investigations (R2 违约调查): opening with a working-day deadline, the partner's
response until the end of the due date, the final decision and its penalties, and the
hourly deadline check. Access to the pages and the API: test_cases_access.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from prm.core.exceptions import ApplicationError
from prm.core.models import Attachment, AuditEvent, CalendarDay, Notification
from prm.partners.models import Partner
from prm.partners.tests import factories as partner_factories
from prm.portal.models import BreachCase, BreachResponse, PublicNotice
from prm.portal.services.cases import (
    breach_case_decide,
    breach_case_open,
    breach_response_submit,
    deadlines_check,
)
from prm.portal.signals import violation_determined

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 6, 8)  # a plain week: no holiday in June 8–19 but the Dragon Boat Festival
DUE = date(2026, 6, 15)  # MONDAY + 5 working days


def at(day: date, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=SHANGHAI)


def pdf(name: str = "evidence.pdf") -> SimpleUploadedFile:
    content = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@dataclass
class World:
    partner_a: Partner
    partner_b: Partner
    staff_a: object  # partner manager of city A (manages partner A)
    staff_b: object  # partner manager of city B (manages partner B)
    staff_province: object  # partner manager of the province (sees both)
    staff_no_permission: object  # channel manager of city A
    auditor_a: object  # reads cases of city A, changes nothing
    admin_a: object  # partner A's admin
    user_a: object  # partner A's staff
    admin_b: object  # partner B's admin


def build_world(orgs, make_user) -> World:
    partner_a = partner_factories.partner(
        managing_org=orgs.city_a, org=orgs.partner, company_name="Alpha SP Ltd"
    )
    partner_b = partner_factories.partner(
        managing_org=orgs.city_b, org=orgs.other_partner, company_name="Beta SP Ltd"
    )
    return World(
        partner_a=partner_a,
        partner_b=partner_b,
        staff_a=make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm"),
        staff_b=make_user(org=orgs.city_b, roles=("partner_manager",), username="sz_pm"),
        staff_province=make_user(org=orgs.province, roles=("partner_manager",), username="gd_pm"),
        staff_no_permission=make_user(
            org=orgs.city_a, roles=("channel_manager",), username="gz_cm"
        ),
        auditor_a=make_user(org=orgs.city_a, roles=("auditor",), username="gz_auditor"),
        admin_a=partner_a.admin_user,
        user_a=partner_factories.partner_user(partner_a, username="alpha_staff"),
        admin_b=partner_b.admin_user,
    )


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def open_case(world: World, *, today: date = MONDAY, **overrides) -> BreachCase:
    fields = {
        "actor": world.staff_a,
        "partner": world.partner_a,
        "business": "SMS weather service 10661234",
        "violation_type": BreachCase.ViolationType.UNSOLICITED_SUBSCRIPTION,
        "description": "Users subscribed without confirming by SMS.",
        "impact": BreachCase.Impact.SERIOUS,
        "affected_users": 120,
        "used_marketing_resources": False,
        "today": today,
    }
    fields.update(overrides)
    return breach_case_open(**fields)


def respond(world: World, case: BreachCase, *, now: datetime, actor=None, **extra):
    return breach_response_submit(
        actor=actor or world.admin_a,
        number=case.number,
        body=extra.pop("body", "The users confirmed; logs attached."),
        now=now,
        **extra,
    )


def decide(world: World, case: BreachCase, *, now: datetime, actor=None, **extra):
    fields = {"upheld": True, "reason": "Confirmation logs are missing."}
    fields.update(extra)
    return breach_case_decide(actor=actor or world.staff_a, number=case.number, now=now, **fields)


def counts() -> dict[str, int]:
    return {
        "cases": BreachCase.objects.count(),
        "responses": BreachResponse.objects.count(),
        "notices": PublicNotice.objects.count(),
        "attachments": Attachment.objects.count(),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.fixture
def received():
    """What the credit module would receive on ``violation_determined``."""
    calls: list[dict] = []

    def receiver(sender, **kwargs):
        calls.append(kwargs)

    violation_determined.connect(receiver, weak=False, dispatch_uid="test_cases_receiver")
    yield calls
    violation_determined.disconnect(dispatch_uid="test_cases_receiver")


# ---- opening a case ----------------------------------------------------------------------


def test_open_case_numbers_it_sets_the_deadline_and_notifies_the_partner_admins(
    world, media, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case(world, evidence=[pdf("screenshot.pdf")])

    assert case.number == "BC-2026-000001"
    assert (case.partner, case.org, case.opened_by) == (
        world.partner_a,
        world.staff_a.org,
        world.staff_a,
    )
    assert (case.status, case.response_due) == (BreachCase.Status.AWAITING_RESPONSE, DUE)
    assert (case.impact, case.affected_users, case.used_marketing_resources) == (
        "serious",
        120,
        False,
    )
    [evidence] = Attachment.objects.all()
    assert (evidence.owner_id, evidence.original_name, evidence.purpose) == (
        str(case.pk),
        "screenshot.pdf",
        "evidence",
    )
    [notification] = Notification.objects.filter(event="portal.breach_case_opened")
    assert notification.recipient == world.admin_a
    assert notification.link == "/portal/cases/BC-2026-000001/"
    assert [message.to for message in mail.outbox] == [[world.admin_a.email]]
    assert "2026-06-15" in mail.outbox[0].body
    event = AuditEvent.objects.get(action="breach_case.opened")
    assert event.changes["response_due"] == "2026-06-15"
    assert open_case(world).number == "BC-2026-000002"


@pytest.mark.parametrize(
    ("_case", "opened", "calendar", "due"),
    [
        ("monday to next monday", date(2026, 6, 8), {}, date(2026, 6, 15)),
        ("friday to next friday", date(2026, 6, 12), {}, date(2026, 6, 19)),
        ("saturday counts from monday", date(2026, 6, 13), {}, date(2026, 6, 19)),
        (
            "over the dragon boat holiday",
            date(2026, 6, 15),
            {date(2026, 6, 19): False},
            date(2026, 6, 23),
        ),
        (
            "over a shifted working saturday",
            date(2026, 9, 23),
            {date(2026, 9, 26): True},
            date(2026, 9, 29),
        ),
        (
            "labour day holidays and a shifted saturday",
            date(2026, 4, 30),
            {
                date(2026, 5, 1): False,
                date(2026, 5, 4): False,
                date(2026, 5, 5): False,
                date(2026, 5, 9): True,
            },
            date(2026, 5, 11),
        ),
    ],
)
def test_response_deadline_is_five_working_days(world, _case, opened, calendar, due):
    for day, working in calendar.items():
        CalendarDay.objects.create(date=day, is_working_day=working, name="calendar")

    case = open_case(world, today=opened)

    assert case.response_due == due


def test_response_deadline_follows_the_setting(world, settings):
    settings.PRM_BREACH_RESPONSE_WORKING_DAYS = 3

    assert open_case(world, today=MONDAY).response_due == date(2026, 6, 11)


def test_open_case_uses_the_local_date_by_default(world):
    # 23:30 on Friday in Beijing is still Friday there (15:30 UTC).
    with time_machine.travel(at(date(2026, 6, 12), 23, 30), tick=False):
        case = open_case(world, today=None)

    assert case.response_due == date(2026, 6, 19)


@pytest.mark.parametrize(
    ("_case", "overrides", "code"),
    [
        ("business missing", {"business": "  "}, "business_required"),
        ("description missing", {"description": ""}, "description_required"),
        ("unknown violation type", {"violation_type": "spam"}, "violation_type_invalid"),
        ("unknown impact", {"impact": "huge"}, "impact_invalid"),
        ("negative affected users", {"affected_users": -1}, "affected_users_invalid"),
    ],
)
def test_open_case_refuses_bad_input_and_writes_nothing(world, _case, overrides, code):
    before = counts()

    with pytest.raises(ApplicationError) as error:
        open_case(world, **overrides)

    assert error.value.code == code
    assert counts() == before


def test_open_case_with_a_disallowed_evidence_file_writes_nothing(world, media):
    before = counts()
    bad = SimpleUploadedFile("run.exe", b"MZ\x90\x00" + b"\x00" * 60)

    with pytest.raises(ApplicationError) as error:
        open_case(world, evidence=[pdf(), bad])

    assert error.value.code == "attachment_type_not_allowed"
    assert counts() == before
    assert [path for path in media.rglob("*") if path.is_file()] == []


@pytest.mark.parametrize(
    ("_case", "status"),
    [
        ("application", Partner.Status.SUBMITTED),
        ("exiting", Partner.Status.EXITING),
        ("exited", Partner.Status.EXITED),
    ],
)
def test_open_case_only_for_an_active_partner(world, _case, status):
    Partner.objects.filter(pk=world.partner_a.pk).update(status=status)
    before = counts()

    with pytest.raises(ApplicationError) as error:
        open_case(world)

    assert error.value.code == "partner_not_active"
    assert counts() == before


@pytest.mark.parametrize(
    ("_case", "actor", "code"),
    [
        ("staff of another city", "staff_b", "not_found"),
        ("staff without the permission", "staff_no_permission", "forbidden"),
        ("auditor", "auditor_a", "forbidden"),
        ("the partner itself", "admin_a", "forbidden"),
    ],
)
def test_open_case_needs_a_case_manager_who_manages_the_partner(world, _case, actor, code):
    before = counts()

    with pytest.raises(ApplicationError) as error:
        open_case(world, actor=getattr(world, actor))

    assert error.value.code == code
    assert counts() == before


def test_province_staff_may_open_a_case_about_a_city_partner(world):
    case = open_case(world, actor=world.staff_province, partner=world.partner_b)

    assert (case.partner, case.org) == (world.partner_b, world.staff_province.org)


# ---- the partner's response --------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "moment", "allowed"),
    [
        ("the day it was opened", at(MONDAY, 15), True),
        ("the last day, morning", at(DUE, 9), True),
        ("the last second of the last day", at(DUE, 23, 59, 59), True),
        ("midnight after the last day", at(date(2026, 6, 16), 0, 0, 0), False),
        ("the day after", at(date(2026, 6, 16), 10), False),
    ],
)
def test_response_until_the_end_of_the_due_date(world, _case, moment, allowed):
    case = open_case(world)
    before = counts()

    if allowed:
        response = respond(world, case, now=moment)
        case.refresh_from_db()
        assert (response.case, response.author) == (case, world.admin_a)
        assert case.status == BreachCase.Status.RESPONDED
    else:
        with pytest.raises(ApplicationError) as error:
            respond(world, case, now=moment)
        assert (error.value.code, error.value.status) == ("response_deadline_passed", 409)
        assert counts() == before
        case.refresh_from_db()
        assert case.status == BreachCase.Status.AWAITING_RESPONSE


def test_response_with_evidence_and_a_second_response(
    world, media, django_capture_on_commit_callbacks
):
    case = open_case(world)

    with django_capture_on_commit_callbacks(execute=True):
        first = respond(world, case, now=at(MONDAY, 15), evidence=[pdf("logs.pdf")])
    second = respond(world, case, now=at(DUE, 9), actor=world.user_a, body="More logs.")

    case.refresh_from_db()
    assert case.status == BreachCase.Status.RESPONDED
    assert list(case.responses.values_list("author__username", "body")) == [
        (world.admin_a.username, "The users confirmed; logs attached."),
        ("alpha_staff", "More logs."),
    ]
    [attachment] = Attachment.objects.all()
    assert (attachment.owner_id, attachment.original_name) == (str(first.pk), "logs.pdf")
    assert second.pk != first.pk
    recipients = Notification.objects.filter(event="portal.breach_case_responded")
    assert [n.recipient for n in recipients] == [world.staff_a, world.staff_a]


@pytest.mark.parametrize(
    ("_case", "actor", "code"),
    [
        ("another partner", "admin_b", "not_found"),
        ("staff of another city", "staff_b", "not_found"),
        ("staff of the partner's city", "staff_a", "forbidden"),
    ],
)
def test_response_only_by_the_partner_concerned(world, _case, actor, code):
    case = open_case(world)
    before = counts()

    with pytest.raises(ApplicationError) as error:
        respond(world, case, now=at(MONDAY, 15), actor=getattr(world, actor))

    assert error.value.code == code
    assert counts() == before


def test_empty_feedback_is_refused(world):
    case = open_case(world)
    before = counts()

    with pytest.raises(ApplicationError) as error:
        respond(world, case, now=at(MONDAY, 15), body="  ")

    assert error.value.code == "feedback_required"
    assert counts() == before


# ---- the decision ------------------------------------------------------------------------


def test_upheld_case_records_penalties_publishes_a_notice_and_emits_the_event(
    world, received, django_capture_on_commit_callbacks
):
    case = open_case(world)
    respond(world, case, now=at(MONDAY, 15))

    with django_capture_on_commit_callbacks(execute=True):
        decided = decide(
            world,
            case,
            now=at(date(2026, 6, 10)),
            credit_deduction=True,
            fine_amount=Decimal("5000.00"),
            suspend_business_until=date(2026, 9, 30),
        )

    case.refresh_from_db()
    assert decided.status == case.status == BreachCase.Status.UPHELD
    assert (case.decided_by, case.decision_reason) == (
        world.staff_a,
        "Confirmation logs are missing.",
    )
    assert (case.credit_deduction, case.fine_amount, case.suspend_business_until) == (
        True,
        Decimal("5000.00"),
        date(2026, 9, 30),
    )
    [notice] = PublicNotice.objects.all()
    assert (notice.kind, notice.partner, notice.breach_case, notice.only_partner) == (
        "penalty",
        world.partner_a,
        case,
        None,
    )
    assert case.number in notice.title
    assert "5000.00" in notice.body
    assert len(received) == 1
    assert (received[0]["case"], received[0]["actor"]) == (case, world.staff_a)
    world.partner_a.refresh_from_db()
    assert world.partner_a.business_suspended_until == date(2026, 9, 30)
    [notification] = Notification.objects.filter(event="portal.breach_case_upheld")
    assert notification.recipient == world.admin_a
    event = AuditEvent.objects.get(action="breach_case.decided")
    assert event.changes["status"] == ["responded", "upheld"]
    assert event.changes["fine_amount"] == "5000.00"
    assert event.changes["public_notice"] == notice.pk


def test_violation_determined_is_sent_only_after_commit(world, received):
    case = open_case(world)
    respond(world, case, now=at(MONDAY, 15))

    decide(world, case, now=at(date(2026, 6, 10)))

    # The test transaction never commits: a rolled-back decision tells nobody.
    assert received == []


def test_upheld_without_penalties_still_publishes_the_notice(
    world, received, django_capture_on_commit_callbacks
):
    case = open_case(world)

    with django_capture_on_commit_callbacks(execute=True):
        decide(world, case, now=at(date(2026, 6, 16)))

    case.refresh_from_db()
    assert (case.status, case.credit_deduction, case.fine_amount) == ("upheld", False, None)
    assert PublicNotice.objects.filter(breach_case=case, kind="penalty").count() == 1
    assert len(received) == 1
    world.partner_a.refresh_from_db()
    assert world.partner_a.business_suspended_until is None


def test_not_upheld_tells_the_partner_and_nothing_else(
    world, received, django_capture_on_commit_callbacks
):
    case = open_case(world)
    respond(world, case, now=at(MONDAY, 15))

    with django_capture_on_commit_callbacks(execute=True):
        decide(world, case, now=at(date(2026, 6, 10)), upheld=False, reason="Logs are complete.")

    case.refresh_from_db()
    assert (case.status, case.decision_reason) == ("not_upheld", "Logs are complete.")
    assert PublicNotice.objects.count() == 0
    assert received == []
    world.partner_a.refresh_from_db()
    assert world.partner_a.business_suspended_until is None
    [notification] = Notification.objects.filter(event="portal.breach_case_not_upheld")
    assert notification.recipient == world.admin_a


def test_illegal_content_starts_the_partners_exit(world, monkeypatch):
    """The call made to the partners module (its own tests cover what the exit does)."""
    from prm.partners.services import agreements

    calls = []

    def partner_exit_start(*, partner, kind, reason, source, actor):
        calls.append(
            {"partner": partner, "kind": kind, "source": source, "actor": actor, "reason": reason}
        )

    monkeypatch.setattr(agreements, "partner_exit_start", partner_exit_start, raising=False)
    case = open_case(world, violation_type=BreachCase.ViolationType.ILLEGAL_CONTENT)
    respond(world, case, now=at(MONDAY, 15))

    decide(world, case, now=at(date(2026, 6, 10)))

    [call] = calls
    assert (call["partner"], call["kind"], call["source"], call["actor"]) == (
        world.partner_a,
        "illegal_content",
        "portal",
        world.staff_a,
    )
    assert case.number in call["reason"]
    event = AuditEvent.objects.get(action="breach_case.decided")
    assert event.changes["partner_exit"] == "started"


def test_illegal_content_exit_refused_by_the_partners_module_keeps_the_decision(world, monkeypatch):
    from prm.partners.services import agreements

    def partner_exit_start(**kwargs):
        raise ApplicationError("exit_in_progress", "An exit is already running.")

    monkeypatch.setattr(agreements, "partner_exit_start", partner_exit_start, raising=False)
    case = open_case(world, violation_type=BreachCase.ViolationType.ILLEGAL_CONTENT)

    decide(world, case, now=at(date(2026, 6, 16)))

    case.refresh_from_db()
    assert case.status == "upheld"
    event = AuditEvent.objects.get(action="breach_case.decided")
    assert event.changes["partner_exit"] == "exit_in_progress"


def test_illegal_content_with_the_real_exit_service(world):
    from prm.partners.services import agreements

    if not hasattr(agreements, "partner_exit_start"):
        pytest.skip("prm.partners.services.agreements.partner_exit_start is not there yet")
    from prm.partners.models import ExitCase

    case = open_case(world, violation_type=BreachCase.ViolationType.ILLEGAL_CONTENT)

    decide(world, case, now=at(date(2026, 6, 16)))

    assert ExitCase.objects.filter(partner=world.partner_a).count() == 1
    event = AuditEvent.objects.get(action="breach_case.decided")
    assert event.changes["partner_exit"] == "started"
    # The admins hear of the decision even though the exit closes their accounts.
    [notification] = Notification.objects.filter(event="portal.breach_case_upheld")
    assert notification.recipient == world.admin_a


def test_other_violations_do_not_start_an_exit(world, monkeypatch):
    from prm.partners.services import agreements

    calls = []
    monkeypatch.setattr(
        agreements, "partner_exit_start", lambda **kwargs: calls.append(kwargs), raising=False
    )
    case = open_case(world, violation_type=BreachCase.ViolationType.BILLING_FRAUD)

    decide(world, case, now=at(date(2026, 6, 16)))

    assert calls == []
    assert "partner_exit" not in AuditEvent.objects.get(action="breach_case.decided").changes


@pytest.mark.parametrize(
    ("_case", "responded", "moment", "allowed"),
    [
        ("no response, the last day", False, at(DUE, 23, 59, 59), False),
        ("no response, the day after", False, at(date(2026, 6, 16), 0, 0, 1), True),
        ("responded, before the deadline", True, at(date(2026, 6, 9)), True),
    ],
)
def test_decision_after_the_deadline_or_once_the_partner_responded(
    world, _case, responded, moment, allowed
):
    case = open_case(world)
    if responded:
        respond(world, case, now=at(MONDAY, 15))
    before = counts()

    if allowed:
        assert decide(world, case, now=moment).status == "upheld"
    else:
        with pytest.raises(ApplicationError) as error:
            decide(world, case, now=moment)
        assert (error.value.code, error.value.status) == ("breach_case_response_pending", 409)
        assert counts() == before


def test_a_decision_is_final(world, received, django_capture_on_commit_callbacks):
    case = open_case(world)
    with django_capture_on_commit_callbacks(execute=True):
        decide(world, case, now=at(date(2026, 6, 16)), upheld=False, reason="No violation.")
    before = counts()

    with pytest.raises(ApplicationError) as error:
        decide(world, case, now=at(date(2026, 6, 17)), upheld=True, reason="Changed my mind.")

    assert (error.value.code, error.value.status) == ("breach_case_decided", 409)
    assert counts() == before
    case.refresh_from_db()
    assert (case.status, case.decision_reason) == ("not_upheld", "No violation.")
    assert received == []


def test_no_response_after_the_decision(world):
    case = open_case(world)
    respond(world, case, now=at(MONDAY, 15))
    decide(world, case, now=at(date(2026, 6, 9)))
    before = counts()

    with pytest.raises(ApplicationError) as error:
        respond(world, case, now=at(date(2026, 6, 10)))

    assert error.value.code == "breach_case_decided"
    assert counts() == before


@pytest.mark.parametrize(
    ("_case", "extra", "code"),
    [
        ("reason missing", {"reason": " "}, "reason_required"),
        ("negative fine", {"fine_amount": Decimal("-0.01")}, "fine_negative"),
        ("fine with 3 decimals", {"fine_amount": Decimal("1.005")}, "fine_invalid"),
        ("fine not a number", {"fine_amount": "lots"}, "fine_invalid"),
        (
            "suspension ending yesterday",
            {"suspend_business_until": date(2026, 6, 15)},
            "suspension_in_past",
        ),
        (
            "not upheld with a fine",
            {"upheld": False, "fine_amount": Decimal("10")},
            "penalties_not_upheld",
        ),
        (
            "not upheld with a credit deduction",
            {"upheld": False, "credit_deduction": True},
            "penalties_not_upheld",
        ),
    ],
)
def test_decision_refuses_bad_penalties_and_writes_nothing(world, _case, extra, code):
    case = open_case(world)
    before = counts()

    with pytest.raises(ApplicationError) as error:
        decide(world, case, now=at(date(2026, 6, 16)), **extra)

    assert error.value.code == code
    assert counts() == before
    case.refresh_from_db()
    assert case.status == BreachCase.Status.AWAITING_RESPONSE


@pytest.mark.parametrize(
    ("_case", "extra"),
    [
        ("zero fine", {"fine_amount": Decimal("0")}),
        ("suspension ending today", {"suspend_business_until": date(2026, 6, 16)}),
    ],
)
def test_decision_penalty_boundaries_accepted(world, _case, extra):
    case = open_case(world)

    decide(world, case, now=at(date(2026, 6, 16)), **extra)

    case.refresh_from_db()
    assert case.status == "upheld"


@pytest.mark.parametrize(
    ("_case", "actor", "code"),
    [
        ("staff of another city", "staff_b", "not_found"),
        ("another partner", "admin_b", "not_found"),
        ("the partner itself", "admin_a", "forbidden"),
        ("staff without the permission", "staff_no_permission", "forbidden"),
        ("auditor", "auditor_a", "forbidden"),
    ],
)
def test_decision_only_by_a_case_manager_in_scope(world, received, _case, actor, code):
    case = open_case(world)
    before = counts()

    with pytest.raises(ApplicationError) as error:
        decide(world, case, now=at(date(2026, 6, 16)), actor=getattr(world, actor))

    assert error.value.code == code
    assert counts() == before
    world.partner_a.refresh_from_db()
    assert world.partner_a.business_suspended_until is None


def test_province_staff_decide_a_case_opened_by_the_city(world):
    case = open_case(world)

    decide(world, case, now=at(date(2026, 6, 16)), actor=world.staff_province)

    case.refresh_from_db()
    assert (case.status, case.decided_by) == ("upheld", world.staff_province)


# ---- the hourly deadline check -----------------------------------------------------------


def test_staff_are_told_once_when_the_partner_lets_the_deadline_pass(
    world, django_capture_on_commit_callbacks
):
    waiting = open_case(world)
    answered = open_case(world)
    respond(world, answered, now=at(MONDAY, 15))
    later = open_case(world, today=date(2026, 6, 10))

    assert deadlines_check(now=at(DUE, 23, 59, 59))["breach_cases_overdue"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        first = deadlines_check(now=at(date(2026, 6, 16), 0, 30))
    second = deadlines_check(now=at(date(2026, 6, 16), 1, 30))

    assert first == {"breach_cases_overdue": 1, "inquiries_due_soon": 0, "inquiries_overdue": 0}
    assert second["breach_cases_overdue"] == 0
    [notification] = Notification.objects.filter(event="portal.breach_case_overdue")
    assert (notification.recipient, notification.link) == (
        world.staff_a,
        f"/portal/cases/{waiting.number}/",
    )
    assert mail.outbox[-1].to == [world.staff_a.email]
    [event] = AuditEvent.objects.filter(action="breach_case.overdue_notified")
    assert (event.target_id, event.changes["recipients"]) == (str(waiting.pk), ["gz_pm"])
    assert later.number not in notification.body


def test_overdue_notice_goes_to_the_partners_manager_too(world):
    Partner.objects.filter(pk=world.partner_a.pk).update(manager=world.staff_province)
    open_case(world)

    deadlines_check(now=at(date(2026, 6, 16), 9))

    recipients = Notification.objects.filter(event="portal.breach_case_overdue")
    assert sorted(n.recipient.username for n in recipients) == ["gd_pm", "gz_pm"]


def test_the_celery_task_runs_the_check(world):
    from prm.portal.tasks import deadlines_check as task

    open_case(world)
    with time_machine.travel(at(date(2026, 6, 16), 9), tick=False):
        result = task.delay().get()

    assert result["breach_cases_overdue"] == 1
