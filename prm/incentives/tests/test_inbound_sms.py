"""The subscriber's SMS reply (R4: the subscriber confirms): the inbound endpoint that the
SMS gateway calls (shared-secret token), the reply parser, the confirmation window at
its boundary, and the hand-over of a confirmed recommendation to billing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import time_machine

from prm.core.models import AuditEvent
from prm.incentives.adapters.billing import (
    billing_fake_orders,
    billing_fake_refuse,
    billing_fake_reset,
)
from prm.incentives.models import Recommendation
from prm.incentives.services.recommendations import (
    SmsInboundResult,
    sms_inbound_handle,
    sms_reply_parse,
)
from prm.incentives.tests import factories
from prm.incentives.tests.test_recommendations import (
    MAY_10,
    SUBSCRIBER,
    World,
    at,
    build_world,
    record,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/incentives/sms/inbound"
TOKEN = "gateway-secret-123"
RECORDED = at(MAY_10)


@pytest.fixture(autouse=True)
def _token(settings):
    settings.PRM_SMS_INBOUND_TOKEN = TOKEN
    settings.PRM_RECOMMENDATION_CONFIRM_HOURS = 48
    billing_fake_reset()
    yield
    billing_fake_reset()


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


@pytest.fixture
def awaiting(world) -> Recommendation:
    with time_machine.travel(RECORDED, tick=False):
        return record(world, when=RECORDED)


def snapshot() -> list[tuple]:
    return list(
        Recommendation.objects.order_by("pk").values_list(
            "pk", "status", "confirmed_at", "billing_order_id", "billing_message"
        )
    )


def reply(text: str, *, sender: str = SUBSCRIBER, received=None, now=None):
    received = received or RECORDED + timedelta(minutes=5)
    with time_machine.travel(now or received + timedelta(seconds=1), tick=False):
        return sms_inbound_handle(sender=sender, text=text, received_at=received)


# ---- the reply parser -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "text", "parsed"),
    [
        ("Y space code", "Y 1234", (True, "1234")),
        ("lower case", "y 1234", (True, "1234")),
        ("no space", "Y1234", (True, "1234")),
        ("YES", "yes 1234", (True, "1234")),
        ("是", "是 1234", (True, "1234")),
        ("确认", "确认1234", (True, "1234")),
        ("full-width", "Ｙ　１２３４", (True, "1234")),
        ("spaces around", "  Y 1234 \n", (True, "1234")),
        ("trailing full stop", "Y 1234。", (True, "1234")),
        ("N", "N 1234", (False, "1234")),
        ("NO", "no 0007", (False, "0007")),
        ("否", "否 1234", (False, "1234")),
        ("code of 3 digits", "Y 123", None),
        ("code of 5 digits", "Y 12345", None),
        ("no code", "Y", None),
        ("no answer", "1234", None),
        ("other words", "Y 1234 please call me", None),
        ("chatter", "hello", None),
        ("empty", "", None),
    ],
)
def test_reply_parser(_case, text, parsed):
    assert sms_reply_parse(text) == parsed


# ---- the service -------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["Y", "y", "是", "确认", "YES"])
def test_yes_confirms_and_hands_over_to_billing(
    awaiting, answer, django_capture_on_commit_callbacks
):
    received = RECORDED + timedelta(hours=3)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = reply(f"{answer} {awaiting.confirmation_code}", received=received)

    assert outcome == SmsInboundResult("confirmed", "", awaiting.number)
    awaiting.refresh_from_db()
    assert awaiting.status == Recommendation.Status.ORDERED
    assert awaiting.confirmed_at == received
    assert awaiting.billing_order_id == "FAKE-1"
    assert awaiting.billing_message == ""
    assert billing_fake_orders() == [
        {
            "order_id": "FAKE-1",
            "msisdn": SUBSCRIBER,
            "product_code": "CRBT",
            "reference": awaiting.number,
        }
    ]
    actions = list(
        AuditEvent.objects.filter(
            target_type="incentives.recommendation", target_id=str(awaiting.pk)
        )
        .order_by("pk")
        .values_list("action", "actor_username")
    )
    assert actions == [
        ("recommendation.recorded", awaiting.promoter.user.username),
        ("recommendation.confirmed", "sms-gateway"),
        ("recommendation.ordered", "billing"),
    ]


@pytest.mark.parametrize("answer", ["N", "n", "否", "NO"])
def test_no_declines_and_orders_nothing(awaiting, answer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = reply(f"{answer} {awaiting.confirmation_code}")

    assert outcome == SmsInboundResult("declined", "", awaiting.number)
    awaiting.refresh_from_db()
    assert awaiting.status == Recommendation.Status.DECLINED
    assert awaiting.confirmed_at is None
    assert billing_fake_orders() == []


def _other_code(code: str) -> str:
    return f"{(int(code) + 1) % 10000:04d}"


@pytest.mark.parametrize(
    ("_case", "make_reply", "reason"),
    [
        ("wrong code", lambda r: reply(f"Y {_other_code(r.confirmation_code)}"), "unknown_code"),
        (
            "another sender",
            lambda r: reply(f"Y {r.confirmation_code}", sender="13900139009"),
            "unknown_code",
        ),
        ("not a reply", lambda r: reply("what is this?"), "not_a_reply"),
        (
            "sender not a number",
            lambda r: reply(f"Y {r.confirmation_code}", sender="PRM"),
            "sender_invalid",
        ),
        (
            "one second after the window",
            lambda r: reply(
                f"Y {r.confirmation_code}", received=RECORDED + timedelta(hours=48, seconds=1)
            ),
            "expired",
        ),
        (
            "before the recommendation",
            lambda r: reply(f"Y {r.confirmation_code}", received=RECORDED - timedelta(seconds=1)),
            "before_recommendation",
        ),
    ],
)
def test_ignored_replies_change_nothing(
    awaiting, _case, make_reply, reason, django_capture_on_commit_callbacks
):
    before = snapshot()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcome = make_reply(awaiting)

    assert outcome.result == "ignored"
    assert outcome.reason == reason
    assert snapshot() == before
    assert callbacks == []
    assert billing_fake_orders() == []


def test_reply_at_the_last_moment_of_the_window_confirms(awaiting):
    deadline = RECORDED + timedelta(hours=48)

    outcome = reply(f"Y {awaiting.confirmation_code}", received=deadline)

    assert outcome.result == "confirmed"
    awaiting.refresh_from_db()
    assert awaiting.confirmed_at == deadline


@pytest.mark.parametrize(
    ("_case", "hours", "result"), [("inside", 3, "confirmed"), ("outside", 2, "ignored")]
)
def test_window_follows_the_setting(awaiting, settings, _case, hours, result):
    settings.PRM_RECOMMENDATION_CONFIRM_HOURS = hours

    outcome = reply(
        f"Y {awaiting.confirmation_code}", received=RECORDED + timedelta(hours=2, minutes=30)
    )

    assert outcome.result == result


def test_a_second_reply_is_already_answered(awaiting):
    reply(f"Y {awaiting.confirmation_code}")
    before = snapshot()

    outcome = reply(f"N {awaiting.confirmation_code}")

    assert outcome == SmsInboundResult("ignored", "already_answered")
    assert snapshot() == before


def test_a_reception_time_in_the_future_is_taken_as_now(awaiting):
    now = RECORDED + timedelta(hours=1)

    reply(f"Y {awaiting.confirmation_code}", received=now + timedelta(days=30), now=now)

    awaiting.refresh_from_db()
    assert awaiting.confirmed_at == now


def test_the_code_picks_the_recommendation(world):
    first = record(world, when=RECORDED)
    second = record(world, product="WEEKLY", when=RECORDED + timedelta(minutes=1))
    Recommendation.objects.filter(pk=first.pk).update(confirmation_code="1111")
    Recommendation.objects.filter(pk=second.pk).update(confirmation_code="2222")

    outcome = reply("Y 1111", received=RECORDED + timedelta(minutes=2))

    assert outcome.number == first.number
    statuses = dict(Recommendation.objects.values_list("number", "status"))
    assert statuses == {
        first.number: Recommendation.Status.CONFIRMED,
        second.number: Recommendation.Status.AWAITING_CONFIRMATION,
    }


def test_the_same_code_twice_answers_the_newest(world):
    older = record(world, when=RECORDED)
    newer = record(world, product="WEEKLY", when=RECORDED + timedelta(minutes=1))
    Recommendation.objects.update(confirmation_code="4321")

    outcome = reply("Y 4321", received=RECORDED + timedelta(minutes=2))

    assert outcome.number == newer.number
    older.refresh_from_db()
    assert older.status == Recommendation.Status.AWAITING_CONFIRMATION


def test_international_sender_form_is_accepted(awaiting):
    outcome = reply(f"Y {awaiting.confirmation_code}", sender=f"+86{SUBSCRIBER}")

    assert outcome.result == "confirmed"


def test_billing_refusal_leaves_open_failed(awaiting, django_capture_on_commit_callbacks):
    billing_fake_refuse(SUBSCRIBER, "number suspended")

    with django_capture_on_commit_callbacks(execute=True):
        reply(f"Y {awaiting.confirmation_code}")

    awaiting.refresh_from_db()
    assert awaiting.status == Recommendation.Status.OPEN_FAILED
    assert awaiting.billing_message == "number suspended"
    assert awaiting.billing_order_id == ""
    assert awaiting.confirmed_at is not None


# ---- the endpoint --------------------------------------------------------------------------------


def post(client, body: dict, *, token: str | None = TOKEN, now=None):
    headers = {"X-PRM-SMS-Token": token} if token is not None else {}
    with time_machine.travel(now or RECORDED + timedelta(minutes=10), tick=False):
        return client.post(
            URL, data=json.dumps(body), content_type="application/json", headers=headers
        )


def test_endpoint_confirms(client, awaiting, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client,
            {
                "from": SUBSCRIBER,
                "text": f"Y {awaiting.confirmation_code}",
                "received_at": "2026-05-10T12:05:00+08:00",
            },
        )

    assert response.status_code == 200
    assert response.json() == {"result": "confirmed", "reason": "", "reference": awaiting.number}
    awaiting.refresh_from_db()
    assert awaiting.status == Recommendation.Status.ORDERED
    assert awaiting.confirmed_at == at(datetime(2026, 5, 10, 12, 5))


def test_endpoint_takes_a_naive_time_as_local_time(client, awaiting):
    post(
        client,
        {
            "from": SUBSCRIBER,
            "text": f"Y {awaiting.confirmation_code}",
            "received_at": "2026-05-10T12:07:00",
        },
    )

    awaiting.refresh_from_db()
    assert awaiting.confirmed_at == at(datetime(2026, 5, 10, 12, 7))


def test_endpoint_without_a_time_uses_now(client, awaiting):
    now = RECORDED + timedelta(minutes=9)

    post(client, {"from": SUBSCRIBER, "text": f"Y {awaiting.confirmation_code}"}, now=now)

    awaiting.refresh_from_db()
    assert awaiting.confirmed_at == now


def test_endpoint_declines(client, awaiting):
    response = post(client, {"from": SUBSCRIBER, "text": f"N {awaiting.confirmation_code}"})

    assert response.json()["result"] == "declined"
    awaiting.refresh_from_db()
    assert awaiting.status == Recommendation.Status.DECLINED


def test_endpoint_ignores_an_unknown_code_with_200(client, awaiting):
    before = snapshot()

    response = post(
        client, {"from": SUBSCRIBER, "text": f"Y {_other_code(awaiting.confirmation_code)}"}
    )

    assert response.status_code == 200
    assert response.json() == {"result": "ignored", "reason": "unknown_code", "reference": ""}
    assert snapshot() == before


def test_endpoint_ignores_an_expired_reply_with_200(client, awaiting):
    before = snapshot()

    response = post(
        client,
        {"from": SUBSCRIBER, "text": f"Y {awaiting.confirmation_code}"},
        now=RECORDED + timedelta(hours=48, seconds=1),
    )

    assert response.status_code == 200
    assert response.json()["reason"] == "expired"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("_case", "configured", "sent"),
    [
        ("no token sent", TOKEN, None),
        ("wrong token", TOKEN, "gateway-secret-124"),
        ("empty token", TOKEN, ""),
        ("token prefix", TOKEN, TOKEN[:-1]),
        ("token unset on our side", "", ""),
        ("token unset, something sent", "", "anything"),
    ],
)
def test_endpoint_refuses_a_bad_token(client, awaiting, settings, _case, configured, sent):
    settings.PRM_SMS_INBOUND_TOKEN = configured
    before = snapshot()

    response = post(
        client, {"from": SUBSCRIBER, "text": f"Y {awaiting.confirmation_code}"}, token=sent
    )

    assert response.status_code == 403
    assert response.json()["code"] == "sms_token_invalid"
    assert snapshot() == before


def test_endpoint_refuses_a_signed_in_user_without_the_token(client, world, awaiting):
    client.force_login(world.staff_a)
    before = snapshot()

    response = post(
        client, {"from": SUBSCRIBER, "text": f"Y {awaiting.confirmation_code}"}, token=None
    )

    assert response.status_code == 403
    assert snapshot() == before


def test_endpoint_checks_the_token_before_the_body(client):
    response = client.post(URL, data="not json", content_type="application/json")

    assert response.status_code == 403


def test_endpoint_refuses_a_malformed_body(client):
    response = post(client, {"text": "Y 1234"})

    assert response.status_code == 422


def test_factories_recommendation_is_not_answerable_once_ordered(world, client):
    ordered = factories.recommendation(
        promoter=world.promoter_a, product=world.crbt, msisdn=SUBSCRIBER, confirmation_code="5555"
    )

    response = post(client, {"from": SUBSCRIBER, "text": "Y 5555"}, now=ordered.recommended_at)

    assert response.json() == {"result": "ignored", "reason": "already_answered", "reference": ""}
