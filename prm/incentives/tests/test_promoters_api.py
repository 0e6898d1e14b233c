"""Promoter API (/api/v1/incentives/promoters…): the staff list and detail (scoped), the
anonymous internet registration (rate-limited) and a promoter's own record."""

from __future__ import annotations

import pytest

from prm.core.models import WorkflowInstance
from prm.incentives.models import Promoter
from prm.incentives.tests import factories
from prm.incentives.tests import test_promoters_fixtures as fixtures
from prm.incentives.tests.test_promoters_fixtures import (
    approve,
    internet,
)

pytestmark = pytest.mark.django_db

world = fixtures.world  # the shared fixture

BASE = "/api/v1/incentives/promoters"
BODY = {
    "name": "Han Meimei",
    "msisdn": "13800138011",
    "kind": "ordinary",
    "city": "GZ",
    "bank_name": "ICBC",
    "bank_account": "622200001234",
}


@pytest.fixture
def api(client, settings):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def promoters(world):
    gz = approve(internet(world, channel_code="CH-GZ-1"), world.cm_a)
    sz = internet(world, msisdn="13800138002", city_code="SZ")
    return gz, sz


def state() -> tuple[int, int]:
    return Promoter.objects.count(), WorkflowInstance.objects.count()


# ---- Staff reads ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [BASE, f"{BASE}/GZ-000001"])
def test_staff_reads_need_credentials(api, promoters, path):
    response = api.get(path)

    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


@pytest.mark.parametrize("path", [BASE, f"{BASE}/GZ-000001"])
def test_staff_reads_need_the_view_permission(api, world, promoters, path):
    api.force_login(world.account_manager_a)

    response = api.get(path)

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_list_is_scoped_and_filtered(api, world, promoters):
    gz, sz = promoters
    api.force_login(world.cm_b)
    assert [row["name"] for row in api.get(BASE).json()] == [sz.name]

    api.force_login(world.cm_province)
    response = api.get(BASE)
    assert response["X-Total-Count"] == "2"
    assert api.get(BASE, {"status": "active"}).json()[0]["work_id"] == "GZ-000001"
    assert [row["city"] for row in api.get(BASE, {"q": "138001380"}).json()] == ["SZ", "GZ"]
    [row] = api.get(BASE, {"channel": "CH-GZ-1"}).json()
    assert (row["work_id"], row["channel"], row["kind"], row["path"]) == (
        "GZ-000001",
        "CH-GZ-1",
        "ordinary",
        "internet",
    )
    assert "bank_account" not in row


def test_detail_by_work_id_or_public_id(api, world, promoters):
    gz, sz = promoters
    api.force_login(world.finance_a)

    by_work_id = api.get(f"{BASE}/GZ-000001").json()
    by_public_id = api.get(f"{BASE}/{gz.public_id}").json()

    assert by_work_id == by_public_id
    assert (by_work_id["bank_account"], by_work_id["recommendation_count"]) == (
        "622200001234",
        0,
    )
    assert api.get(f"{BASE}/{sz.public_id}").status_code == 404  # another city
    assert api.get(f"{BASE}/GZ-999999").status_code == 404


def test_recommendations_are_counted(api, world, promoters):
    gz, _sz = promoters
    factories.recommendation(promoter=gz, product=factories.product())
    api.force_login(world.cm_a)

    assert api.get(f"{BASE}/GZ-000001").json()["recommendation_count"] == 1


# ---- Internet registration --------------------------------------------------------------------


def test_anonymous_registration(api, world):
    response = api.post(f"{BASE}/register", BODY, content_type="application/json")

    assert response.status_code == 201
    promoter = Promoter.objects.get()
    assert response.json() == {"public_id": str(promoter.public_id), "status": "submitted"}
    assert (promoter.path, promoter.org) == ("internet", world.city_a)


@pytest.mark.parametrize(
    ("_case", "values", "status", "code"),
    [
        ("intranet kind", {"kind": "hall_clerk"}, 400, "kind_wrong_path"),
        ("other operator", {"msisdn": "13000138011"}, 400, "msisdn_other_operator"),
        ("channel of SZ", {"channel": "CH-SZ-1"}, 400, "channel_other_city"),
        ("missing field", {"bank_name": None}, 422, "validation_error"),
    ],
)
def test_registration_refusals_change_nothing(api, world, _case, values, status, code):
    body = {key: value for key, value in {**BODY, **values}.items() if value is not None}

    response = api.post(f"{BASE}/register", body, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert state() == (0, 0)


def test_registration_of_a_live_number_is_a_conflict(api, world):
    factories.promoter(org=world.city_a, msisdn="13800138011", with_user=False)

    response = api.post(f"{BASE}/register", BODY, content_type="application/json")

    assert (response.status_code, response.json()["code"]) == (409, "msisdn_registered")
    assert Promoter.objects.count() == 1


def test_registration_is_rate_limited(api, world, settings):
    settings.PRM_PROMOTER_REGISTRATION_LIMIT = 1
    assert api.post(f"{BASE}/register", BODY, content_type="application/json").status_code == 201

    response = api.post(
        f"{BASE}/register", {**BODY, "msisdn": "13800138012"}, content_type="application/json"
    )

    assert (response.status_code, response.json()["code"]) == (429, "rate_limited")
    assert response["Retry-After"] == "600"
    assert Promoter.objects.count() == 1


# ---- A promoter's own record --------------------------------------------------------------


def _password_changed(promoter):
    promoter.user.must_change_password = False  # as after the first sign-in
    promoter.user.save()
    return promoter.user


def test_me_waits_for_the_initial_password_change(api, world, promoters):
    gz, _sz = promoters
    api.force_login(gz.user)

    assert api.get(f"{BASE}/me").status_code == 403


def test_me_is_the_promoters_own_record(api, world, promoters):
    gz, _sz = promoters
    assert api.get(f"{BASE}/me").status_code == 401
    api.force_login(world.cm_a)
    assert api.get(f"{BASE}/me").status_code == 404  # staff are no promoters

    api.force_login(_password_changed(gz))
    body = api.get(f"{BASE}/me").json()

    assert (body["work_id"], body["bank_account"]) == ("GZ-000001", "622200001234")


def test_a_promoter_cannot_read_other_promoters(api, world, promoters):
    gz, sz = promoters
    api.force_login(_password_changed(gz))

    assert api.get(BASE).status_code == 403
    assert api.get(f"{BASE}/{sz.public_id}").status_code == 403


def test_a_disabled_promoter_has_no_record(api, world, promoters):
    gz, _sz = promoters
    gz.status = Promoter.Status.DISABLED
    gz.save()
    api.force_login(_password_changed(gz))

    assert api.get(f"{BASE}/me").status_code == 404
