"""Notifications (R0): bilingual event templates, inbox, e-mail, SMS, inbox page and API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.core.exceptions import ApplicationError
from prm.core.models import Notification, SmsMessage
from prm.core.notifications import (
    notification_event_register,
    notification_unread_count,
    notify,
    notify_number,
)
from prm.core.sms import sms_fake_reset, sms_outbox

pytestmark = pytest.mark.django_db

# Strings Django's own catalogues already translate, so the language switch is visible
# before PRM's Chinese catalogue is filled in.
notification_event_register("tests.language", subject=_("Password"), body=_("%(answer)s"))
notification_event_register(
    "tests.plain_text",
    subject=_("Approval needed: %(document)s"),
    body=_("%(submitter)s submitted %(document)s <at once>."),
)
notification_event_register(
    "tests.secret", subject=_("Token"), body=_("Token %(token)s, password %(password)s.")
)


@pytest.fixture(autouse=True)
def _fake_sms(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed
    sms_fake_reset()
    yield
    sms_fake_reset()


@pytest.fixture
def people(orgs, make_user):
    def person(*, language, **extra):
        user = make_user(org=orgs.city_a, **extra)
        user.language = language
        user.save(update_fields=["language"])
        return user

    return {
        "english": person(language="en", email="en@example.com"),
        "chinese": person(language="zh-hans", email="zh@example.com"),
        "no_email": person(language="en", email="", mobile=""),
    }


def _notification(user, *, title="Hello", read=False, age_minutes=0):
    notification = Notification.objects.create(
        recipient=user,
        event="core.test_message",
        title=title,
        body="Body",
        read_at=timezone.now() if read else None,
    )
    if age_minutes:
        Notification.objects.filter(pk=notification.pk).update(
            created_at=timezone.now() - timedelta(minutes=age_minutes)
        )
    return notification


# Service ---------------------------------------------------------------------------------


def test_notify_renders_each_recipient_in_their_own_language(people):
    notify(
        recipients=[people["english"], people["chinese"]],
        event="tests.language",
        context={"answer": _("Yes")},
        channels=("inbox",),
    )

    rows = {n.recipient_id: n for n in Notification.objects.all()}
    assert (rows[people["english"].pk].title, rows[people["english"].pk].body) == (
        "Password",
        "Yes",
    )
    assert (rows[people["chinese"].pk].title, rows[people["chinese"].pk].body) == ("密码", "是")


def test_notify_writes_inbox_rows_and_sends_email_after_commit(
    people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = notify(
            recipients=[people["english"], people["no_email"]],
            event="core.test_message",
            context={"name": "Ann", "text": "ping"},
            link="/inbox/",
        )
        assert mail.outbox == []  # nothing leaves before the commit

    for callback in callbacks:
        callback()

    assert [n.recipient for n in created] == [people["english"], people["no_email"]]
    assert created[0].title == "Test message from PRM"
    assert created[0].body == "Hello Ann, this is a test message from PRM: ping"
    assert created[0].link == "/inbox/"
    assert created[0].read_at is None
    assert len(mail.outbox) == 1  # the user without an address is skipped
    assert mail.outbox[0].to == ["en@example.com"]
    assert mail.outbox[0].subject == "Test message from PRM"
    assert mail.outbox[0].body == "Hello Ann, this is a test message from PRM: ping"


def test_notify_by_sms_records_the_gateway_reference(
    people, settings, django_capture_on_commit_callbacks
):
    settings.PRM_SMS_SIGNATURE = "【PRM】"

    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=[people["english"]],
            event="core.test_message",
            context={"name": "Ann", "text": "ping"},
            channels=("sms",),
        )

    sms = SmsMessage.objects.get()
    assert sms.number == "13800138000"
    assert sms.event == "core.test_message"
    assert sms.status == SmsMessage.Status.SENT
    assert sms.gateway == "fake"
    assert sms.gateway_reference == "fake-1"
    assert sms.sent_at is not None
    assert sms_outbox() == [
        {
            "id": "fake-1",
            "mobile": "13800138000",
            "text": "【PRM】Hello Ann, this is a test message from PRM: ping",
            "reference": f"sms-{sms.pk}",
        }
    ]
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_sms_is_queued_until_the_transaction_commits(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        notify(
            recipients=[people["english"]],
            event="core.test_message",
            context={"name": "Ann", "text": "ping"},
            channels=("sms",),
        )

    assert SmsMessage.objects.get().status == SmsMessage.Status.QUEUED
    assert sms_outbox() == []


def test_failed_sms_is_recorded_as_failed_never_as_sent(people, django_capture_on_commit_callbacks):
    sms_fake_reset(failure="gateway down")

    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=[people["english"]],
            event="core.test_message",
            context={"name": "Ann", "text": "ping"},
            channels=("sms",),
        )

    sms = SmsMessage.objects.get()
    assert sms.status == SmsMessage.Status.FAILED
    assert sms.error == "gateway down"
    assert sms.gateway_reference == ""
    assert sms.sent_at is None


def test_notify_number_sends_the_password_but_stores_it_redacted(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sms = notify_number(
            number="13900139000",
            event="core.initial_password",
            context={"username": "li.lei", "password": "S3cret-Pass!"},
            language="en",
        )

    sms.refresh_from_db()
    assert sms.status == SmsMessage.Status.SENT
    assert "S3cret-Pass!" not in sms.text
    assert "******" in sms.text
    assert len(sms_outbox()) == 1
    assert "Initial password: S3cret-Pass!." in sms_outbox()[0]["text"]
    assert sms_outbox()[0]["mobile"] == "13900139000"


@pytest.mark.parametrize(("_case", "number"), [("empty", ""), ("letters", "1380013800a")])
def test_notify_number_refuses_a_bad_number_and_writes_nothing(db, _case, number):
    with pytest.raises(ApplicationError) as refused:
        notify_number(number=number, event="core.test_message", context={"name": "", "text": ""})

    assert refused.value.code == "sms_number_invalid"
    assert SmsMessage.objects.count() == 0


def test_notify_refuses_an_unregistered_event(people):
    with pytest.raises(LookupError):
        notify(recipients=[people["english"]], event="nope.nothing", context={})

    assert Notification.objects.count() == 0


def test_registering_an_event_code_twice_with_other_texts_is_refused():
    with pytest.raises(ValueError):
        notification_event_register("core.test_message", subject=_("Other"), body=_("Other"))


def test_unread_count_counts_only_own_unread(people):
    _notification(people["english"])
    _notification(people["english"], read=True)
    _notification(people["chinese"])

    assert notification_unread_count(user=people["english"]) == 1


def test_placeholders_render_as_plain_text_without_escaping(people):
    notify(
        recipients=[people["english"]],
        event="tests.plain_text",
        context={"document": "AR-2026-000001", "submitter": "Ann & Bob"},
        channels=("inbox",),
    )

    notification = Notification.objects.get()
    assert notification.title == "Approval needed: AR-2026-000001"
    assert notification.body == "Ann & Bob submitted AR-2026-000001 <at once>."


def test_redacted_values_are_sent_but_not_stored(people, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            recipients=[people["english"]],
            event="tests.secret",
            context={"token": "T-1", "password": "S3cret!"},
            channels=("inbox", "email", "sms"),
            redact=("token",),
        )

    assert Notification.objects.get().body == "Token ******, password ******."
    assert SmsMessage.objects.get().text == "Token ******, password ******."
    assert mail.outbox[0].body == "Token T-1, password S3cret!."
    assert sms_outbox()[0]["text"].endswith("Token T-1, password S3cret!.")


# Inbox page ------------------------------------------------------------------------------


def test_inbox_page_anonymous_is_sent_to_login(client, db):
    response = client.get("/inbox/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_inbox_lists_own_messages_newest_first_with_unread_marked(client, people):
    user = people["english"]
    _notification(user, title="Older", read=True, age_minutes=10)
    _notification(user, title="Newer")
    _notification(people["chinese"], title="Someone else's")
    client.force_login(user)

    response = client.get("/inbox/")

    assert response.status_code == 200
    rows = list(response.context["page"].object_list)
    assert [n.title for n in rows] == ["Newer", "Older"]
    html = response.content.decode()
    assert html.count('data-testid="notification-row"') == 2
    assert html.count('data-unread="1"') == 1
    assert "Someone else&#x27;s" not in html and "Someone else's" not in html
    assert 'data-testid="unread-count">1<' in html


def test_inbox_paginates_and_filters_unread(client, people):
    user = people["english"]
    for index in range(21):
        _notification(user, title=f"N{index}", read=index < 5)
    client.force_login(user)

    first = client.get("/inbox/")
    second = client.get("/inbox/?page=2")
    unread = client.get("/inbox/?unread=1")

    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 1
    assert unread.context["page"].paginator.count == 16


def test_inbox_htmx_request_gets_the_list_partial(client, people):
    _notification(people["english"])
    client.force_login(people["english"])

    response = client.get("/inbox/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert 'id="inbox-list"' in html
    assert "<html" not in html


def test_mark_read_marks_own_notification(client, people):
    notification = _notification(people["english"])
    client.force_login(people["english"])

    response = client.post(f"/inbox/{notification.pk}/read/")

    assert response.status_code == 302
    assert response["Location"] == "/inbox/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_read_follows_a_local_next_but_not_an_outside_one(client, people):
    first = _notification(people["english"])
    second = _notification(people["english"])
    client.force_login(people["english"])

    local = client.post(f"/inbox/{first.pk}/read/", {"next": "/approvals/"})
    outside = client.post(f"/inbox/{second.pk}/read/", {"next": "https://evil.example/"})

    assert local["Location"] == "/approvals/"
    assert outside["Location"] == "/inbox/"


def test_mark_read_of_someone_elses_notification_is_404_and_changes_nothing(client, people):
    theirs = _notification(people["chinese"])
    client.force_login(people["english"])

    response = client.post(f"/inbox/{theirs.pk}/read/")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_anonymous_is_sent_to_login_and_changes_nothing(client, people):
    notification = _notification(people["english"])

    response = client.post(f"/inbox/{notification.pk}/read/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_read_refuses_get(client, people):
    notification = _notification(people["english"])
    client.force_login(people["english"])

    response = client.get(f"/inbox/{notification.pk}/read/")

    assert response.status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_read_all_marks_only_own_notifications(client, people):
    mine = [_notification(people["english"]) for _ in range(3)]
    theirs = _notification(people["chinese"])
    client.force_login(people["english"])

    response = client.post("/inbox/read-all/")

    assert response.status_code == 302
    assert Notification.objects.filter(pk__in=[n.pk for n in mine], read_at=None).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_read_all_anonymous_changes_nothing(client, people):
    notification = _notification(people["english"])

    response = client.post("/inbox/read-all/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    notification.refresh_from_db()
    assert notification.read_at is None


# API -------------------------------------------------------------------------------------


def test_api_list_anonymous_is_401(client, db):
    response = client.get("/api/v1/core/notifications")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_api_list_returns_own_notifications_paginated(client, people):
    user = people["english"]
    older = _notification(user, title="Older", read=True, age_minutes=10)
    newer = _notification(user, title="Newer")
    _notification(people["chinese"], title="Not mine")
    client.force_login(user)

    everything = client.get("/api/v1/core/notifications")
    unread = client.get("/api/v1/core/notifications?unread=true")
    page = client.get("/api/v1/core/notifications?offset=1&limit=1")

    assert everything.status_code == 200
    assert everything["X-Total-Count"] == "2"
    assert [n["id"] for n in everything.json()] == [newer.pk, older.pk]
    assert everything.json()[0]["is_read"] is False
    assert everything.json()[1]["is_read"] is True
    assert unread["X-Total-Count"] == "1"
    assert [n["title"] for n in unread.json()] == ["Newer"]
    assert page["X-Total-Count"] == "2"
    assert [n["id"] for n in page.json()] == [older.pk]


def test_api_mark_read_marks_own(client, people):
    notification = _notification(people["english"])
    client.force_login(people["english"])

    response = client.post(f"/api/v1/core/notifications/{notification.pk}/read")

    assert response.status_code == 200
    assert response.json()["is_read"] is True
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_api_mark_read_of_someone_elses_is_404_and_changes_nothing(client, people):
    theirs = _notification(people["chinese"])
    client.force_login(people["english"])

    response = client.post(f"/api/v1/core/notifications/{theirs.pk}/read")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_api_mark_read_anonymous_is_401_and_changes_nothing(client, people):
    notification = _notification(people["english"])

    response = client.post(f"/api/v1/core/notifications/{notification.pk}/read")

    assert response.status_code == 401
    notification.refresh_from_db()
    assert notification.read_at is None
