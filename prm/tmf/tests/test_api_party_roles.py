"""TMF669 partyRole (issue 3 item 13): TMF630 conventions, merge patch, bad input,
access."""

from __future__ import annotations

import uuid

import pytest

from prm.core.models import AuditEvent
from prm.partners.tests import factories
from prm.tmf.models import PartyRole

pytestmark = pytest.mark.django_db

BASE = "/tmf-api/partyRoleManagement/v4/partyRole"


def _create(api, **body):
    response = api.post(BASE, {"name": "Reseller", "roleType": {}, **body})
    assert response.status_code == 201, response.content
    return response.json()


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"code", "reason", "message", "status", "@type"}
    assert body["@type"] == "Error"
    assert body["status"] == str(response.status_code)
    return body


def test_post_creates_a_role_in_the_callers_org(api, manager):
    response = api.post(
        BASE,
        {
            "name": "Reseller",
            "status": "approved",
            "roleType": {"name": "reseller"},
            "characteristic": [{"name": "region", "value": "GZ"}],
            "validFor": {"startDateTime": "2026-01-01T00:00:00+08:00"},
            "id": "ignored",
            "href": "ignored",
        },
    )

    assert response.status_code == 201
    body = response.json()
    role = PartyRole.objects.get()
    assert body == {
        "id": str(role.pk),
        "href": f"http://testserver{BASE}/{role.pk}",
        "name": "Reseller",
        "status": "approved",
        "roleType": {"name": "reseller"},
        "characteristic": [{"name": "region", "value": "GZ"}],
        "validFor": {"startDateTime": "2026-01-01T00:00:00+08:00"},
        "@type": "PartyRole",
    }
    assert response["Location"] == body["href"]
    assert role.org == manager.org
    assert role.partner is None
    assert AuditEvent.objects.filter(action="tmf.party_role_created", target_id=str(role.pk))


def test_role_type_is_always_output(api):
    body = _create(api, roleType=None)

    assert body["roleType"] == {}


def test_retrieve_and_unknown_id(api):
    created = _create(api)

    found = api.get(f"{BASE}/{created['id']}")
    missing = api.get(f"{BASE}/{uuid.uuid4()}")
    not_a_uuid = api.get(f"{BASE}/not-a-uuid")

    assert found.status_code == 200
    assert found.json() == created
    assert missing.status_code == 404
    assert _error(missing)["code"] == "not_found"
    assert not_a_uuid.status_code == 404


def test_list_filters_by_name_status_and_id(api):
    first = _create(api, name="Alpha", status="active")
    second = _create(api, name="Beta", status="suspended")
    _create(api, name="Gamma", status="active")

    by_name = api.get(BASE, {"name": "Beta"})
    by_status = api.get(BASE, {"status": "active"})
    by_status_any = api.get(BASE, {"status": "suspended,missing"})
    by_id = api.get(BASE, {"id": f"{first['id']},{second['id']}"})

    assert [role["name"] for role in by_name.json()] == ["Beta"]
    assert [role["name"] for role in by_status.json()] == ["Alpha", "Gamma"]
    assert [role["name"] for role in by_status_any.json()] == ["Beta"]
    assert [role["name"] for role in by_id.json()] == ["Alpha", "Beta"]
    assert by_name["X-Total-Count"] == "1"


def test_fields_projection_keeps_id_href_and_type(api):
    created = _create(api, status="active", characteristic=[{"name": "a", "value": 1}])

    listed = api.get(BASE, {"fields": "name,status"})
    single = api.get(f"{BASE}/{created['id']}", {"fields": "characteristic"})

    assert listed.json() == [
        {
            "id": created["id"],
            "href": created["href"],
            "name": "Reseller",
            "status": "active",
            "@type": "PartyRole",
        }
    ]
    assert single.json() == {
        "id": created["id"],
        "href": created["href"],
        "characteristic": [{"name": "a", "value": 1}],
        "@type": "PartyRole",
    }


@pytest.mark.parametrize(
    ("offset", "limit", "names", "result_count"),
    [(0, 2, ["R0", "R1"], "2"), (2, 2, ["R2", "R3"], "2"), (4, 2, ["R4"], "1"), (9, 2, [], "0")],
    ids=["first_page", "middle_page", "last_partial_page", "past_the_end"],
)
def test_offset_limit_and_count_headers(api, offset, limit, names, result_count):
    for n in range(5):
        _create(api, name=f"R{n}")

    response = api.get(BASE, {"offset": offset, "limit": limit})

    assert response.status_code == 200
    assert [role["name"] for role in response.json()] == names
    assert response["X-Total-Count"] == "5"
    assert response["X-Result-Count"] == result_count


@pytest.mark.parametrize(
    "query",
    [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}],
    ids=["limit_zero", "limit_too_big", "negative_offset", "limit_not_a_number"],
)
def test_bad_paging_is_a_400(api, query):
    response = api.get(BASE, query)

    assert response.status_code == 400
    assert _error(response)["code"] == "validation_error"


@pytest.mark.parametrize(
    "content_type", ["application/merge-patch+json", "application/json"], ids=["merge", "json"]
)
def test_patch_is_a_merge_patch(api, content_type):
    created = _create(
        api,
        status="active",
        statusReason="new",
        characteristic=[{"name": "a", "value": 1}],
        validFor={
            "startDateTime": "2026-01-01T00:00:00Z",
            "endDateTime": "2026-12-31T00:00:00Z",
        },
    )

    response = api.patch(
        f"{BASE}/{created['id']}",
        {
            "name": "Renamed",
            "statusReason": None,
            "characteristic": None,
            "validFor": {"endDateTime": None},
            "contactMedium": [{"mediumType": "email"}],
        },
        content_type=content_type,
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": created["id"],
        "href": created["href"],
        "name": "Renamed",
        "status": "active",
        "roleType": {},
        "validFor": {"startDateTime": "2026-01-01T00:00:00Z"},
        "contactMedium": [{"mediumType": "email"}],
        "@type": "PartyRole",
    }
    role = PartyRole.objects.get()
    assert (role.name, role.status, role.status_reason) == ("Renamed", "active", "")
    event = AuditEvent.objects.get(action="tmf.party_role_updated")
    assert event.changes["name"] == ["Reseller", "Renamed"]


def _unchanged(role_id) -> tuple:
    role = PartyRole.objects.get(pk=role_id)
    return role.name, role.status, role.attributes, role.updated_at


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("post", "{not json"),
        ("post", "[1, 2]"),
        ("post", '{"roleType": {}}'),
        ("post", '{"name": ""}'),
        ("post", '{"name": 5}'),
        ("post", '{"name": "x", "characteristic": {"not": "a list"}}'),
        ("post", '{"name": "x", "validFor": {"startDateTime": "yesterday"}}'),
        ("post", '{"name": "x", "validFor": {"startDateTime": "2026-01-01T00:00:00"}}'),
        (
            "post",
            '{"name": "x", "validFor": {"startDateTime": "2026-02-01T00:00:00Z",'
            ' "endDateTime": "2026-01-01T00:00:00Z"}}',
        ),
        ("post", '{"name": "nul \\u0000 inside"}'),
        ("post", '{"name": "x", "note": 1e400}'),
        ("patch", "{not json"),
        ("patch", '{"name": null}'),
        ("patch", '{"name": 7}'),
        ("patch", '{"roleType": "not an object"}'),
        ("patch", '{"status": "' + "x" * 41 + '"}'),
    ],
    ids=[
        "invalid_json",
        "not_an_object",
        "name_missing",
        "name_empty",
        "name_not_a_string",
        "characteristic_not_a_list",
        "date_unparsable",
        "date_without_offset",
        "period_ends_before_start",
        "nul_character",
        "infinite_number",
        "patch_invalid_json",
        "patch_removes_name",
        "patch_name_not_a_string",
        "patch_role_type_not_an_object",
        "patch_status_too_long",
    ],
)
def test_malformed_body_is_a_400_and_writes_nothing(api, method, body):
    existing = _create(api)
    before = _unchanged(existing["id"])
    audit_count = AuditEvent.objects.count()
    path = BASE if method == "post" else f"{BASE}/{existing['id']}"

    response = getattr(api, method)(path, body)

    assert response.status_code == 400, response.content
    assert _error(response)["code"] in {"validation_error", "malformed_body"}
    assert PartyRole.objects.count() == 1
    assert _unchanged(existing["id"]) == before
    assert AuditEvent.objects.count() == audit_count


def test_an_unsupported_media_type_is_refused(api):
    response = api.post(BASE, "name=x", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert PartyRole.objects.count() == 0


def test_delete_answers_204_then_404(api):
    created = _create(api)

    deleted = api.delete(f"{BASE}/{created['id']}")
    again = api.delete(f"{BASE}/{created['id']}")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert again.status_code == 404
    assert PartyRole.objects.count() == 0
    assert AuditEvent.objects.filter(action="tmf.party_role_deleted").count() == 1


def test_a_partners_role_keeps_what_follows_the_partner(api, partner_a):
    role = PartyRole.objects.get(partner=partner_a)

    renamed = api.patch(f"{BASE}/{role.pk}", {"name": "Other"})
    deleted = api.delete(f"{BASE}/{role.pk}")
    enriched = api.patch(f"{BASE}/{role.pk}", {"contactMedium": [{"mediumType": "email"}]})

    assert renamed.status_code == 409
    assert _error(renamed)["code"] == "partner_owned"
    assert deleted.status_code == 409
    assert enriched.status_code == 200
    role.refresh_from_db()
    assert role.name == partner_a.category.name
    assert role.attributes["contactMedium"] == [{"mediumType": "email"}]


# --- Access -------------------------------------------------------------------------------


def test_anonymous_gets_401(client):
    response = client.get(BASE)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert _error(response)["code"] == "not_authenticated"


def test_an_invalid_token_gets_401(client):
    response = client.get(BASE, HTTP_AUTHORIZATION="Bearer prm_nope_nope")

    assert response.status_code == 401


def test_the_session_of_a_signed_in_user_works(client, manager, partner_a):
    client.force_login(manager)

    response = client.get(BASE)

    assert response.status_code == 200
    assert [role["engagedParty"]["id"] for role in response.json()] == [partner_a.code]


@pytest.mark.parametrize(
    ("roles", "method", "status"),
    [
        (("channel_manager",), "get", 403),
        (("auditor",), "get", 200),
        (("auditor",), "post", 403),
        (("partner_manager",), "post", 201),
    ],
    ids=["no_permission_read", "auditor_reads", "auditor_cannot_write", "manager_writes"],
)
def test_permissions(orgs, make_user, token_client, roles, method, status):
    user = make_user(org=orgs.city_a, roles=roles)
    api = token_client(user)

    response = api.get(BASE) if method == "get" else api.post(BASE, {"name": "x"})

    assert response.status_code == status


def test_a_read_only_token_cannot_write(token_client, manager):
    api = token_client(manager, scopes=("tmf.read",))

    read = api.get(BASE)
    write = api.post(BASE, {"name": "x"})

    assert read.status_code == 200
    assert write.status_code == 403
    assert _error(write)["code"] == "token_scope"
    assert PartyRole.objects.count() == 0


def test_other_org_subtree_sees_nothing(api, orgs, make_user, token_client, partner_a, partner_b):
    mine = _create(api)
    shenzhen = token_client(make_user(org=orgs.city_b, roles=("partner_manager",)))
    mine_role = PartyRole.objects.get(partner=partner_a)

    listed = shenzhen.get(BASE)
    single = shenzhen.get(f"{BASE}/{mine['id']}")
    partner_role = shenzhen.get(f"{BASE}/{mine_role.pk}")
    patched = shenzhen.patch(f"{BASE}/{mine['id']}", {"name": "stolen"})
    deleted = shenzhen.delete(f"{BASE}/{mine['id']}")

    assert [role["engagedParty"]["id"] for role in listed.json()] == [partner_b.code]
    assert (single.status_code, partner_role.status_code) == (404, 404)
    assert (patched.status_code, deleted.status_code) == (404, 404)
    assert PartyRole.objects.get(pk=mine["id"]).name == "Reseller"


def test_the_province_sees_its_cities_roles(orgs, make_user, token_client, api, partner_a):
    _create(api, name="From Guangzhou")
    province = token_client(make_user(org=orgs.province, roles=("auditor",)))

    response = province.get(BASE, {"fields": "name"})

    assert sorted(role["name"] for role in response.json()) == sorted(
        ["From Guangzhou", partner_a.category.name]
    )


def test_a_partner_user_never_sees_roles(partner_a, token_client):
    user = factories.partner_user(partner_a, roles=("partner_admin",))

    response = token_client(user).get(BASE)

    assert response.status_code == 403


def test_a_token_write_needs_no_csrf_token(manager):
    """Real clients send no CSRF token: the bearer token is checked before the session."""
    from django.test import Client

    from prm.accounts.services import api_token_create

    _token, raw = api_token_create(actor=None, user=manager, label="crm")
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        BASE, {"name": "x"}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )

    assert response.status_code == 201


def test_a_session_write_needs_the_csrf_token(manager):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)

    response = client.post(BASE, {"name": "x"}, content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert PartyRole.objects.count() == 0


def test_the_tmf_api_has_its_own_openapi_document(client):
    response = client.get("/tmf-api/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) == {
        "/tmf-api/partyRoleManagement/v4/partyRole",
        "/tmf-api/partyRoleManagement/v4/partyRole/{id}",
        "/tmf-api/partyRoleManagement/v4/hub",
        "/tmf-api/partyRoleManagement/v4/hub/{id}",
        "/tmf-api/party/v4/organization",
        "/tmf-api/party/v4/organization/{id}",
        "/tmf-api/party/v4/hub",
        "/tmf-api/party/v4/hub/{id}",
        "/tmf-api/agreementManagement/v4/agreement",
        "/tmf-api/agreementManagement/v4/agreement/{id}",
        "/tmf-api/agreementManagement/v4/hub",
        "/tmf-api/agreementManagement/v4/hub/{id}",
    }
    patch_body = paths["/tmf-api/partyRoleManagement/v4/partyRole/{id}"]["patch"]["requestBody"]
    assert set(patch_body["content"]) == {"application/json", "application/merge-patch+json"}
    assert client.get("/tmf-api/docs").status_code == 200
