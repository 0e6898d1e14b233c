"""Recommendation API: recording as the signed-in promoter (session or API token),
reading own or scoped records, and who may do what."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from prm.accounts.services import api_token_create
from prm.core.sms import sms_outbox
from prm.incentives.models import Promoter, Recommendation
from prm.incentives.tests import factories
from prm.incentives.tests.test_recommendations import SUBSCRIBER, World, at, billed, build_world

pytestmark = pytest.mark.django_db

URL = "/api/v1/incentives/recommendations"


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


@pytest.fixture
def own(world) -> Recommendation:
    return factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        msisdn=SUBSCRIBER,
        confirmed=False,
        recommended_at=at(datetime(2026, 5, 10, 12, 0)),
    )


def _user(world: World, who: str):
    if who.startswith("promoter"):
        return getattr(world, who).user
    return getattr(world, who)


def create(client, body: dict, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", headers=headers)


def counts():
    return Recommendation.objects.count(), len(sms_outbox())


# ---- access ----------------------------------------------------------------------------------

ACCESS_TABLE = [
    ("create anonymous", None, "post", URL, 401),
    ("create staff", "staff_a", "post", URL, 403),
    ("create cs agent", "cs_agent_a", "post", URL, 403),
    ("create without permission", "nobody_a", "post", URL, 403),
    ("create promoter", "promoter_a", "post", URL, 201),
    ("list anonymous", None, "get", URL, 401),
    ("list cs agent", "cs_agent_a", "get", URL, 403),
    ("list without permission", "nobody_a", "get", URL, 403),
    ("list promoter", "promoter_a", "get", URL, 200),
    ("list staff of another city", "staff_b", "get", URL, 200),
    ("list staff", "staff_a", "get", URL, 200),
    ("detail anonymous", None, "get", "{detail}", 401),
    ("detail its promoter", "promoter_a", "get", "{detail}", 200),
    ("detail another promoter", "promoter_a2", "get", "{detail}", 404),
    ("detail promoter of another city", "promoter_b", "get", "{detail}", 404),
    ("detail staff", "staff_a", "get", "{detail}", 200),
    ("detail auditor", "auditor_a", "get", "{detail}", 200),
    ("detail staff of another city", "staff_b", "get", "{detail}", 404),
    ("detail cs agent", "cs_agent_a", "get", "{detail}", 403),
    ("detail without permission", "nobody_a", "get", "{detail}", 403),
]


@pytest.mark.parametrize(("_case", "who", "method", "path", "status"), ACCESS_TABLE)
def test_api_access(client, world, own, _case, who, method, path, status):
    if who is not None:
        client.force_login(_user(world, who))
    before = Recommendation.objects.count()

    if method == "post":
        response = create(client, {"msisdn": "13900139111", "product_code": "CRBT"})
    else:
        response = client.get(path.format(detail=f"{URL}/{own.number}"))

    assert response.status_code == status, response.content
    if method == "post" and status != 201:
        assert Recommendation.objects.count() == before


# ---- recording -------------------------------------------------------------------------------


def test_promoter_records_through_the_api(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.promoter_a.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = create(client, {"msisdn": "+8613900139000", "product_code": "CRBT"})

    assert response.status_code == 201
    body = response.json()
    recommendation = Recommendation.objects.get()
    assert body["number"] == recommendation.number
    assert body["msisdn"] == SUBSCRIBER
    assert body["product_code"] == "CRBT"
    assert body["status"] == "awaiting_confirmation"
    assert body["source"] == "api"
    assert body["promoter_work_id"] == world.promoter_a.work_id
    assert body["city"] == "GZ"
    assert body["channel_code"] == world.channel_a.code
    assert body["confirmed_at"] is None
    assert "confirmation_code" not in body
    assert recommendation.confirmation_code not in json.dumps(body)
    assert [message["mobile"] for message in sms_outbox()] == [SUBSCRIBER]


def test_a_promoter_field_in_the_body_cannot_record_for_someone_else(client, world):
    client.force_login(world.promoter_a.user)

    response = create(
        client,
        {
            "msisdn": SUBSCRIBER,
            "product_code": "CRBT",
            "promoter": world.promoter_b.pk,
            "promoter_id": world.promoter_b.pk,
        },
    )

    assert response.status_code == 201
    assert Recommendation.objects.get().promoter == world.promoter_a


def test_promoter_records_with_an_api_token(client, world):
    _token, raw = api_token_create(
        actor=None, user=world.promoter_a.user, label="app", scopes=["incentives.write"]
    )

    response = create(
        client, {"msisdn": SUBSCRIBER, "product_code": "CRBT"}, Authorization=f"Bearer {raw}"
    )

    assert response.status_code == 201
    assert Recommendation.objects.get().promoter == world.promoter_a


def test_a_read_only_token_cannot_record(client, world):
    _token, raw = api_token_create(
        actor=None, user=world.promoter_a.user, label="app", scopes=["incentives.read"]
    )

    response = create(
        client, {"msisdn": SUBSCRIBER, "product_code": "CRBT"}, Authorization=f"Bearer {raw}"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "token_scope"
    assert counts() == (0, 0)


def test_a_disabled_promoter_cannot_record(client, world):
    Promoter.objects.filter(pk=world.promoter_a.pk).update(status=Promoter.Status.DISABLED)
    client.force_login(world.promoter_a.user)

    response = create(client, {"msisdn": SUBSCRIBER, "product_code": "CRBT"})

    assert response.status_code == 403
    assert response.json()["code"] == "not_a_promoter"
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    ("_case", "body", "status", "code"),
    [
        ("invalid number", {"msisdn": "12345", "product_code": "CRBT"}, 400, "msisdn_invalid"),
        (
            "other operator",
            {"msisdn": "13000130000", "product_code": "CRBT"},
            400,
            "msisdn_other_operator",
        ),
        ("unknown product", {"msisdn": SUBSCRIBER, "product_code": "X"}, 400, "product_unknown"),
        (
            "inactive product",
            {"msisdn": SUBSCRIBER, "product_code": "OLD"},
            400,
            "product_inactive",
        ),
        (
            "billed last month",
            {"msisdn": SUBSCRIBER, "product_code": "CRBT"},
            409,
            "already_had_product",
        ),
        ("missing product", {"msisdn": SUBSCRIBER}, 422, "validation_error"),
    ],
)
def test_refusals_answer_with_a_code_and_write_nothing(client, world, _case, body, status, code):
    today = timezone.localdate()
    billed(
        [(SUBSCRIBER, "CRBT", (today.replace(day=1) - timedelta(days=1)).replace(day=1), "1.00")]
    )
    client.force_login(world.promoter_a.user)

    response = create(client, body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert counts() == (0, 0)


def test_an_earlier_recommendation_answers_409(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    factories.recommendation(promoter=world.promoter_b, product=world.crbt, msisdn=SUBSCRIBER)
    client.force_login(world.promoter_a.user)

    response = create(client, {"msisdn": SUBSCRIBER, "product_code": "CRBT"})

    assert response.status_code == 409
    assert response.json()["code"] == "already_recommended"
    assert world.promoter_b.name not in response.json()["message"]
    assert counts() == (1, 0)


# ---- reading ---------------------------------------------------------------------------------


def test_promoter_lists_only_own(client, world, own):
    factories.recommendation(promoter=world.promoter_a2, product=world.crbt)
    client.force_login(world.promoter_a.user)

    response = client.get(URL)

    assert [item["number"] for item in response.json()] == [own.number]
    assert response["X-Total-Count"] == "1"


def test_staff_list_is_scoped_and_filtered(client, world):
    a_may = factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        recommended_at=at(datetime(2026, 5, 2, 10, 0)),
    )
    a_april = factories.recommendation(
        promoter=world.promoter_a2,
        product=world.weekly,
        recommended_at=at(datetime(2026, 4, 30, 23, 0)),
        confirmed=False,
    )
    b_may = factories.recommendation(
        promoter=world.promoter_b,
        product=world.crbt,
        recommended_at=at(datetime(2026, 5, 3, 10, 0)),
    )

    def numbers(user, **query):
        client.force_login(user)
        response = client.get(URL, query)
        assert response.status_code == 200, response.content
        return [item["number"] for item in response.json()]

    assert numbers(world.staff_a) == [a_may.number, a_april.number]
    assert numbers(world.staff_b) == [b_may.number]
    assert numbers(world.staff_province) == [b_may.number, a_may.number, a_april.number]
    assert numbers(world.staff_province, city="GZ") == [a_may.number, a_april.number]
    assert numbers(world.staff_province, city="NOPE") == []
    assert numbers(world.staff_province, month="2026-05") == [b_may.number, a_may.number]
    assert numbers(world.staff_province, product="WEEKLY") == [a_april.number]
    assert numbers(world.staff_province, status="awaiting_confirmation") == [a_april.number]
    assert numbers(world.staff_province, channel=world.channel_a.code) == [
        a_may.number,
        a_april.number,
    ]
    assert numbers(world.staff_province, promoter=world.promoter_b.work_id) == [b_may.number]
    assert numbers(world.staff_province, limit=1, offset=1) == [a_may.number]


def test_list_refuses_a_bad_month(client, world):
    client.force_login(world.staff_a)

    assert client.get(URL, {"month": "2026-13"}).status_code == 400
    assert client.get(URL, {"month": "May"}).status_code == 422


def test_staff_read_with_a_token_needs_the_read_scope(client, world, own):
    _token, raw = api_token_create(actor=None, user=world.staff_a, label="bi", scopes=["other"])

    response = client.get(URL, headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 403
    assert response.json()["code"] == "token_scope"


def test_detail_shows_the_confirmation_deadline(client, world, own, settings):
    settings.PRM_RECOMMENDATION_CONFIRM_HOURS = 48
    client.force_login(world.promoter_a.user)

    body = client.get(f"{URL}/{own.number}").json()

    assert body["number"] == own.number
    assert datetime.fromisoformat(body["confirm_by"]) == at(datetime(2026, 5, 12, 12, 0))
