"""Recommendation pages: the promoter's phone form and own list, the staff list and the
detail page — who may open each (anonymous, another city, another promoter, without the
permission, the allowed user), what they show, the filters and a constant query count."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prm.core.navigation import nav_items_for
from prm.core.sms import sms_outbox
from prm.incentives.models import Promoter, Recommendation
from prm.incentives.tests import factories
from prm.incentives.tests.test_recommendations import (
    SUBSCRIBER,
    World,
    at,
    billed,
    build_world,
)

pytestmark = pytest.mark.django_db

NEW = "/incentives/recommendations/new/"
MINE = "/incentives/recommendations/mine/"
LIST = "/incentives/recommendations/"


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


@pytest.fixture
def own(world) -> Recommendation:
    """A recommendation of promoter A (city A)."""
    return factories.recommendation(
        promoter=world.promoter_a, product=world.crbt, msisdn=SUBSCRIBER, confirmed=False
    )


def _user(world: World, who: str):
    if who.startswith("promoter"):
        return getattr(world, who).user
    return getattr(world, who)


PAGE_TABLE = [
    # new recommendation
    ("new anonymous", None, NEW, 302),
    ("new staff", "staff_a", NEW, 403),
    ("new province staff", "staff_province", NEW, 403),
    ("new auditor", "auditor_a", NEW, 403),
    ("new cs agent", "cs_agent_a", NEW, 403),
    ("new without permission", "nobody_a", NEW, 403),
    ("new promoter", "promoter_a", NEW, 200),
    ("new promoter of another city", "promoter_b", NEW, 200),
    # my recommendations
    ("mine anonymous", None, MINE, 302),
    ("mine staff", "staff_a", MINE, 403),
    ("mine without permission", "nobody_a", MINE, 403),
    ("mine promoter", "promoter_a", MINE, 200),
    # staff list
    ("list anonymous", None, LIST, 302),
    ("list promoter: own list", "promoter_a", LIST, 302),
    ("list cs agent", "cs_agent_a", LIST, 403),
    ("list without permission", "nobody_a", LIST, 403),
    ("list staff of another city", "staff_b", LIST, 200),
    ("list auditor", "auditor_a", LIST, 200),
    ("list staff", "staff_a", LIST, 200),
    # detail of promoter A's recommendation
    ("detail anonymous", None, "{detail}", 302),
    ("detail its promoter", "promoter_a", "{detail}", 200),
    ("detail another promoter of the city", "promoter_a2", "{detail}", 404),
    ("detail a promoter of another city", "promoter_b", "{detail}", 404),
    ("detail staff", "staff_a", "{detail}", 200),
    ("detail province staff", "staff_province", "{detail}", 200),
    ("detail auditor", "auditor_a", "{detail}", 200),
    ("detail staff of another city", "staff_b", "{detail}", 404),
    ("detail cs agent", "cs_agent_a", "{detail}", 403),
    ("detail without permission", "nobody_a", "{detail}", 403),
    ("detail unknown number", "staff_a", "/incentives/recommendations/REC-2026-999999/", 404),
]


@pytest.mark.parametrize(("_case", "who", "path", "status"), PAGE_TABLE)
def test_page_access(client, world, own, _case, who, path, status):
    if who is not None:
        client.force_login(_user(world, who))

    response = client.get(path.format(detail=f"/incentives/recommendations/{own.number}/"))

    assert response.status_code == status
    if status == 302:
        target = "/accounts/login/" if who is None else MINE
        assert response["Location"].startswith(target)


def test_promoter_opening_the_staff_list_lands_on_their_own(client, world):
    client.force_login(world.promoter_a.user)

    response = client.get(LIST, {"month": "2026-05", "status": "ordered"})

    assert response.status_code == 302
    assert response["Location"] == f"{MINE}?month=2026-05&status=ordered"


def test_disabled_promoter_may_not_open_the_form(client, world):
    Promoter.objects.filter(pk=world.promoter_a.pk).update(status=Promoter.Status.DISABLED)
    client.force_login(world.promoter_a.user)

    assert client.get(NEW).status_code == 403
    assert client.get(MINE).status_code == 403
    assert client.get(LIST).status_code == 403
    assert client.post(NEW, {"msisdn": SUBSCRIBER, "product_code": "CRBT"}).status_code == 403
    assert Recommendation.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "keys"),
    [
        ("promoter_a", {"incentives_recommendation_new", "incentives_recommendation_mine"}),
        ("staff_a", {"incentives_recommendations"}),
        ("auditor_a", {"incentives_recommendations"}),
        ("cs_agent_a", set()),
        ("nobody_a", set()),
    ],
)
def test_menu_entries(world, who, keys):
    ours = {
        "incentives_recommendation_new",
        "incentives_recommendation_mine",
        "incentives_recommendations",
    }

    shown = {link.key for link in nav_items_for(_user(world, who))} & ours

    assert shown == keys


# ---- the promoter's form -----------------------------------------------------------------


def test_form_is_phone_friendly_and_offers_active_products_with_fee_and_rebate(
    client, world, settings
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world.promoter_a.user)

    html = client.get(NEW).content.decode()

    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert 'inputmode="tel"' in html
    assert "form-control form-control-lg" in html
    assert "form-select form-select-lg" in html
    assert "btn btn-primary btn-lg w-100" in html
    assert "Colour ring-back tone · 5.00 yuan/month · rebate 4.00 yuan" in html
    assert "Weekly bill report · 2.00 yuan/month · rebate 2.00 yuan" in html
    assert "Retired package" not in html
    assert world.promoter_a.work_id in html


def test_form_shows_the_rebate_in_force_today(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    from prm.incentives.models import RebateVersion

    RebateVersion.objects.filter(product=world.crbt).update(effective_to=date(2020, 12, 31))
    RebateVersion.objects.create(product=world.crbt, rebate="4.50", effective_from=date(2021, 1, 1))
    RebateVersion.objects.create(product=world.crbt, rebate="9.00", effective_from=date(2099, 1, 1))
    client.force_login(world.promoter_a.user)

    html = client.get(NEW).content.decode()

    assert "Colour ring-back tone · 5.00 yuan/month · rebate 4.50 yuan" in html


def test_form_records_and_sends_the_sms(
    client, world, settings, django_capture_on_commit_callbacks
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world.promoter_a.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            NEW, {"msisdn": "139 0013 9000", "product_code": "CRBT"}, follow=True
        )

    recommendation = Recommendation.objects.get()
    assert response.redirect_chain == [(NEW, 302)]
    assert recommendation.source == Recommendation.Source.WEB
    assert recommendation.promoter == world.promoter_a
    assert recommendation.msisdn == SUBSCRIBER
    assert (
        f"Recommendation {recommendation.number} recorded. {SUBSCRIBER} receives an SMS"
        in response.content.decode()
    )
    assert [message["mobile"] for message in sms_outbox()] == [SUBSCRIBER]


@pytest.mark.parametrize(
    ("_case", "data", "field", "message"),
    [
        ("no number", {"msisdn": "", "product_code": "CRBT"}, "msisdn", "This field is required."),
        (
            "other operator",
            {"msisdn": "13000130000", "product_code": "CRBT"},
            "msisdn",
            "The number 13000130000 is not one of our subscribers&#x27; numbers.",
        ),
        (
            "inactive product",
            {"msisdn": SUBSCRIBER, "product_code": "OLD"},
            "product_code",
            "Select a valid choice.",
        ),
        (
            "billed last month",
            {"msisdn": SUBSCRIBER, "product_code": "CRBT"},
            "msisdn",
            "already had Colour ring-back tone in the three months",
        ),
    ],
)
def test_form_refusals_show_the_reason_and_write_nothing(
    client, world, settings, _case, data, field, message
):
    settings.LANGUAGE_CODE = "en"
    from django.utils import timezone

    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    billed([(SUBSCRIBER, "CRBT", last_month, "5.00")])
    client.force_login(world.promoter_a.user)

    response = client.post(NEW, data)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-field="{field}">' in html
    assert message in html
    assert Recommendation.objects.count() == 0
    assert sms_outbox() == []


# ---- my recommendations ----------------------------------------------------------------------


def test_mine_lists_only_own_recommendations(client, world):
    mine = factories.recommendation(promoter=world.promoter_a, product=world.crbt)
    factories.recommendation(promoter=world.promoter_a2, product=world.crbt)
    factories.recommendation(promoter=world.promoter_b, product=world.crbt)
    client.force_login(world.promoter_a.user)

    response = client.get(MINE)

    assert [item.number for item in response.context["page"]] == [mine.number]


def test_mine_filters_by_month_and_status(client, world):
    april = factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        recommended_at=at(datetime(2026, 4, 30, 23, 59, 59)),
    )
    may_ordered = factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        recommended_at=at(datetime(2026, 5, 1, 0, 0)),
    )
    may_waiting = factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        recommended_at=at(datetime(2026, 5, 31, 23, 59, 59)),
        confirmed=False,
    )
    client.force_login(world.promoter_a.user)

    def numbers(query):
        return [item.number for item in client.get(MINE, query).context["page"]]

    assert numbers({"month": "2026-05"}) == [may_waiting.number, may_ordered.number]
    assert numbers({"month": "2026-04"}) == [april.number]
    assert numbers({"month": "2026-05", "status": "ordered"}) == [may_ordered.number]
    assert numbers({"month": "bad"}) == [may_waiting.number, may_ordered.number, april.number]


def test_mine_htmx_request_gets_only_the_results(client, world, own):
    client.force_login(world.promoter_a.user)

    response = client.get(MINE, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "<html" not in html
    assert own.number in html


# ---- staff list --------------------------------------------------------------------------------


def test_staff_list_is_scoped_to_the_subtree(client, world):
    a = factories.recommendation(promoter=world.promoter_a, product=world.crbt)
    b = factories.recommendation(promoter=world.promoter_b, product=world.crbt)

    def numbers(user):
        client.force_login(user)
        return {item.number for item in client.get(LIST).context["page"]}

    assert numbers(world.staff_a) == {a.number}
    assert numbers(world.staff_b) == {b.number}
    assert numbers(world.staff_province) == {a.number, b.number}


def test_staff_list_filters(client, world):
    other_channel = factories.channel(org=world.orgs.city_a)
    promoter_c = factories.promoter(org=world.orgs.city_a, channel=other_channel, name="Zhao Qi")
    crbt_a = factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        msisdn="13900139001",
        recommended_at=at(datetime(2026, 5, 3, 9, 0)),
    )
    weekly_a2 = factories.recommendation(
        promoter=world.promoter_a2,
        product=world.weekly,
        msisdn="13900139002",
        recommended_at=at(datetime(2026, 4, 3, 9, 0)),
        confirmed=False,
    )
    crbt_c = factories.recommendation(
        promoter=promoter_c,
        product=world.crbt,
        msisdn="13800139003",
        recommended_at=at(datetime(2026, 5, 4, 9, 0)),
    )
    crbt_b = factories.recommendation(
        promoter=world.promoter_b,
        product=world.crbt,
        msisdn="13900139004",
        recommended_at=at(datetime(2026, 5, 5, 9, 0)),
    )
    client.force_login(world.staff_province)

    def numbers(query):
        return [item.number for item in client.get(LIST, query).context["page"]]

    assert numbers({"city": world.orgs.city_a.pk}) == [
        crbt_c.number,
        crbt_a.number,
        weekly_a2.number,
    ]
    assert numbers({"city": world.orgs.city_b.pk}) == [crbt_b.number]
    assert numbers({"channel": other_channel.pk}) == [crbt_c.number]
    assert numbers({"promoter": world.promoter_a2.work_id}) == [weekly_a2.number]
    assert numbers({"promoter": "Zhao"}) == [crbt_c.number]
    assert numbers({"product": "WEEKLY"}) == [weekly_a2.number]
    assert numbers({"status": "awaiting_confirmation"}) == [weekly_a2.number]
    assert numbers({"month": "2026-04"}) == [weekly_a2.number]
    assert numbers({"msisdn": "1380013"}) == [crbt_c.number]
    assert numbers({"month": "2026-05", "product": "CRBT", "city": world.orgs.city_a.pk}) == [
        crbt_c.number,
        crbt_a.number,
    ]


def test_staff_list_city_choices_are_the_users_subtree(client, world):
    client.force_login(world.staff_a)

    form = client.get(LIST).context["form"]

    assert list(form.fields["city"].queryset) == [world.orgs.city_a]


def test_staff_list_runs_a_constant_number_of_queries(client, world):
    client.force_login(world.staff_province)
    for n in range(3):
        factories.recommendation(promoter=world.promoter_a, product=world.crbt)
    client.get(LIST)  # warm caches (permissions, scope)

    with CaptureQueriesContext(connection) as few:
        client.get(LIST)
    for n in range(20):
        factories.recommendation(
            promoter=world.promoter_b if n % 2 else world.promoter_a2,
            product=world.weekly if n % 3 else world.crbt,
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(LIST)

    assert len(response.context["page"]) == 23
    assert len(many.captured_queries) == len(few.captured_queries)


# ---- detail ----------------------------------------------------------------------------------


def test_detail_for_the_promoter_hides_the_code(client, world, own, settings):
    settings.LANGUAGE_CODE = "en"
    Recommendation.objects.filter(pk=own.pk).update(confirmation_code="8642")
    client.force_login(world.promoter_a.user)

    html = client.get(f"/incentives/recommendations/{own.number}/").content.decode()

    assert own.number in html
    assert "Waiting for the subscriber's SMS reply" in html
    assert "8642" not in html
    assert 'data-testid="recommendation-promoter"' not in html


def test_detail_for_staff_shows_promoter_and_billing(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    failed = factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        status=Recommendation.Status.OPEN_FAILED,
        billing_message="number suspended",
    )
    client.force_login(world.staff_a)

    html = client.get(f"/incentives/recommendations/{failed.number}/").content.decode()

    assert world.promoter_a.name in html
    assert "number suspended" in html
    assert "the order is retried automatically" in html
