"""The call-centre assist page and API: who may use them (anonymous, a partner user, staff
without the permission, a promoter, agents of either city), the page's search and its
htmx actions, and the API's answers and errors."""

from __future__ import annotations

import pytest
import time_machine

from prm.accounts.services import api_token_create
from prm.core.models import SmsMessage
from prm.core.sms import sms_outbox
from prm.incentives.models import Promoter, Recommendation
from prm.incentives.tests import factories
from prm.incentives.tests.test_assist import ARREARS, LIGHT, NOW, UNKNOWN, World
from prm.incentives.tests.test_assist import world as assist_world  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(assist_world):  # noqa: F811
    return assist_world


@pytest.fixture
def users(world: World, orgs, make_user) -> dict:
    promoter = factories.promoter(org=orgs.city_a)
    return {
        "agent": world.agent,
        "other_city_agent": world.other_agent,
        "channel_manager": make_user(org=orgs.city_a, roles=("channel_manager",)),
        "promoter": promoter.user,
        "partner_user": make_user(org=orgs.partner, roles=("partner_admin",)),
    }


def _login(client, users, who):
    if who is not None:
        client.force_login(users[who])


def _counts():
    return (SmsMessage.objects.count(), Recommendation.objects.count())


PAGE = f"/incentives/assist/?msisdn={LIGHT}"
SMS = f"/incentives/assist/{LIGHT}/sms/"
RECORD = f"/incentives/assist/{LIGHT}/recommend/"


@pytest.mark.parametrize(
    ("_case", "who", "method", "path", "status"),
    [
        ("page anonymous", None, "get", PAGE, 302),
        ("page partner", "partner_user", "get", PAGE, 403),
        ("page without permission", "channel_manager", "get", PAGE, 403),
        ("page promoter", "promoter", "get", PAGE, 403),
        ("page agent of another city", "other_city_agent", "get", PAGE, 200),
        ("page agent", "agent", "get", PAGE, 200),
        ("sms anonymous", None, "post", SMS, 302),
        ("sms partner", "partner_user", "post", SMS, 403),
        ("sms without permission", "channel_manager", "post", SMS, 403),
        ("sms promoter", "promoter", "post", SMS, 403),
        ("sms get", "agent", "get", SMS, 405),
        ("record anonymous", None, "post", RECORD, 302),
        ("record partner", "partner_user", "post", RECORD, 403),
        ("record without permission", "channel_manager", "post", RECORD, 403),
        ("record promoter", "promoter", "post", RECORD, 403),
    ],
)
def test_page_access(client, users, _case, who, method, path, status):
    _login(client, users, who)
    before = _counts()

    with time_machine.travel(NOW, tick=False):
        response = getattr(client, method)(path, {"product_code": "D5G"})

    assert response.status_code == status
    if status == 302:
        assert response["Location"].startswith("/accounts/login/")
    assert _counts() == before


def test_page_lookup_shows_profile_rule_and_actions(client, users, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False):
        page = client.get(PAGE).content.decode()
        partial = client.get(PAGE, HTTP_HX_REQUEST="true").content.decode()

    assert 'data-testid="assist-rule"' in page
    assert "at least 60 calls a month" in page
    assert 'data-known="true"' in partial
    assert "<html" not in partial
    rows = partial.count('data-testid="assist-recommendable"')
    assert rows == 5
    assert partial.count('data-testid="assist-record"') == 5
    assert partial.count('data-testid="assist-send-sms"') == 5


def test_page_for_an_agent_without_a_record_offers_no_recording(client, users, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(users["other_city_agent"])

    with time_machine.travel(NOW, tick=False):
        page = client.get(PAGE).content.decode()

    assert 'data-testid="assist-no-agent"' in page
    assert 'data-testid="assist-record"' not in page
    assert page.count('data-testid="assist-send-sms"') == 5


@pytest.mark.parametrize(
    ("_case", "query", "status", "text"),
    [
        ("bad number", "?msisdn=12345", 400, 'data-testid="assist-error"'),
        ("arrears", f"?msisdn={ARREARS}", 200, 'data-testid="assist-notice"'),
        ("unknown number", f"?msisdn={UNKNOWN}", 200, 'data-testid="assist-unknown"'),
        ("no number yet", "", 200, 'data-testid="assist-search"'),
    ],
)
def test_page_lookup_states(client, users, settings, _case, query, status, text):
    settings.LANGUAGE_CODE = "en"
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/incentives/assist/{query}")

    assert response.status_code == status
    assert text in response.content.decode()


def test_page_actions_through_htmx(
    client, users, world, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        sent = client.post(SMS, {"product_code": "D5G"}, HTTP_HX_REQUEST="true")
        recorded = client.post(RECORD, {"product_code": "D5G"}, HTTP_HX_REQUEST="true")
        refused = client.post(RECORD, {"product_code": "D5G"}, HTTP_HX_REQUEST="true")

    assert sent.status_code == 200
    assert 'data-ok="true"' in sent.content.decode()
    assert "Recommendation SMS sent." in sent.content.decode()
    recommendation = Recommendation.objects.get()
    assert recommendation.promoter == world.promoter
    assert recommendation.number in recorded.content.decode()
    # The same number and product again: refused by the entry rule, shown in the row.
    assert refused.status_code == 200
    assert 'data-ok="false"' in refused.content.decode()
    assert "already recommended" in refused.content.decode()
    assert Recommendation.objects.count() == 1
    assert [item["mobile"] for item in sms_outbox()] == [LIGHT, LIGHT]


def test_page_action_without_htmx_redirects_with_a_message(client, users, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(users["other_city_agent"])

    with time_machine.travel(NOW, tick=False):
        response = client.post(RECORD, {"product_code": "D5G"}, follow=True)

    assert response.redirect_chain[-1][0] == f"/incentives/assist/?msisdn={LIGHT}"
    assert "not linked to an active call-centre agent record" in response.content.decode()
    assert Recommendation.objects.count() == 0


# API ---------------------------------------------------------------------------------------------

API_GET = f"/api/v1/incentives/assist/{LIGHT}"
API_SMS = f"/api/v1/incentives/assist/{LIGHT}/sms"
API_RECORD = f"/api/v1/incentives/assist/{LIGHT}/recommend"


@pytest.mark.parametrize(
    ("_case", "who", "method", "path", "status"),
    [
        ("get anonymous", None, "get", API_GET, 401),
        ("get partner", "partner_user", "get", API_GET, 403),
        ("get without permission", "channel_manager", "get", API_GET, 403),
        ("get promoter", "promoter", "get", API_GET, 403),
        ("get agent of another city", "other_city_agent", "get", API_GET, 200),
        ("get agent", "agent", "get", API_GET, 200),
        ("sms anonymous", None, "post", API_SMS, 401),
        ("sms partner", "partner_user", "post", API_SMS, 403),
        ("sms without permission", "channel_manager", "post", API_SMS, 403),
        ("record anonymous", None, "post", API_RECORD, 401),
        ("record partner", "partner_user", "post", API_RECORD, 403),
        ("record promoter", "promoter", "post", API_RECORD, 403),
        ("record agent without a record", "other_city_agent", "post", API_RECORD, 403),
    ],
)
def test_api_access(client, users, _case, who, method, path, status):
    _login(client, users, who)
    before = _counts()

    with time_machine.travel(NOW, tick=False):
        if method == "get":
            response = client.get(path)
        else:
            response = client.post(path, {"product_code": "D5G"}, content_type="application/json")

    assert response.status_code == status
    assert _counts() == before


def test_api_lookup(client, users, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False):
        body = client.get(API_GET).json()

    assert body["msisdn"] == LIGHT
    assert body["known"] is True
    assert body["status"] == "active"
    assert body["in_arrears"] is False
    assert body["subscribed_products"] == []
    assert [item["product_code"] for item in body["recommendable"]] == [
        "D5G",
        "D1G",
        "BB100",
        "CRBT",
        "VOICE",
    ]
    assert body["recommendable"][0] == {
        "product_code": "D5G",
        "name": "Product D5G",
        "kind": "data_package",
        "monthly_fee": "30.00",
        "rebate": "6.00",
        "score": 3,
        "why": "Low voice use (10.00 calls a month on average, below 60): "
        "Data / traffic package ranks 1 of 4.",
    }
    assert body["refused"] == []


@pytest.mark.parametrize(
    ("_case", "number", "code"),
    [
        ("malformed", "12345", "msisdn_invalid"),
        ("letters", "138abc", "msisdn_invalid"),
        ("another operator", "13000130000", "msisdn_other_operator"),
    ],
)
def test_api_bad_number(client, users, _case, number, code):
    client.force_login(users["agent"])

    response = client.get(f"/api/v1/incentives/assist/{number}")

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_api_unknown_number(client, users):
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False):
        body = client.get(f"/api/v1/incentives/assist/{UNKNOWN}").json()

    assert body["known"] is False
    assert body["status"] is None
    assert [item["product_code"] for item in body["recommendable"]][:2] == ["BB100", "D5G"]


def test_api_sms_and_record(client, users, world, django_capture_on_commit_callbacks):
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        sms = client.post(API_SMS, {"product_code": "VOICE"}, content_type="application/json")
        recorded = client.post(
            API_RECORD, {"product_code": "VOICE"}, content_type="application/json"
        )

    assert sms.status_code == 202
    assert sms.json() == {"msisdn": LIGHT, "product_code": "VOICE", "status": "queued"}
    assert recorded.status_code == 201
    body = recorded.json()
    assert (body["msisdn"], body["product_code"], body["source"], body["seat_work_id"]) == (
        LIGHT,
        "VOICE",
        "assist",
        "CC0001",
    )
    assert Recommendation.objects.get().promoter == world.promoter


def test_api_refusals_have_stable_codes(client, users):
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False):
        arrears = client.post(
            f"/api/v1/incentives/assist/{ARREARS}/sms",
            {"product_code": "D5G"},
            content_type="application/json",
        )
        unknown = client.post(API_RECORD, {"product_code": "NOPE"}, content_type="application/json")

    assert (arrears.status_code, arrears.json()["code"]) == (400, "product_not_recommendable")
    assert (unknown.status_code, unknown.json()["code"]) == (400, "product_unknown")
    assert _counts() == (0, 0)


def test_api_token_needs_the_write_scope(client, users):
    _token, raw = api_token_create(
        actor=users["agent"], user=users["agent"], label="cti", scopes=["incentives.read"]
    )

    with time_machine.travel(NOW, tick=False):
        read = client.get(API_GET, HTTP_AUTHORIZATION=f"Bearer {raw}")
        write = client.post(
            API_SMS,
            {"product_code": "D5G"},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )

    assert read.status_code == 200
    assert write.status_code == 403
    assert write.json()["code"] == "token_scope"
    assert _counts() == (0, 0)


def test_a_promoter_acting_for_another_is_impossible(client, users, world, orgs):
    """The recording promoter is the agent's own record; the API takes no promoter."""
    other = factories.promoter(org=orgs.city_a, kind=Promoter.Kind.CALL_CENTRE_AGENT)
    client.force_login(users["agent"])

    with time_machine.travel(NOW, tick=False):
        response = client.post(
            API_RECORD,
            {"product_code": "VOICE", "promoter": str(other.public_id), "seat_work_id": "X"},
            content_type="application/json",
        )

    assert response.status_code == 201
    assert Recommendation.objects.get().promoter == world.promoter
    assert Recommendation.objects.get().seat_work_id == "CC0001"
