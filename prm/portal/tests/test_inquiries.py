"""Partner inquiries (R2): a partner's question with a working-day answer deadline, answered
by the staff who manage the partner, reopened or closed by the partner; reminders before
and after the deadline; the overdue badge; pages and API with their access rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail

from prm.core.exceptions import ApplicationError
from prm.core.models import Attachment, AuditEvent, CalendarDay, Notification
from prm.partners.models import Partner
from prm.portal.models import Inquiry
from prm.portal.selectors_cases import inquiry_handlers, inquiry_overdue_count
from prm.portal.services.cases import (
    deadlines_check,
    inquiry_answer,
    inquiry_close,
    inquiry_create,
    inquiry_reopen,
)
from prm.portal.tests.test_cases import SHANGHAI, World, at, build_world, pdf

pytestmark = pytest.mark.django_db

MONDAY = date(2026, 6, 8)
DUE_AT = datetime(2026, 6, 11, 23, 59, 59, tzinfo=SHANGHAI)  # MONDAY + 3 working days


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


def ask(world: World, *, now: datetime | None = None, actor=None, **extra) -> Inquiry:
    fields = {
        "topic": Inquiry.Topic.SETTLEMENT,
        "subject": "May settlement missing",
        "body": "The May settlement statement is not in the portal.",
    }
    fields.update(extra)
    return inquiry_create(actor=actor or world.admin_a, now=now or at(MONDAY), **fields)


def counts() -> dict[str, int]:
    return {
        "inquiries": Inquiry.objects.count(),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "attachments": Attachment.objects.count(),
    }


def state(inquiry: Inquiry) -> tuple:
    inquiry.refresh_from_db()
    return (inquiry.status, inquiry.answer, inquiry.due_at)


# ---- raising an inquiry ------------------------------------------------------------------


def test_partner_raises_an_inquiry_and_the_managing_staff_are_told(
    world, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        inquiry = ask(world, attachments=[pdf("statement.pdf")])

    assert inquiry.number == "IQ-2026-000001"
    assert (inquiry.partner, inquiry.author, inquiry.status) == (
        world.partner_a,
        world.admin_a,
        Inquiry.Status.OPEN,
    )
    assert inquiry.due_at == DUE_AT
    assert Attachment.objects.get().owner_id == str(inquiry.pk)
    # The city's partner manager answers; the province is not bothered.
    [notification] = Notification.objects.filter(event="portal.inquiry_created")
    assert (notification.recipient, notification.link) == (
        world.staff_a,
        "/portal/inquiries/IQ-2026-000001/",
    )
    assert [message.to for message in mail.outbox] == [[world.staff_a.email]]
    assert ask(world).number == "IQ-2026-000002"


@pytest.mark.parametrize(
    ("_case", "asked", "calendar", "due"),
    [
        ("monday to thursday", MONDAY, {}, date(2026, 6, 11)),
        ("friday to wednesday", date(2026, 6, 12), {}, date(2026, 6, 17)),
        ("late friday evening", date(2026, 6, 12), {}, date(2026, 6, 17)),
        (
            "over the dragon boat holiday",
            date(2026, 6, 17),
            {date(2026, 6, 19): False},
            date(2026, 6, 23),
        ),
        (
            "over a shifted working saturday",
            date(2026, 9, 24),
            {date(2026, 9, 26): True},
            date(2026, 9, 28),  # Fri 25, Sat 26 (worked), Mon 28; Tue 29 without it
        ),
    ],
)
def test_answer_deadline_in_working_days(world, _case, asked, calendar, due):
    for day, working in calendar.items():
        CalendarDay.objects.create(date=day, is_working_day=working, name="calendar")
    hour = 23 if _case == "late friday evening" else 10

    inquiry = ask(world, now=at(asked, hour))

    assert inquiry.due_at == datetime(due.year, due.month, due.day, 23, 59, 59, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("_case", "actor", "overrides", "code"),
    [
        ("staff cannot ask", "staff_a", {}, "forbidden"),
        ("subject missing", "admin_a", {"subject": " "}, "subject_required"),
        ("question missing", "admin_a", {"body": ""}, "question_required"),
        ("unknown topic", "admin_a", {"topic": "gossip"}, "topic_invalid"),
    ],
)
def test_raising_refuses_and_writes_nothing(world, _case, actor, overrides, code):
    before = counts()

    with pytest.raises(ApplicationError) as error:
        ask(world, actor=getattr(world, actor), **overrides)

    assert error.value.code == code
    assert counts() == before


def test_an_application_cannot_raise_inquiries(world):
    Partner.objects.filter(pk=world.partner_a.pk).update(status=Partner.Status.SUBMITTED)
    before = counts()

    with pytest.raises(ApplicationError) as error:
        ask(world)

    assert error.value.code == "partner_not_active"
    assert counts() == before


# ---- answer, reopen, close ---------------------------------------------------------------


def test_staff_answer_and_the_author_is_told(world, django_capture_on_commit_callbacks):
    inquiry = ask(world, actor=world.user_a)

    with django_capture_on_commit_callbacks(execute=True):
        inquiry_answer(
            actor=world.staff_a,
            number=inquiry.number,
            answer="Published today.",
            now=at(MONDAY, 11),
        )

    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.answer, inquiry.answered_by) == (
        "answered",
        "Published today.",
        world.staff_a,
    )
    assert inquiry.answered_at == at(MONDAY, 11)
    [notification] = Notification.objects.filter(event="portal.inquiry_answered")
    assert notification.recipient == world.user_a
    assert mail.outbox[-1].to == [world.user_a.email]


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
def test_answer_only_by_the_handling_staff(world, _case, actor, code):
    inquiry = ask(world)
    before, was = counts(), state(inquiry)

    with pytest.raises(ApplicationError) as error:
        inquiry_answer(actor=getattr(world, actor), number=inquiry.number, answer="x")

    assert error.value.code == code
    assert (counts(), state(inquiry)) == (before, was)


def test_answering_twice_is_refused(world):
    inquiry = ask(world)
    inquiry_answer(actor=world.staff_a, number=inquiry.number, answer="First.")
    before, was = counts(), state(inquiry)

    with pytest.raises(ApplicationError) as error:
        inquiry_answer(actor=world.staff_province, number=inquiry.number, answer="Second.")

    assert (error.value.code, error.value.status) == ("inquiry_not_open", 409)
    assert (counts(), state(inquiry)) == (before, was)


def test_partner_reopens_an_answered_inquiry_with_a_new_deadline(world):
    inquiry = ask(world)
    inquiry_answer(actor=world.staff_a, number=inquiry.number, answer="See the portal.")

    inquiry_reopen(
        actor=world.user_a,
        number=inquiry.number,
        comment="It is still missing.",
        now=at(date(2026, 6, 10)),
    )

    inquiry.refresh_from_db()
    assert inquiry.status == "open"
    assert inquiry.due_at == datetime(2026, 6, 15, 23, 59, 59, tzinfo=SHANGHAI)
    assert [n.recipient for n in Notification.objects.filter(event="portal.inquiry_reopened")] == [
        world.staff_a
    ]
    inquiry_answer(actor=world.staff_a, number=inquiry.number, answer="Now it is there.")
    inquiry.refresh_from_db()
    assert (inquiry.status, inquiry.answer) == ("answered", "Now it is there.")


@pytest.mark.parametrize(
    ("_case", "actor", "answered", "code"),
    [
        ("not answered yet", "admin_a", False, "inquiry_not_answered"),
        ("staff cannot reopen", "staff_a", True, "forbidden"),
        ("another partner", "admin_b", True, "not_found"),
    ],
)
def test_reopen_refusals(world, _case, actor, answered, code):
    inquiry = ask(world)
    if answered:
        inquiry_answer(actor=world.staff_a, number=inquiry.number, answer="Done.")
    before, was = counts(), state(inquiry)

    with pytest.raises(ApplicationError) as error:
        inquiry_reopen(actor=getattr(world, actor), number=inquiry.number, comment="Why?")

    assert error.value.code == code
    assert (counts(), state(inquiry)) == (before, was)


@pytest.mark.parametrize(
    ("_case", "actor", "code"),
    [
        ("the partner", "admin_a", None),
        ("the handling staff", "staff_a", None),
        ("another partner", "admin_b", "not_found"),
        ("staff of another city", "staff_b", "not_found"),
        ("staff without the permission", "staff_no_permission", "forbidden"),
    ],
)
def test_close(world, _case, actor, code):
    inquiry = ask(world)
    before, was = counts(), state(inquiry)

    if code is None:
        inquiry_close(actor=getattr(world, actor), number=inquiry.number)
        inquiry.refresh_from_db()
        assert inquiry.status == "closed"
        with pytest.raises(ApplicationError) as error:
            inquiry_close(actor=getattr(world, actor), number=inquiry.number)
        assert (error.value.code, error.value.status) == ("inquiry_closed", 409)
    else:
        with pytest.raises(ApplicationError) as error:
            inquiry_close(actor=getattr(world, actor), number=inquiry.number)
        assert error.value.code == code
        assert (counts(), state(inquiry)) == (before, was)


def test_handlers_are_the_nearest_staff_with_the_permission(world, orgs, make_user):
    inquiry = ask(world)
    assert [user.username for user in inquiry_handlers(inquiry)] == ["gz_pm"]

    world.staff_a.is_active = False
    world.staff_a.save(update_fields=["is_active"])

    assert [user.username for user in inquiry_handlers(inquiry)] == ["gd_pm"]


# ---- deadlines ---------------------------------------------------------------------------


def test_reminder_before_and_notice_after_the_deadline_once_each(world):
    inquiry = ask(world)
    answered = ask(world)
    inquiry_answer(actor=world.staff_a, number=answered.number, answer="Done.")

    early = deadlines_check(now=DUE_AT - timedelta(hours=25))
    soon = deadlines_check(now=DUE_AT - timedelta(hours=23))
    soon_again = deadlines_check(now=DUE_AT - timedelta(hours=1))
    on_time = deadlines_check(now=DUE_AT)
    late = deadlines_check(now=DUE_AT + timedelta(seconds=1))
    late_again = deadlines_check(now=DUE_AT + timedelta(days=2))

    assert [c["inquiries_due_soon"] for c in (early, soon, soon_again, on_time, late)] == [
        0,
        1,
        0,
        0,
        0,
    ]
    assert [c["inquiries_overdue"] for c in (on_time, late, late_again)] == [0, 1, 0]
    assert [
        (n.event, n.recipient.username)
        for n in Notification.objects.order_by("pk")
        if n.event in ("portal.inquiry_due_soon", "portal.inquiry_overdue")
    ] == [("portal.inquiry_due_soon", "gz_pm"), ("portal.inquiry_overdue", "gz_pm")]
    assert {e.target_id for e in AuditEvent.objects.filter(action="inquiry.overdue_notified")} == {
        str(inquiry.pk)
    }


def test_a_reopened_inquiry_gets_reminders_for_its_new_deadline(world):
    inquiry = ask(world)
    deadlines_check(now=DUE_AT + timedelta(hours=1))
    inquiry_answer(actor=world.staff_a, number=inquiry.number, answer="Late, sorry.")
    inquiry_reopen(
        actor=world.admin_a,
        number=inquiry.number,
        comment="Wrong month.",
        now=at(date(2026, 6, 15)),
    )

    result = deadlines_check(now=datetime(2026, 6, 18, 23, 59, 59, tzinfo=SHANGHAI) + timedelta(1))

    assert result["inquiries_overdue"] == 1
    assert AuditEvent.objects.filter(action="inquiry.overdue_notified").count() == 2


def test_overdue_count_for_the_staff_badge(world):
    ask(world)
    closed = ask(world)
    inquiry_close(actor=world.admin_a, number=closed.number)
    late = DUE_AT + timedelta(seconds=1)

    assert inquiry_overdue_count(user=world.staff_a, now=DUE_AT) == 0
    assert inquiry_overdue_count(user=world.staff_a, now=late) == 1
    assert inquiry_overdue_count(user=world.staff_province, now=late) == 1
    assert inquiry_overdue_count(user=world.staff_b, now=late) == 0
    assert inquiry_overdue_count(user=world.admin_a, now=late) == 0


# ---- pages -------------------------------------------------------------------------------

PAGE_TABLE = [
    ("list anonymous", None, "get", "/portal/inquiries/", 302),
    ("list other partner", "admin_b", "get", "/portal/inquiries/", 200),
    ("list staff of another city", "staff_b", "get", "/portal/inquiries/", 200),
    ("list staff without permission", "staff_no_permission", "get", "/portal/inquiries/", 403),
    ("list partner", "admin_a", "get", "/portal/inquiries/", 200),
    ("list handling staff", "staff_a", "get", "/portal/inquiries/", 200),
    ("new anonymous", None, "get", "/portal/inquiries/new/", 302),
    ("new staff", "staff_a", "get", "/portal/inquiries/new/", 403),
    ("new staff without permission", "staff_no_permission", "get", "/portal/inquiries/new/", 403),
    ("new partner", "user_a", "get", "/portal/inquiries/new/", 200),
    ("detail anonymous", None, "get", "/portal/inquiries/{n}/", 302),
    ("detail other partner", "admin_b", "get", "/portal/inquiries/{n}/", 404),
    ("detail staff of another city", "staff_b", "get", "/portal/inquiries/{n}/", 404),
    (
        "detail staff without permission",
        "staff_no_permission",
        "get",
        "/portal/inquiries/{n}/",
        403,
    ),
    ("detail partner", "user_a", "get", "/portal/inquiries/{n}/", 200),
    ("detail auditor", "auditor_a", "get", "/portal/inquiries/{n}/", 200),
    ("detail handling staff", "staff_a", "get", "/portal/inquiries/{n}/", 200),
    ("answer anonymous", None, "post", "/portal/inquiries/{n}/answer/", 302),
    ("answer other partner", "admin_b", "post", "/portal/inquiries/{n}/answer/", 404),
    ("answer staff of another city", "staff_b", "post", "/portal/inquiries/{n}/answer/", 404),
    ("answer no permission", "staff_no_permission", "post", "/portal/inquiries/{n}/answer/", 403),
    ("answer partner", "admin_a", "post", "/portal/inquiries/{n}/answer/", 403),
    ("answer auditor", "auditor_a", "post", "/portal/inquiries/{n}/answer/", 403),
    ("reopen anonymous", None, "post", "/portal/inquiries/{n}/reopen/", 302),
    ("reopen other partner", "admin_b", "post", "/portal/inquiries/{n}/reopen/", 404),
    ("reopen staff", "staff_a", "post", "/portal/inquiries/{n}/reopen/", 403),
    ("close anonymous", None, "post", "/portal/inquiries/{n}/close/", 302),
    ("close other partner", "admin_b", "post", "/portal/inquiries/{n}/close/", 404),
    ("close staff of another city", "staff_b", "post", "/portal/inquiries/{n}/close/", 404),
    ("close no permission", "staff_no_permission", "post", "/portal/inquiries/{n}/close/", 403),
    ("close auditor", "auditor_a", "post", "/portal/inquiries/{n}/close/", 403),
]


@pytest.mark.parametrize(("_case", "who", "method", "path", "status"), PAGE_TABLE)
def test_page_access(client, world, _case, who, method, path, status):
    inquiry = ask(world)
    if who is not None:
        client.force_login(getattr(world, who))
    before, was = counts(), state(inquiry)
    data = {"answer": "Answer.", "comment": "Why?"}

    response = getattr(client, method)(
        path.format(n=inquiry.number), data if method == "post" else None
    )

    assert response.status_code == status
    if who is None:
        assert response["Location"].startswith("/accounts/login/")
    if method == "post":
        assert (counts(), state(inquiry)) == (before, was)


def test_the_whole_conversation_through_the_pages(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    client.force_login(world.user_a)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        response = client.post(
            "/portal/inquiries/new/",
            {"topic": "technical", "subject": "API access", "body": "How do we get a token?"},
        )
    inquiry = Inquiry.objects.get()
    assert (response.status_code, response["Location"]) == (
        302,
        f"/portal/inquiries/{inquiry.number}/",
    )

    client.force_login(world.staff_a)
    with time_machine.travel(at(date(2026, 6, 12), 9), tick=False):
        listing = client.get("/portal/inquiries/")
        assert listing.context["overdue_count"] == 1
        assert 'data-testid="inquiry-overdue-badge"' in listing.content.decode()
        assert 'data-testid="inquiry-row-overdue"' in listing.content.decode()
        overdue_only = client.get("/portal/inquiries/", {"overdue": "on"})
        assert [i.number for i in overdue_only.context["page"]] == [inquiry.number]
        detail = client.get(f"/portal/inquiries/{inquiry.number}/").content.decode()
        assert 'data-testid="inquiry-overdue"' in detail
        assert 'data-testid="inquiry-answer-form"' in detail
        client.post(f"/portal/inquiries/{inquiry.number}/answer/", {"answer": "Ask your manager."})

    client.force_login(world.user_a)
    page = client.get(f"/portal/inquiries/{inquiry.number}/").content.decode()
    assert 'data-testid="inquiry-reopen-form"' in page
    client.post(f"/portal/inquiries/{inquiry.number}/reopen/", {"comment": "Which manager?"})
    client.force_login(world.staff_a)
    client.post(f"/portal/inquiries/{inquiry.number}/answer/", {"answer": "Wang in Guangzhou."})
    client.force_login(world.user_a)
    response = client.post(f"/portal/inquiries/{inquiry.number}/close/")
    assert response.status_code == 302

    page = client.get(f"/portal/inquiries/{inquiry.number}/")
    content = page.content.decode()
    assert [entry["kind"] for entry in page.context["thread"]] == [
        "created",
        "answered",
        "reopened",
        "answered",
        "closed",
    ]
    for text in ("How do we get a token?", "Ask your manager.", "Which manager?", "Wang in"):
        assert text in content
    assert 'data-testid="inquiry-close"' not in content
    inquiry.refresh_from_db()
    assert inquiry.status == "closed"


def test_empty_answer_on_the_page_is_refused(client, world):
    inquiry = ask(world)
    client.force_login(world.staff_a)
    before, was = counts(), state(inquiry)

    response = client.post(f"/portal/inquiries/{inquiry.number}/answer/", {"answer": ""})

    assert response.status_code == 400
    assert "answer" in response.context["answer_form"].errors
    assert (counts(), state(inquiry)) == (before, was)


def test_menu_entry(client, world):
    client.force_login(world.user_a)

    assert 'data-nav="portal_inquiries"' in client.get("/portal/inquiries/").content.decode()


# ---- API ---------------------------------------------------------------------------------

API = "/api/v1/portal/inquiries"

API_TABLE = [
    ("list anonymous", None, "get", "", None, 401),
    ("list other partner", "admin_b", "get", "", None, 200),
    ("list staff of another city", "staff_b", "get", "", None, 200),
    ("list staff without permission", "staff_no_permission", "get", "", None, 403),
    ("list partner", "admin_a", "get", "", None, 200),
    ("list handling staff", "staff_a", "get", "", None, 200),
    ("raise anonymous", None, "post", "", "q", 401),
    ("raise staff", "staff_a", "post", "", "q", 403),
    ("raise partner", "user_a", "post", "", "q", 201),
    ("detail other partner", "admin_b", "get", "/{n}", None, 404),
    ("detail staff of another city", "staff_b", "get", "/{n}", None, 404),
    ("detail partner", "admin_a", "get", "/{n}", None, 200),
    ("answer anonymous", None, "post", "/{n}/answer", "a", 401),
    ("answer other partner", "admin_b", "post", "/{n}/answer", "a", 403),
    ("answer staff of another city", "staff_b", "post", "/{n}/answer", "a", 404),
    ("answer staff without permission", "staff_no_permission", "post", "/{n}/answer", "a", 403),
    ("answer partner", "admin_a", "post", "/{n}/answer", "a", 403),
    ("answer handling staff", "staff_a", "post", "/{n}/answer", "a", 200),
    ("reopen not answered", "admin_a", "post", "/{n}/reopen", "r", 409),
    ("reopen other partner", "admin_b", "post", "/{n}/reopen", "r", 404),
    ("reopen staff", "staff_a", "post", "/{n}/reopen", "r", 403),
    ("close anonymous", None, "post", "/{n}/close", None, 401),
    ("close other partner", "admin_b", "post", "/{n}/close", None, 404),
    ("close staff of another city", "staff_b", "post", "/{n}/close", None, 404),
    ("close staff without permission", "staff_no_permission", "post", "/{n}/close", None, 403),
    ("close partner", "admin_a", "post", "/{n}/close", None, 200),
]


@pytest.mark.parametrize(("_case", "who", "method", "suffix", "body", "status"), API_TABLE)
def test_api_access(client, world, _case, who, method, suffix, body, status):
    inquiry = ask(world)
    if who is not None:
        client.force_login(getattr(world, who))
    payloads = {
        "q": {"topic": "account", "subject": "Password", "body": "Reset please."},
        "a": {"answer": "Done."},
        "r": {"comment": "Why?"},
        None: {},
    }
    before, was = counts(), state(inquiry)
    path = API + suffix.format(n=inquiry.number)

    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, payloads[body], content_type="application/json")

    assert response.status_code == status, response.content
    if status >= 400:
        assert set(response.json()) == {"code", "message", "details"}
        assert (counts(), state(inquiry)) == (before, was)
    if method == "get" and status == 200 and not suffix:
        numbers = [item["number"] for item in response.json()]
        assert numbers == ([inquiry.number] if who in ("admin_a", "staff_a") else [])


def test_api_conversation(client, world):
    client.force_login(world.user_a)
    with time_machine.travel(at(MONDAY, 10), tick=False):
        created = client.post(
            API,
            {"topic": "business", "subject": "New code", "body": "How many codes may we hold?"},
            content_type="application/json",
        )
    assert created.status_code == 201
    number = created.json()["number"]
    assert created.json()["due_at"].startswith("2026-06-11T23:59:59")

    client.force_login(world.staff_a)
    with time_machine.travel(at(date(2026, 6, 12), 9), tick=False):
        overdue = client.get(API, {"overdue": "true"})
        assert [item["number"] for item in overdue.json()] == [number]
        assert overdue.json()[0]["is_overdue"] is True
        answered = client.post(
            f"{API}/{number}/answer", {"answer": "Five."}, content_type="application/json"
        )
    assert (answered.json()["status"], answered.json()["answered_by"]) == ("answered", "gz_pm")

    client.force_login(world.user_a)
    reopened = client.post(
        f"{API}/{number}/reopen", {"comment": "And tier A?"}, content_type="application/json"
    )
    closed = client.post(f"{API}/{number}/close")
    again = client.post(f"{API}/{number}/close")
    assert reopened.json()["status"] == "open"
    assert closed.json()["status"] == "closed"
    assert (again.status_code, again.json()["code"]) == (409, "inquiry_closed")


def test_api_raise_validation(client, world):
    client.force_login(world.user_a)

    response = client.post(
        API, {"topic": "gossip", "subject": "x", "body": "y"}, content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert Inquiry.objects.count() == 0
