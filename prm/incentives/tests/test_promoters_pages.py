"""Promoter pages: the public and intranet registration forms, the staff list and detail
(with the approval panel), edit, disable/enable; each page as anonymous, another city's
manager, a user without the permission and the allowed user."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prm.core.models import WorkflowInstance
from prm.core.sms import sms_outbox
from prm.incentives.models import Promoter
from prm.incentives.tests import factories
from prm.incentives.tests import test_promoters_fixtures as fixtures
from prm.incentives.tests.test_promoters_fixtures import (
    approve,
    instance_of,
    internet,
    intranet,
)

pytestmark = pytest.mark.django_db

world = fixtures.world  # the shared fixture

REGISTER = "/incentives/promoters/register/"
INTRANET = "/incentives/promoters/register/intranet/"
LIST = "/incentives/promoters/"

FORM = {
    "name": "Han Meimei",
    "msisdn": "13800138011",
    "kind": "telemarketer",
    "city": "GZ",
    "channel": "",
    "outlet": "",
    "bank_name": "ICBC",
    "bank_account": "622200001234",
    "email": "",
}


@pytest.fixture(autouse=True)
def english(settings, client):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"


def state() -> tuple[int, int]:
    return Promoter.objects.count(), WorkflowInstance.objects.count()


# ---- Public internet registration -----------------------------------------------------------


def test_public_form_offers_internet_kinds_and_every_city(client, world):
    response = client.get(REGISTER)

    assert response.status_code == 200
    form = response.context["form"]
    assert [value for value, _label in form.fields["kind"].choices] == [
        "",
        "telemarketer",
        "ordinary",
    ]
    assert [value for value, _label in form.fields["city"].choices] == ["", "GZ", "SZ"]


def test_public_form_registers_and_thanks(client, world):
    response = client.post(REGISTER, {**FORM, "channel": "CH-GZ-1", "outlet": "OU-GZ-1"})

    assert (response.status_code, response["Location"]) == (
        302,
        "/incentives/promoters/register/done/",
    )
    promoter = Promoter.objects.get()
    assert (promoter.name, promoter.kind, promoter.path, promoter.status) == (
        "Han Meimei",
        "telemarketer",
        "internet",
        "submitted",
    )
    assert promoter.channel == world.channel_a
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("_case", "values", "field", "message"),
    [
        ("other operator", {"msisdn": "13000138011"}, "msisdn", "not one of our subscribers"),
        ("malformed", {"msisdn": "1380013801"}, "msisdn", "11-digit"),
        ("hall clerk", {"kind": "hall_clerk"}, "kind", "Select a valid choice"),
        ("channel of SZ", {"channel": "CH-SZ-1"}, "channel", "does not belong to Guangzhou"),
        ("short account", {"bank_account": "62220000123"}, "bank_account", "12 to 30 digits"),
    ],
)
def test_public_form_refusals_show_the_reason_and_change_nothing(
    client, world, _case, values, field, message
):
    before = state()

    response = client.post(REGISTER, {**FORM, **values})

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert state() == before


def test_public_form_refuses_a_live_number(client, world):
    factories.promoter(org=world.city_a, msisdn="13800138011", with_user=False)
    before = state()

    response = client.post(REGISTER, FORM)

    assert "already registered" in " ".join(response.context["form"].errors["msisdn"])
    assert state() == before


def test_public_form_is_rate_limited_per_address(client, world, settings):
    settings.PRM_PROMOTER_REGISTRATION_LIMIT = 2
    client.post(REGISTER, {**FORM, "msisdn": "bad"})
    assert client.post(REGISTER, FORM).status_code == 302  # the 2nd attempt passes
    before = state()

    response = client.post(REGISTER, {**FORM, "msisdn": "13800138012"})

    assert response.status_code == 429
    assert "Too many registrations" in response.content.decode()
    assert state() == before


def test_options_follow_the_chosen_city(client, world):
    response = client.get(
        "/incentives/promoters/register/options/", {"city": "SZ", "path": "internet"}
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "CH-SZ-1" in body and "OU-SZ-1" in body
    assert "CH-GZ-1" not in body


def test_a_posted_city_offers_its_channels(client, world):
    response = client.post(REGISTER, {**FORM, "city": "SZ", "msisdn": "x"})

    choices = [value for value, _label in response.context["form"].fields["channel"].widget.choices]
    assert choices == ["", "CH-SZ-1"]


# ---- Intranet registration --------------------------------------------------------------------


def test_intranet_form_access(client, world):
    assert client.get(INTRANET)["Location"].startswith("/accounts/login/")
    for who in (world.finance_a, world.account_manager_a):
        client.force_login(who)
        assert client.get(INTRANET).status_code == 403
    client.force_login(world.cm_b)
    response = client.get(INTRANET)
    assert response.status_code == 200
    form = response.context["form"]
    assert [value for value, _label in form.fields["kind"].choices] == [
        "",
        "hall_clerk",
        "call_centre_agent",
    ]
    assert [value for value, _label in form.fields["city"].choices] == ["", "SZ"]
    assert form.initial == {"city": "SZ"}


def test_intranet_registration_goes_to_the_promoters_page(client, world):
    client.force_login(world.cm_province)

    response = client.post(INTRANET, {**FORM, "kind": "hall_clerk"})

    promoter = Promoter.objects.get()
    assert response["Location"] == f"/incentives/promoters/{promoter.public_id}/"
    assert (promoter.path, promoter.submitted_by) == ("intranet", world.cm_province)


def test_intranet_refuses_another_citys_registration(client, world):
    client.force_login(world.cm_b)
    before = state()

    response = client.post(INTRANET, {**FORM, "kind": "hall_clerk"})

    assert response.status_code == 200
    assert "city" in response.context["form"].errors
    assert state() == before


def test_intranet_refuses_internet_kinds(client, world):
    client.force_login(world.cm_province)
    before = state()

    response = client.post(INTRANET, FORM)

    assert "kind" in response.context["form"].errors
    assert state() == before


# ---- List ------------------------------------------------------------------------------------


def test_list_access_and_scope(client, world):
    gz = internet(world)
    internet(world, msisdn="13800138002", city_code="SZ")
    assert client.get(LIST)["Location"].startswith("/accounts/login/")
    client.force_login(world.account_manager_a)
    assert client.get(LIST).status_code == 403
    for who in (world.cm_a, world.finance_a):
        client.force_login(who)
        response = client.get(LIST)
        assert response.status_code == 200
        assert [p.pk for p in response.context["page"]] == [gz.pk]
    client.force_login(world.cm_province)
    assert len(client.get(LIST).context["page"]) == 2


@pytest.mark.parametrize(
    ("_case", "query", "expected"),
    [
        ("kind", {"kind": "hall_clerk"}, ["Clerk"]),
        ("status", {"status": "active"}, ["Clerk"]),
        ("channel", {"channel": "CH-GZ-1"}, ["Clerk"]),
        ("name", {"q": "ordin"}, ["Ordinary Joe"]),
        ("number", {"q": "138001380"}, ["Ordinary Joe", "Clerk"]),
        ("work id", {"q": "gz-0000"}, ["Clerk"]),
        ("nothing", {}, ["Ordinary Joe", "Clerk"]),
    ],
)
def test_list_filters(client, world, _case, query, expected):
    clerk = intranet(world, name="Clerk", channel_code="CH-GZ-1")
    approve(clerk, world.cm_a)
    internet(world, name="Ordinary Joe", msisdn="13800138002")
    client.force_login(world.cm_a)

    response = client.get(LIST, query)

    assert [p.name for p in response.context["page"]] == expected


def test_list_htmx_gets_the_table_only(client, world):
    internet(world)
    client.force_login(world.cm_a)

    body = client.get(LIST, HTTP_HX_REQUEST="true").content.decode()

    assert 'data-testid="promoter-row"' in body and "<html" not in body


def test_list_runs_a_constant_number_of_queries(client, world):
    client.force_login(world.cm_a)
    client.get(LIST)  # the session's first request does its own bookkeeping

    def queries(rows: int) -> int:
        for _n in range(rows):
            factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(LIST)
        assert len(response.context["page"]) == Promoter.objects.count()
        return len(captured)

    assert queries(3) == queries(20)


# ---- Detail, approval on the page, edit, disable ------------------------------------------


def _detail(promoter) -> str:
    return f"/incentives/promoters/{promoter.public_id}/"


def test_detail_access(client, world):
    promoter = internet(world)
    assert client.get(_detail(promoter))["Location"].startswith("/accounts/login/")
    client.force_login(world.account_manager_a)
    assert client.get(_detail(promoter)).status_code == 403
    client.force_login(world.cm_b)
    assert client.get(_detail(promoter)).status_code == 404
    client.force_login(world.finance_a)
    response = client.get(_detail(promoter))
    assert response.status_code == 200
    assert response.context["workflow_actions"] == []
    assert response.context["can_edit"] is False


def test_the_city_admin_approves_on_the_detail_page(
    client, world, django_capture_on_commit_callbacks
):
    promoter = internet(world)
    client.force_login(world.cm_a)
    page = client.get(_detail(promoter))
    assert page.context["workflow_actions"] == ["approve", "reject", "delegate"]
    assert 'data-testid="workflow-approve"' in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/approvals/{instance_of(promoter).pk}/approve/", {"next": _detail(promoter)}
        )

    assert response["Location"] == _detail(promoter)
    promoter.refresh_from_db()
    assert (promoter.status, promoter.work_id) == ("active", "GZ-000001")
    [sms] = sms_outbox()
    password = sms["text"].split("initial password: ")[1].split(".")[0]
    body = client.get(_detail(promoter)).content.decode()
    assert "GZ-000001" in body
    assert 'data-action="promoter.approved"' in body
    assert password not in body


def test_rejection_shows_the_reason(client, world):
    promoter = internet(world)
    client.force_login(world.cm_a)

    client.post(f"/approvals/{instance_of(promoter).pk}/reject/", {"reason": "Wrong city"})

    body = client.get(_detail(promoter)).content.decode()
    assert 'data-testid="promoter-rejection"' in body and "Wrong city" in body


@pytest.fixture
def active(world):
    return approve(internet(world, channel_code="CH-GZ-1"), world.cm_a)


def test_edit_page_access_and_save(client, world, active):
    url = f"/incentives/promoters/{active.public_id}/edit/"
    data = {"bank_name": "CCB", "bank_account": "6227000011112222", "channel": "", "outlet": ""}
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(world.finance_a)
    assert client.post(url, data).status_code == 403
    client.force_login(world.cm_b)
    assert client.post(url, data).status_code == 404
    active.refresh_from_db()
    assert active.bank_name == "ICBC"
    client.force_login(world.cm_a)
    assert client.get(url).status_code == 200

    response = client.post(url, data)

    assert response["Location"] == _detail(active)
    active.refresh_from_db()
    assert (active.bank_name, active.channel) == ("CCB", None)


def test_edit_page_refuses_another_citys_channel(client, world, active):
    client.force_login(world.cm_a)

    response = client.post(
        f"/incentives/promoters/{active.public_id}/edit/",
        {"bank_name": "CCB", "bank_account": "6227000011112222", "channel": "CH-SZ-1"},
    )

    assert "does not belong" in " ".join(response.context["form"].errors["channel"])
    active.refresh_from_db()
    assert (active.bank_name, active.channel) == ("ICBC", world.channel_a)


def test_disable_and_enable_pages(client, world, active):
    disable = f"/incentives/promoters/{active.public_id}/disable/"
    enable = f"/incentives/promoters/{active.public_id}/enable/"
    assert client.post(disable)["Location"].startswith("/accounts/login/")
    client.force_login(world.finance_a)
    assert client.post(disable).status_code == 403
    client.force_login(world.cm_b)
    assert client.post(disable).status_code == 404
    active.refresh_from_db()
    assert active.status == "active"
    client.force_login(world.cm_a)
    assert client.get(disable).status_code == 405

    assert client.post(disable, {"reason": "Left"})["Location"] == _detail(active)
    active.refresh_from_db()
    assert (active.status, active.user.is_active) == ("disabled", False)

    client.post(enable)
    active.refresh_from_db()
    assert (active.status, active.user.is_active) == ("active", True)


def test_promoter_nav_entries(client, world):
    client.force_login(world.cm_a)
    labels = [link.label for link in client.get(LIST).context["nav_items"]]
    assert {"Promoters", "Register a promoter", "Seat synchronisation"} <= {
        str(label) for label in labels
    }
    client.force_login(world.finance_a)
    labels = {str(link.label) for link in client.get(LIST).context["nav_items"]}
    assert "Promoters" in labels
    assert not {"Register a promoter", "Seat synchronisation"} & labels


def test_reverse_names():
    assert reverse("incentives:promoter_register") == REGISTER
    assert reverse("incentives:promoter_register_intranet") == INTRANET
