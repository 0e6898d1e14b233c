"""The call-centre assist (R4): the ranking rule (table test at its boundary), what an
agent sees for a number (subscribed, recommendable, refused and why; arrears; unknown
numbers), the recommendation SMS and recording through the agent's own promoter record.

Billing months August to October 2026 are imported; "now" is 10 November 2026, so the
entry rule's three months before this month are exactly the imported ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone

from prm.accounts.models import User
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, SmsMessage
from prm.core.sms import sms_outbox
from prm.incentives.constants import EVENT_RECOMMENDATION_SMS
from prm.incentives.models import Product, Promoter, Recommendation
from prm.incentives.selectors_assist import VOICE_HEAVY_CALLS, assist_lookup, assist_rank
from prm.incentives.services.assist import assist_recommend, assist_sms_send
from prm.incentives.tests import factories
from prm.incentives.tests.test_billing_import import good_rows, import_month

pytestmark = pytest.mark.django_db

AUG, SEP, OCT = date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)
NOW = datetime(2026, 11, 10, 10, 0, tzinfo=timezone.get_default_timezone())
HEAVY = "13800140001"  # 100 calls a month; has CRBT; had D1G in August
LIGHT = "13800140002"  # 10 calls a month
ARREARS = "13800140003"
CLOSED = "13800140004"
UNKNOWN = "13800149999"  # a China Mobile number the billing data does not hold


# The ranking rule ---------------------------------------------------------------------------


def _candidate(code, kind, rebate):
    return SimpleNamespace(
        code=code, name=code, kind=kind, monthly_fee=Decimal("10"), current_rebate=rebate
    )


CANDIDATES = [
    _candidate("D1G", Product.Kind.DATA_PACKAGE, Decimal("2.00")),
    _candidate("D5G", Product.Kind.DATA_PACKAGE, Decimal("6.00")),
    _candidate("DXX", Product.Kind.DATA_PACKAGE, Decimal("6.00")),
    _candidate("BB100", Product.Kind.BROADBAND, Decimal("20.00")),
    _candidate("CRBT", Product.Kind.SP_BUSINESS, Decimal("4.00")),
    _candidate("VOICE", Product.Kind.OWN_BUSINESS, Decimal("3.00")),
    _candidate("NOREB", Product.Kind.OWN_BUSINESS, None),
]
VOICE_ORDER = ["VOICE", "NOREB", "CRBT", "BB100", "D5G", "DXX", "D1G"]
LOW_ORDER = ["D5G", "DXX", "D1G", "BB100", "CRBT", "VOICE", "NOREB"]
# Without usage: by rebate, then code (a product without a rebate version last).
UNKNOWN_ORDER = ["BB100", "D5G", "DXX", "CRBT", "VOICE", "D1G", "NOREB"]


@pytest.mark.parametrize(
    ("_case", "average", "order", "scores"),
    [
        ("no usage known", None, UNKNOWN_ORDER, [0] * 7),
        ("no calls", Decimal("0.00"), LOW_ORDER, [3, 3, 3, 2, 1, 0, 0]),
        ("just below the limit", Decimal("59.99"), LOW_ORDER, [3, 3, 3, 2, 1, 0, 0]),
        ("at the limit", Decimal("60.00"), VOICE_ORDER, [3, 3, 2, 1, 0, 0, 0]),
        ("just above the limit", Decimal("60.01"), VOICE_ORDER, [3, 3, 2, 1, 0, 0, 0]),
    ],
)
def test_ranking_rule(settings, _case, average, order, scores):
    settings.LANGUAGE_CODE = "en"
    assert Decimal("60") == VOICE_HEAVY_CALLS

    ranked = assist_rank(products=CANDIDATES, avg_voice_calls=average)

    assert [item["product_code"] for item in ranked] == order
    assert [item["score"] for item in ranked] == scores


def test_ranking_explains_itself(settings):
    settings.LANGUAGE_CODE = "en"

    heavy = assist_rank(products=CANDIDATES[:1], avg_voice_calls=Decimal("75.50"))[0]
    light = assist_rank(products=CANDIDATES[:1], avg_voice_calls=Decimal("12.00"))[0]
    unknown = assist_rank(products=CANDIDATES[:1], avg_voice_calls=None)[0]

    assert heavy["why"] == (
        "Voice-heavy (75.50 calls a month on average, at least 60): "
        "Data / traffic package ranks 4 of 4."
    )
    assert light["why"] == (
        "Low voice use (12.00 calls a month on average, below 60): "
        "Data / traffic package ranks 1 of 4."
    )
    assert unknown["why"] == "No usage known for this number: ranked by rebate."
    assert heavy["rebate"] == Decimal("2.00")
    assert heavy["monthly_fee"] == Decimal("10.00")


# The assist for a number -----------------------------------------------------------------------


@dataclass
class World:
    agent: User
    promoter: Promoter
    other_agent: User


def _month_rows(month: date, *, billing: list[tuple]) -> dict:
    m = month.strftime("%Y-%m")
    rows = good_rows(month)
    rows["subscribers"] = [
        (HEAVY, "2023-05-01", "active", "false"),
        (LIGHT, "2024-02-01", "active", "false"),
        (ARREARS, "2022-01-01", "active", "true"),
        (CLOSED, "2021-01-01", "closed", "false"),
    ]
    rows["usage_daily"] = [(HEAVY, f"{m}-10", "100"), (LIGHT, f"{m}-11", "10")]
    rows["billing"] = [(number, code, f"{m}-01", amount) for number, code, amount in billing]
    rows["product_changes"] = []
    rows["complaints"] = []
    return rows


@pytest.fixture
def world(orgs, make_user, django_capture_on_commit_callbacks) -> World:
    factories.product("CRBT", monthly_fee="5.00", rebate="4.00", kind=Product.Kind.SP_BUSINESS)
    factories.product("D1G", monthly_fee="10.00", rebate="2.00", kind=Product.Kind.DATA_PACKAGE)
    factories.product("D5G", monthly_fee="30.00", rebate="6.00", kind=Product.Kind.DATA_PACKAGE)
    factories.product("BB100", monthly_fee="50.00", rebate="20.00", kind=Product.Kind.BROADBAND)
    factories.product("VOICE", monthly_fee="10.00", rebate="3.00", kind=Product.Kind.OWN_BUSINESS)
    factories.product("OLD", monthly_fee="1.00", rebate="1.00", is_active=False)
    manager = make_user(org=orgs.city_a, roles=("channel_manager",))
    capture = django_capture_on_commit_callbacks
    import_month(
        manager, AUG, tables=_month_rows(AUG, billing=[(HEAVY, "D1G", "5.00")]), capture=capture
    )
    import_month(manager, SEP, tables=_month_rows(SEP, billing=[]), capture=capture)
    import_month(
        manager,
        OCT,
        tables=_month_rows(OCT, billing=[(HEAVY, "CRBT", "5.00"), (LIGHT, "BB100", "0.00")]),
        capture=capture,
    )
    agent = make_user(org=orgs.city_a, roles=("cs_agent",))
    User.objects.filter(pk=agent.pk).update(language="en")
    agent.refresh_from_db()
    promoter = factories.promoter(
        org=orgs.city_a, kind=Promoter.Kind.CALL_CENTRE_AGENT, with_user=False, work_id="CC0001"
    )
    promoter.user = agent
    promoter.save(update_fields=["user"])
    other_agent = make_user(org=orgs.city_b, roles=("cs_agent",))
    return World(agent=agent, promoter=promoter, other_agent=other_agent)


def _lookup(world, number):
    with time_machine.travel(NOW, tick=False):
        return assist_lookup(user=world.agent, msisdn=number)


def test_voice_heavy_subscriber(world, settings):
    settings.LANGUAGE_CODE = "en"

    result = _lookup(world, HEAVY)

    assert result["known"] is True
    assert (result["status"], result["in_arrears"]) == ("active", False)
    assert result["avg_voice_calls"] == Decimal("100.00")
    assert result["subscribed_products"] == [{"product_code": "CRBT", "name": "Product CRBT"}]
    assert [item["product_code"] for item in result["recommendable"]] == ["VOICE", "BB100", "D5G"]
    assert [item["score"] for item in result["recommendable"]] == [3, 1, 0]
    assert result["recommendable"][0]["rebate"] == Decimal("3.00")
    # D1G was billed in August, one of the three months before November.
    assert [item["product_code"] for item in result["refused"]] == ["D1G"]
    assert "already had Product D1G" in result["refused"][0]["reason"]
    assert result["notice"] is None


def test_low_voice_subscriber(world):
    result = _lookup(world, LIGHT)

    assert result["avg_voice_calls"] == Decimal("10.00")
    # BB100 billed 0.00 is not a subscribed product.
    assert result["subscribed_products"] == []
    assert [item["product_code"] for item in result["recommendable"]] == [
        "D5G",
        "D1G",
        "BB100",
        "CRBT",
        "VOICE",
    ]
    assert result["refused"] == []


@pytest.mark.parametrize(
    ("_case", "number", "reason"),
    [
        ("in arrears", ARREARS, "The subscriber is in arrears"),
        ("closed", CLOSED, "The number is closed"),
    ],
)
def test_no_recommendation_for_a_blocked_number(world, settings, _case, number, reason):
    settings.LANGUAGE_CODE = "en"

    result = _lookup(world, number)

    assert result["recommendable"] == []
    assert result["notice"].startswith(reason)
    assert [item["product_code"] for item in result["refused"]] == [
        "BB100",
        "CRBT",
        "D1G",
        "D5G",
        "VOICE",
    ]
    assert all(item["reason"] == result["notice"] for item in result["refused"])


def test_a_number_not_in_the_store_is_ranked_by_rebate(world):
    result = _lookup(world, UNKNOWN)

    assert result["known"] is False
    assert (result["status"], result["in_arrears"], result["avg_voice_calls"]) == (None, None, None)
    assert [item["product_code"] for item in result["recommendable"]] == [
        "BB100",
        "D5G",
        "CRBT",
        "VOICE",
        "D1G",
    ]


def test_an_earlier_recommendation_refuses_the_product(world, settings):
    settings.LANGUAGE_CODE = "en"
    factories.recommendation(
        promoter=world.promoter,
        product=Product.objects.get(code="D5G"),
        msisdn=LIGHT,
        recommended_at=datetime(2026, 9, 3, 10, 0, tzinfo=timezone.get_default_timezone()),
    )

    result = _lookup(world, LIGHT)

    assert "D5G" not in [item["product_code"] for item in result["recommendable"]]
    assert [item["product_code"] for item in result["refused"]] == ["D5G"]
    assert "already recommended" in result["refused"][0]["reason"]


@pytest.mark.parametrize(
    ("_case", "number", "code"),
    [
        ("too short", "1380013", "msisdn_invalid"),
        ("letters", "1380013abcd", "msisdn_invalid"),
        ("another operator", "13000130000", "msisdn_other_operator"),
    ],
)
def test_a_bad_number_is_refused(world, _case, number, code):
    with pytest.raises(ApplicationError) as error:
        _lookup(world, number)

    assert error.value.code == code
    assert error.value.status == 400


# The recommendation SMS ------------------------------------------------------------


def test_send_a_recommendation_sms(world, django_capture_on_commit_callbacks):
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        message = assist_sms_send(actor=world.agent, msisdn=LIGHT, product_code="D5G")

    message.refresh_from_db()
    assert message.number == LIGHT
    assert message.event == EVENT_RECOMMENDATION_SMS
    assert message.status == SmsMessage.Status.SENT
    assert [item["mobile"] for item in sms_outbox()] == [LIGHT]
    assert "Product D5G" in sms_outbox()[0]["text"]
    assert "30.00" in sms_outbox()[0]["text"]
    event = AuditEvent.objects.get(action="assist.recommendation_sms_sent")
    assert event.actor == world.agent
    assert event.changes == {"msisdn": LIGHT, "product": "D5G"}


@pytest.mark.parametrize(
    ("_case", "number", "product", "code"),
    [
        ("in arrears", ARREARS, "D5G", "product_not_recommendable"),
        ("already has it", HEAVY, "CRBT", "product_not_recommendable"),
        ("had it in the 3 months before", HEAVY, "D1G", "product_not_recommendable"),
        ("inactive product", LIGHT, "OLD", "product_not_recommendable"),
        ("unknown product", LIGHT, "NOPE", "product_unknown"),
        ("bad number", "123", "D5G", "msisdn_invalid"),
    ],
)
def test_a_refused_sms_sends_nothing(
    world, django_capture_on_commit_callbacks, _case, number, product, code
):
    with (
        time_machine.travel(NOW, tick=False),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ApplicationError) as error,
    ):
        assist_sms_send(actor=world.agent, msisdn=number, product_code=product)

    assert error.value.code == code
    assert SmsMessage.objects.count() == 0
    assert sms_outbox() == []


# Recording ----------------------------------------------------------------------


def test_record_a_recommendation_as_the_agent(world, settings, django_capture_on_commit_callbacks):
    settings.LANGUAGE_CODE = "en"
    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        recommendation = assist_recommend(actor=world.agent, msisdn=LIGHT, product_code="D5G")

    assert recommendation.promoter == world.promoter
    assert recommendation.source == Recommendation.Source.ASSIST
    assert recommendation.seat_work_id == "CC0001"
    assert recommendation.msisdn == LIGHT
    assert recommendation.product.code == "D5G"
    assert recommendation.status == Recommendation.Status.AWAITING_CONFIRMATION
    # The recording service asks the subscriber to confirm.
    assert [item["mobile"] for item in sms_outbox()] == [LIGHT]


@pytest.mark.parametrize(
    ("_case", "number", "product", "code"),
    [
        ("in arrears", ARREARS, "D5G", "product_not_recommendable"),
        ("already has it", HEAVY, "CRBT", "product_not_recommendable"),
        ("had it in the 3 months before", HEAVY, "D1G", "already_had_product"),
        ("unknown product", LIGHT, "NOPE", "product_unknown"),
        ("another operator", "13000130000", "D5G", "msisdn_other_operator"),
    ],
)
def test_a_refused_recording_writes_nothing(
    world, django_capture_on_commit_callbacks, _case, number, product, code
):
    with (
        time_machine.travel(NOW, tick=False),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ApplicationError) as error,
    ):
        assist_recommend(actor=world.agent, msisdn=number, product_code=product)

    assert error.value.code == code
    assert Recommendation.objects.count() == 0
    assert sms_outbox() == []


@pytest.mark.parametrize(
    ("_case", "setup"),
    [
        ("no promoter record", "none"),
        ("a hall clerk record", "hall_clerk"),
        ("a disabled agent record", "disabled"),
    ],
)
def test_recording_needs_the_agents_own_active_agent_record(
    world, orgs, make_user, django_capture_on_commit_callbacks, _case, setup
):
    agent = make_user(org=orgs.city_a, roles=("cs_agent",))
    if setup != "none":
        record = factories.promoter(
            org=orgs.city_a,
            kind=Promoter.Kind.HALL_CLERK
            if setup == "hall_clerk"
            else Promoter.Kind.CALL_CENTRE_AGENT,
            with_user=False,
            status=Promoter.Status.DISABLED if setup == "disabled" else Promoter.Status.ACTIVE,
        )
        record.user = agent
        record.save(update_fields=["user"])

    with (
        time_machine.travel(NOW, tick=False),
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ApplicationError) as error,
    ):
        assist_recommend(actor=agent, msisdn=LIGHT, product_code="D5G")

    assert error.value.code == "assist_no_agent_record"
    assert error.value.status == 403
    assert Recommendation.objects.count() == 0
    assert sms_outbox() == []


def test_another_citys_agent_records_under_their_own_record(
    world, orgs, django_capture_on_commit_callbacks
):
    other = factories.promoter(
        org=orgs.city_b, kind=Promoter.Kind.CALL_CENTRE_AGENT, with_user=False, work_id="CC0002"
    )
    other.user = world.other_agent
    other.save(update_fields=["user"])

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        recommendation = assist_recommend(
            actor=world.other_agent, msisdn=LIGHT, product_code="VOICE"
        )

    assert recommendation.promoter == other
    assert recommendation.org == orgs.city_b
    assert recommendation.seat_work_id == "CC0002"
