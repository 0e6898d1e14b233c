"""Recording a recommendation (R4): who may record, the number and product checks, the
3-month entry rule at its boundaries, the confirmation SMS, and that every refusal
changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import time_machine
from django.utils import timezone

from prm.accounts.models import User
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, SmsMessage
from prm.core.sms import sms_outbox
from prm.incentives import storage
from prm.incentives.adapters.billing import billing_fake_reset
from prm.incentives.constants import EVENT_CONFIRMATION_SMS
from prm.incentives.models import BillingMonth, Channel, Product, Promoter, Recommendation
from prm.incentives.selectors_recommendations import (
    entry_months_before,
    month_shift,
    recommendation_refusal,
)
from prm.incentives.services.recommendations import recommendation_record
from prm.incentives.tests import factories

pytestmark = pytest.mark.django_db

SUBSCRIBER = "13900139000"
# Development in May 2026: the entry rule looks at February, March and April.
MAY_10 = datetime(2026, 5, 10, 12, 0)


def at(moment: datetime) -> datetime:
    """An aware moment in the business time zone (Asia/Shanghai)."""
    return timezone.make_aware(moment, timezone.get_default_timezone())


@dataclass
class World:
    orgs: object
    channel_a: Channel
    promoter_a: Promoter
    promoter_a2: Promoter
    promoter_b: Promoter
    crbt: Product
    weekly: Product
    retired: Product
    staff_a: User
    staff_b: User
    staff_province: User
    auditor_a: User
    cs_agent_a: User
    cs_agent_b: User
    nobody_a: User


def build_world(orgs, make_user) -> World:
    channel_a = factories.channel(org=orgs.city_a, name="Tianhe hall")
    channel_b = factories.channel(org=orgs.city_b, name="Nanshan hall")
    return World(
        orgs=orgs,
        channel_a=channel_a,
        promoter_a=factories.promoter(org=orgs.city_a, channel=channel_a, name="Li Lei"),
        promoter_a2=factories.promoter(org=orgs.city_a, channel=channel_a, name="Han Meimei"),
        promoter_b=factories.promoter(org=orgs.city_b, channel=channel_b, name="Wang Fang"),
        crbt=factories.product("CRBT", name="Colour ring-back tone", monthly_fee="5.00"),
        weekly=factories.product(
            "WEEKLY", name="Weekly bill report", monthly_fee="2.00", rebate="2.00"
        ),
        retired=factories.product("OLD", name="Retired package", is_active=False),
        staff_a=make_user(org=orgs.city_a, roles=("channel_manager",)),
        staff_b=make_user(org=orgs.city_b, roles=("channel_manager",)),
        staff_province=make_user(org=orgs.province, roles=("channel_manager",)),
        auditor_a=make_user(org=orgs.city_a, roles=("auditor",)),
        cs_agent_a=make_user(org=orgs.city_a, roles=("cs_agent",)),
        cs_agent_b=make_user(org=orgs.city_b, roles=("cs_agent",)),
        nobody_a=make_user(org=orgs.city_a, roles=()),
    )


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


@pytest.fixture(autouse=True)
def _fake_billing():
    billing_fake_reset()
    yield
    billing_fake_reset()


def billed(rows: list[tuple[str, str, date, str]]) -> None:
    """Put ``(msisdn, product_code, month, billed_amount)`` rows in the billing store as
    the billing import leaves them: ``billing.parquet`` of each month (msisdn BIGINT,
    sorted by number) and the month's ``BillingMonth`` row marked imported."""
    months: dict[date, list[tuple[str, str, date, str]]] = {}
    for row in rows:
        months.setdefault(row[2], []).append(row)
    for month, month_rows in months.items():
        month_rows.sort()
        table = pa.table(
            {
                "msisdn": pa.array([int(row[0]) for row in month_rows], pa.int64()),
                "product_code": pa.array([row[1] for row in month_rows], pa.string()),
                "month": pa.array([row[2] for row in month_rows], pa.date32()),
                "billed_amount": pa.array(
                    [Decimal(row[3]) for row in month_rows], pa.decimal128(14, 2)
                ),
            }
        )
        directory = storage.billing_month_dir(month)
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, directory / "billing.parquet")
        BillingMonth.objects.update_or_create(
            month=month,
            defaults={
                "imported_at": timezone.now(),
                "files": {"billing": {"sha256": "-", "rows": len(month_rows), "name": "b"}},
            },
        )


def record(world: World, *, msisdn: str = SUBSCRIBER, product: str = "CRBT", when=None, **kw):
    promoter = kw.pop("promoter", world.promoter_a)
    return recommendation_record(
        actor=kw.pop("actor", promoter.user),
        promoter=promoter,
        msisdn=msisdn,
        product_code=product,
        source=kw.pop("source", Recommendation.Source.WEB),
        at=when,
        **kw,
    )


def counts() -> tuple[int, int, int]:
    return (Recommendation.objects.count(), SmsMessage.objects.count(), len(sms_outbox()))


def assert_refused(call, code: str, status: int | None = None) -> ApplicationError:
    before = counts()
    with pytest.raises(ApplicationError) as caught:
        call()
    assert caught.value.code == code
    if status is not None:
        assert caught.value.status == status
    assert counts() == before
    return caught.value


# ---- the calendar of the rule ------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "moment", "months"),
    [
        ("mid-month", MAY_10, [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]),
        (
            "first moment of May",
            datetime(2026, 5, 1, 0, 0),
            [date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)],
        ),
        (
            "last moment of April",
            datetime(2026, 4, 30, 23, 59, 59),
            [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
        ),
        (
            "across the year",
            datetime(2026, 2, 15, 9, 0),
            [date(2025, 11, 1), date(2025, 12, 1), date(2026, 1, 1)],
        ),
    ],
)
def test_entry_months_are_the_three_calendar_months_before(_case, moment, months):
    assert entry_months_before(at(moment)) == months


def test_entry_months_use_the_business_time_zone():
    # 2026-04-30 17:00 UTC is 2026-05-01 01:00 in Shanghai: the month of development is May.
    moment = datetime(2026, 4, 30, 17, 0, tzinfo=UTC)

    assert entry_months_before(moment)[0] == date(2026, 2, 1)


def test_month_shift_crosses_years():
    assert month_shift(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert month_shift(date(2025, 12, 1), 1) == date(2026, 1, 1)
    assert month_shift(date(2026, 3, 1), -15) == date(2024, 12, 1)


# ---- the 3-month rule against billing ------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "rows", "refused"),
    [
        ("billed in m-3", [(SUBSCRIBER, "CRBT", date(2026, 2, 1), "5.00")], True),
        ("billed in m-2", [(SUBSCRIBER, "CRBT", date(2026, 3, 1), "5.00")], True),
        ("billed in m-1", [(SUBSCRIBER, "CRBT", date(2026, 4, 1), "5.00")], True),
        ("billed a cent in m-1", [(SUBSCRIBER, "CRBT", date(2026, 4, 1), "0.01")], True),
        ("billed zero in m-1", [(SUBSCRIBER, "CRBT", date(2026, 4, 1), "0.00")], False),
        ("billed only in m-4", [(SUBSCRIBER, "CRBT", date(2026, 1, 1), "5.00")], False),
        ("billed in m itself", [(SUBSCRIBER, "CRBT", date(2026, 5, 1), "5.00")], False),
        ("another product in m-1", [(SUBSCRIBER, "WEEKLY", date(2026, 4, 1), "2.00")], False),
        ("another number in m-1", [("13900139001", "CRBT", date(2026, 4, 1), "5.00")], False),
        ("no billing imported", [], False),
    ],
)
def test_three_month_billing_rule(world, _case, rows, refused):
    billed(rows)

    if refused:
        error = assert_refused(lambda: record(world, when=at(MAY_10)), "already_had_product", 409)
        assert error.details == {"field": "msisdn"}
    else:
        recommendation = record(world, when=at(MAY_10))
        assert recommendation.status == Recommendation.Status.AWAITING_CONFIRMATION


def test_billing_refusal_names_the_months(world, settings):
    settings.LANGUAGE_CODE = "en"
    billed([(SUBSCRIBER, "CRBT", date(2026, 3, 1), "5.00")])

    message = recommendation_refusal(msisdn=SUBSCRIBER, product=world.crbt, at=at(MAY_10))

    assert message == (
        "The number 13900139000 already had Colour ring-back tone in the three months "
        "before this month (2026-02 to 2026-04), so it cannot be recommended again."
    )


# ---- the 3-month rule against earlier recommendations ---------------------------------------


@pytest.mark.parametrize(
    ("_case", "earlier", "refused"),
    [
        ("first moment of m-3", datetime(2026, 2, 1, 0, 0, 0), True),
        ("last moment of m-4", datetime(2026, 1, 31, 23, 59, 59), False),
        ("earlier in m itself", datetime(2026, 5, 1, 8, 0), True),
        ("in m-1", datetime(2026, 4, 30, 23, 59, 59), True),
    ],
)
def test_three_month_recommendation_rule(world, _case, earlier, refused):
    factories.recommendation(
        promoter=world.promoter_a2,
        product=world.crbt,
        msisdn=SUBSCRIBER,
        recommended_at=at(earlier),
    )

    if refused:
        assert_refused(lambda: record(world, when=at(MAY_10)), "already_recommended", 409)
    else:
        assert record(world, when=at(MAY_10)).msisdn == SUBSCRIBER


@pytest.mark.parametrize(
    "status",
    [
        Recommendation.Status.DECLINED,
        Recommendation.Status.AWAITING_CONFIRMATION,
        Recommendation.Status.OPEN_FAILED,
    ],
)
def test_an_earlier_recommendation_counts_whatever_its_status(world, status):
    factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        msisdn=SUBSCRIBER,
        recommended_at=at(datetime(2026, 4, 2, 10, 0)),
        status=status,
    )

    assert_refused(lambda: record(world, when=at(MAY_10)), "already_recommended")


def test_another_citys_recommendation_refuses_without_naming_the_promoter(world, settings):
    settings.LANGUAGE_CODE = "en"
    factories.recommendation(
        promoter=world.promoter_b,
        product=world.crbt,
        msisdn=SUBSCRIBER,
        recommended_at=at(datetime(2026, 3, 3, 10, 0)),
    )

    error = assert_refused(lambda: record(world, when=at(MAY_10)), "already_recommended")

    assert str(error.message) == (
        "The number 13900139000 was already recommended Colour ring-back tone since "
        "2026-02-01 (by you or another promoter), so it cannot be recommended again."
    )
    assert world.promoter_b.name not in str(error.message)
    assert world.promoter_b.work_id not in str(error.message)


def test_the_same_number_may_take_another_product(world):
    factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        msisdn=SUBSCRIBER,
        recommended_at=at(datetime(2026, 5, 2, 10, 0)),
    )

    assert record(world, product="WEEKLY", when=at(MAY_10)).product == world.weekly


def test_refusal_selector_is_none_when_accepted(world):
    assert recommendation_refusal(msisdn=SUBSCRIBER, product=world.crbt, at=at(MAY_10)) is None


def test_refusal_selector_refuses_an_inactive_product(world, settings):
    settings.LANGUAGE_CODE = "en"
    assert recommendation_refusal(msisdn=SUBSCRIBER, product=world.retired, at=at(MAY_10)) == (
        "The product Retired package is not open for recommendation."
    )


# ---- number, product, promoter ------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "msisdn", "code"),
    [
        ("too short", "1390013900", "msisdn_invalid"),
        ("too long", "139001390001", "msisdn_invalid"),
        ("letters", "1390013900a", "msisdn_invalid"),
        ("empty", "", "msisdn_invalid"),
        ("China Unicom", "13000130000", "msisdn_other_operator"),
        ("China Telecom", "13300133000", "msisdn_other_operator"),
    ],
)
def test_bad_numbers_are_refused(world, _case, msisdn, code):
    error = assert_refused(lambda: record(world, msisdn=msisdn), code)
    assert error.details == {"field": "msisdn"}


def test_number_is_normalised(world):
    recommendation = record(world, msisdn="+86 139-0013-9000")

    assert recommendation.msisdn == SUBSCRIBER


def test_unknown_product_is_refused(world):
    error = assert_refused(lambda: record(world, product="NOPE"), "product_unknown")
    assert error.details == {"field": "product_code"}


def test_inactive_product_is_refused(world):
    assert_refused(lambda: record(world, product="OLD"), "product_inactive")


def test_promoter_cannot_record_for_another_promoter(world):
    assert_refused(
        lambda: record(world, promoter=world.promoter_a2, actor=world.promoter_a.user),
        "not_own_promoter",
        403,
    )


@pytest.mark.parametrize("who", ["staff_a", "auditor_a", "nobody_a", "cs_agent_a"])
def test_other_users_cannot_record_as_a_promoter(world, who):
    assert_refused(lambda: record(world, actor=getattr(world, who)), "not_own_promoter", 403)


def test_anonymous_cannot_record(world):
    from django.contrib.auth.models import AnonymousUser

    assert_refused(lambda: record(world, actor=AnonymousUser()), "forbidden", 403)


@pytest.mark.parametrize("status", [Promoter.Status.DISABLED, Promoter.Status.SUBMITTED])
def test_inactive_promoter_cannot_record(world, status):
    Promoter.objects.filter(pk=world.promoter_a.pk).update(status=status)

    assert_refused(lambda: record(world), "promoter_inactive", 403)


def test_inactive_promoter_is_refused_before_the_number_is_judged(world):
    billed([(SUBSCRIBER, "CRBT", date(2026, 4, 1), "5.00")])
    Promoter.objects.filter(pk=world.promoter_a.pk).update(status=Promoter.Status.DISABLED)
    world.promoter_a.refresh_from_db()

    assert_refused(lambda: record(world, when=at(MAY_10)), "promoter_inactive", 403)


def test_promoter_disabled_while_recording_is_refused(world):
    """The promoter row is read again under its lock: a stale object does not pass."""
    stale = Promoter.objects.get(pk=world.promoter_a.pk)
    Promoter.objects.filter(pk=stale.pk).update(status=Promoter.Status.DISABLED)

    assert_refused(lambda: record(world, promoter=stale), "promoter_inactive", 403)


def test_disabled_login_cannot_record(world):
    User.objects.filter(pk=world.promoter_a.user_id).update(is_active=False)
    world.promoter_a.user.refresh_from_db()

    assert_refused(lambda: record(world), "forbidden", 403)


def test_unknown_source_is_refused(world):
    assert_refused(lambda: record(world, source="fax"), "source_invalid")


# ---- the call-centre assist ---------------------------------------------------------------


def test_assist_records_for_a_promoter_of_the_agents_subtree(world):
    recommendation = record(
        world, actor=world.cs_agent_a, source=Recommendation.Source.ASSIST, seat_work_id="S0042"
    )

    assert recommendation.source == Recommendation.Source.ASSIST
    assert recommendation.seat_work_id == "S0042"
    assert recommendation.promoter == world.promoter_a


def test_assist_refuses_a_promoter_of_another_city(world):
    assert_refused(
        lambda: record(world, actor=world.cs_agent_b, source=Recommendation.Source.ASSIST),
        "not_own_promoter",
        403,
    )


def test_assist_needs_the_assist_permission(world):
    assert_refused(
        lambda: record(world, actor=world.promoter_a.user, source=Recommendation.Source.ASSIST),
        "not_own_promoter",
        403,
    )


# ---- what a recording writes ---------------------------------------------------------------


def test_recording_writes_the_record_and_sends_the_sms(
    world, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    with (
        time_machine.travel(at(MAY_10), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        recommendation = record(world, msisdn="139 0013 9000")

    recommendation.refresh_from_db()
    assert recommendation.number == "REC-2026-000001"
    assert recommendation.status == Recommendation.Status.AWAITING_CONFIRMATION
    assert recommendation.recommended_at == at(MAY_10)
    assert recommendation.confirmed_at is None
    assert recommendation.promoter == world.promoter_a
    assert recommendation.channel == world.channel_a
    assert recommendation.org == world.orgs.city_a
    assert recommendation.product == world.crbt
    assert recommendation.source == Recommendation.Source.WEB
    assert len(recommendation.confirmation_code) == 4 and recommendation.confirmation_code.isdigit()
    code = recommendation.confirmation_code
    assert sms_outbox() == [
        {
            "id": "fake-1",
            "mobile": SUBSCRIBER,
            "text": (
                f"【PRM】Li Lei recommended Colour ring-back tone (5.00 yuan/month). "
                f"Reply Y {code} to confirm, N {code} to decline."
            ),
            "reference": f"sms-{SmsMessage.objects.get().pk}",
        }
    ]
    message = SmsMessage.objects.get()
    assert message.event == EVENT_CONFIRMATION_SMS
    assert message.status == SmsMessage.Status.SENT
    assert code not in message.text  # the code is sent, not stored in the SMS log
    event = AuditEvent.objects.get(action="recommendation.recorded")
    assert event.actor == world.promoter_a.user
    assert event.target_id == str(recommendation.pk)
    assert event.changes["msisdn"] == SUBSCRIBER


def test_sms_is_rendered_in_the_default_language(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        recommendation = record(world)

    text = sms_outbox()[0]["text"]
    assert recommendation.confirmation_code in text
    assert "Li Lei" in text
    # The default language is zh-hans; with a catalogue entry the text is Chinese, and the
    # event is rendered through the translation machinery either way.
    from django.utils import translation

    from prm.core.notifications import notification_event_get

    with translation.override("zh-hans"):
        expected = str(notification_event_get(EVENT_CONFIRMATION_SMS).body) % {
            "promoter": "Li Lei",
            "product": "Colour ring-back tone",
            "fee": "5.00",
            "code": recommendation.confirmation_code,
        }
    assert text == f"【PRM】{expected}"


def test_numbers_follow_each_other(world):
    first = record(world, msisdn="13900139001", when=at(MAY_10))
    second = record(world, msisdn="13900139002", when=at(MAY_10))

    assert (first.number, second.number) == ("REC-2026-000001", "REC-2026-000002")


def test_codes_are_random(world):
    codes = {record(world, msisdn=f"1390013{n:04d}").confirmation_code for n in range(12)}

    assert len(codes) > 1


def test_no_sms_leaves_when_the_transaction_rolls_back(world, django_capture_on_commit_callbacks):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        record(world)
        raise RuntimeError("later step failed")

    assert callbacks == []
    assert counts() == (0, 0, 0)
