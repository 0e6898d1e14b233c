"""Pages and API of channels, outlets, the hierarchy and development targets, for the four
audiences (STYLE 19): anonymous, another city's channel manager, users without the
permission, and the allowed users. Refused posts change nothing; lists run a constant
number of queries."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prm.accounts.services import api_token_create
from prm.core.models import AuditEvent
from prm.incentives.models import Channel, DevelopmentTarget, Outlet
from prm.incentives.services.channels import target_set
from prm.incentives.tests import factories
from prm.incentives.tests.test_channels_fixtures import world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

A = "GZ-TH-HALL"  # channel of county A
OUT = "GZ-TH-HALL-01"  # its outlet
CH = f"/incentives/channels/{A}"
OU = f"/incentives/outlets/{OUT}"

GET_PAGES = [
    "/incentives/channels/",
    "/incentives/channels/new/",
    f"{CH}/",
    f"{CH}/edit/",
    f"{CH}/hierarchy/",
    f"{CH}/outlets/new/",
    f"{OU}/edit/",
    "/incentives/targets/",
    "/incentives/targets/set/",
]
POST_PAGES = [
    f"{CH}/deactivate/",
    f"{CH}/activate/",
    f"{OU}/deactivate/",
    f"{OU}/activate/",
]


@pytest.fixture
def en(client, settings):
    settings.LANGUAGE_CODE = "en"
    client.cookies["django_language"] = "en"
    return client


def _state():
    return (
        list(
            Channel.objects.order_by("pk").values_list(
                "code", "name", "org_id", "partner_id", "rebate_share_percent", "is_active"
            )
        ),
        list(Outlet.objects.order_by("pk").values_list("code", "name", "is_active")),
        list(DevelopmentTarget.objects.order_by("pk").values_list("month", "target")),
        AuditEvent.objects.count(),
    )


# ---- Pages: access ------------------------------------------------------------------------


@pytest.mark.parametrize("path", GET_PAGES + POST_PAGES)
def test_pages_send_anonymous_to_sign_in(client, world, path):
    method = client.post if path in POST_PAGES else client.get

    response = method(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        ("list_city", "cm_a", "/incentives/channels/", 200),
        ("list_other_city", "cm_b", "/incentives/channels/", 200),
        ("list_auditor", "auditor_a", "/incentives/channels/", 200),
        ("list_finance", "finance_a", "/incentives/channels/", 200),
        ("list_cs_agent", "cs_agent", "/incentives/channels/", 403),
        ("list_account_manager", "account_manager", "/incentives/channels/", 403),
        ("new_city", "cm_a", "/incentives/channels/new/", 200),
        ("new_auditor", "auditor_a", "/incentives/channels/new/", 403),
        ("new_cs_agent", "cs_agent", "/incentives/channels/new/", 403),
        ("detail_city", "cm_a", f"{CH}/", 200),
        ("detail_county", "cm_county", f"{CH}/", 200),
        ("detail_province", "cm_province", f"{CH}/", 200),
        ("detail_auditor", "auditor_a", f"{CH}/", 200),
        ("detail_other_city", "cm_b", f"{CH}/", 404),
        ("detail_county_sees_not_the_city", "cm_county", "/incentives/channels/GZ-ONLINE/", 404),
        ("detail_unknown", "cm_a", "/incentives/channels/NOPE/", 404),
        ("detail_cs_agent", "cs_agent", f"{CH}/", 403),
        ("detail_account_manager", "account_manager", f"{CH}/", 403),
        ("edit_city", "cm_a", f"{CH}/edit/", 200),
        ("edit_other_city", "cm_b", f"{CH}/edit/", 404),
        ("edit_auditor", "auditor_a", f"{CH}/edit/", 403),
        ("edit_cs_agent", "cs_agent", f"{CH}/edit/", 403),
        ("hierarchy_city", "cm_a", f"{CH}/hierarchy/", 200),
        ("hierarchy_finance", "finance_a", f"{CH}/hierarchy/", 200),
        ("hierarchy_other_city", "cm_b", f"{CH}/hierarchy/", 404),
        ("hierarchy_cs_agent", "cs_agent", f"{CH}/hierarchy/", 403),
        ("outlet_new_city", "cm_a", f"{CH}/outlets/new/", 200),
        ("outlet_new_other_city", "cm_b", f"{CH}/outlets/new/", 404),
        ("outlet_new_auditor", "auditor_a", f"{CH}/outlets/new/", 403),
        ("outlet_edit_city", "cm_a", f"{OU}/edit/", 200),
        ("outlet_edit_other_city", "cm_b", f"{OU}/edit/", 404),
        ("outlet_edit_account_manager", "account_manager", f"{OU}/edit/", 403),
        ("targets_city", "cm_a", "/incentives/targets/", 200),
        ("targets_auditor", "auditor_a", "/incentives/targets/", 200),
        ("targets_other_city_channel", "cm_b", f"/incentives/targets/?channel={A}", 404),
        ("targets_cs_agent", "cs_agent", "/incentives/targets/", 403),
        ("targets_finance", "finance_a", "/incentives/targets/", 403),
        ("target_set_city", "cm_a", "/incentives/targets/set/", 200),
        ("target_set_other_city_channel", "cm_b", f"/incentives/targets/set/?channel={A}", 404),
        ("target_set_auditor", "auditor_a", "/incentives/targets/set/", 403),
    ],
)
def test_page_access(client, world, _case, who, path, status):
    client.force_login(getattr(world, who))

    response = client.get(path)

    assert response.status_code == status


@pytest.mark.parametrize(
    ("_case", "who", "path", "data", "status"),
    [
        ("create_other_city_org", "cm_b", "/incentives/channels/new/", "create", 400),
        ("create_auditor", "auditor_a", "/incentives/channels/new/", "create", 403),
        ("create_cs_agent", "cs_agent", "/incentives/channels/new/", "create", 403),
        ("edit_other_city", "cm_b", f"{CH}/edit/", "edit", 404),
        ("edit_auditor", "auditor_a", f"{CH}/edit/", "edit", 403),
        ("deactivate_other_city", "cm_b", f"{CH}/deactivate/", {}, 404),
        ("deactivate_auditor", "auditor_a", f"{CH}/deactivate/", {}, 403),
        ("deactivate_account_manager", "account_manager", f"{CH}/deactivate/", {}, 403),
        ("outlet_new_other_city", "cm_b", f"{CH}/outlets/new/", "outlet", 404),
        ("outlet_new_cs_agent", "cs_agent", f"{CH}/outlets/new/", "outlet", 403),
        ("outlet_deactivate_other_city", "cm_b", f"{OU}/deactivate/", {}, 404),
        ("outlet_deactivate_auditor", "auditor_a", f"{OU}/deactivate/", {}, 403),
        ("outlet_edit_other_city", "cm_b", f"{OU}/edit/", "outlet", 404),
        ("target_other_city_channel", "cm_b", "/incentives/targets/set/", "target", 400),
        ("target_auditor", "auditor_a", "/incentives/targets/set/", "target", 403),
    ],
)  # fmt: skip
def test_refused_posts_change_nothing(client, world, _case, who, path, data, status):
    bodies = {
        "create": {
            "code": "NEW-1",
            "name": "New",
            "kind": "own_hall",
            "org": world.county_a.pk,
            "rebate_share_percent": "100",
            "monthly_quota": "0",
        },
        "edit": {
            "name": "Taken",
            "kind": "own_hall",
            "org": world.county_a.pk,
            "rebate_share_percent": "100",
            "monthly_quota": "0",
        },
        "outlet": {"code": "O-NEW", "name": "x"},
        "target": {"month": "2026-03", "channel": A, "target": "5"},
    }
    client.force_login(getattr(world, who))
    before = _state()

    response = client.post(path, bodies.get(data, data) if isinstance(data, str) else data)

    assert response.status_code == status
    assert _state() == before


# ---- Pages: behaviour ---------------------------------------------------------------------


def test_create_a_channel_on_the_page(en, world):
    en.force_login(world.cm_a)

    response = en.post(
        "/incentives/channels/new/",
        {
            "code": "GZ-TH-STORE",
            "name": "Store",
            "kind": "handset_store",
            "org": world.county_a.pk,
            "partner": world.partner_a.pk,
            "contact_phone": "020-1234567",
            "rebate_share_percent": "70",
            "monthly_quota": "12",
        },
    )

    assert response.status_code == 302
    assert response["Location"] == "/incentives/channels/GZ-TH-STORE/"
    channel = Channel.objects.get(code="GZ-TH-STORE")
    assert (channel.partner, channel.monthly_quota) == (world.partner_a, 12)
    page = en.get(response["Location"]).content.decode()
    assert f'href="/partners/{world.partner_a.code}/"' in page


def test_a_refused_create_shows_the_reason_on_the_field(en, world):
    en.force_login(world.cm_a)
    before = _state()

    response = en.post(
        "/incentives/channels/new/",
        {
            "code": "gz-th-hall",
            "name": "Dup",
            "kind": "own_hall",
            "org": world.county_a.pk,
            "rebate_share_percent": "100",
            "monthly_quota": "0",
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors["code"] == ["A channel with the code gz-th-hall exists."]
    assert 'data-testid="field-error-code"' in response.content.decode()
    assert _state() == before


def test_the_org_choices_are_the_cities_and_counties_of_the_scope(client, world):
    client.force_login(world.cm_a)

    form = client.get("/incentives/channels/new/").context["form"]

    assert [org.code for org in form.fields["org"].queryset] == ["GZ", "GZ-TH"]
    assert [p.code for p in form.fields["partner"].queryset] == [world.partner_a.code]


def test_deactivation_refused_with_the_count_of_active_promoters(en, world):
    factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
    factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
    en.force_login(world.cm_a)
    before = _state()

    response = en.post(f"{CH}/deactivate/", follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "The channel still has 2 active promoters; move or disable them first."
    ]
    assert _state() == before


def test_deactivate_and_activate_on_the_page(en, world):
    en.force_login(world.cm_a)

    en.post(f"{CH}/deactivate/")
    assert Channel.objects.get(code=A).is_active is False
    assert Outlet.objects.get(code=OUT).is_active is False

    en.post(f"{CH}/activate/")
    en.post(f"{OU}/activate/")
    assert (Channel.objects.get(code=A).is_active, Outlet.objects.get(code=OUT).is_active) == (
        True,
        True,
    )


def test_outlet_add_and_edit_on_the_page(en, world):
    en.force_login(world.cm_county)

    created = en.post(f"{CH}/outlets/new/", {"code": "O-2", "name": "Two"})
    edited = en.post("/incentives/outlets/O-2/edit/", {"name": "Second", "address": "B2"})

    assert (created.status_code, edited.status_code) == (302, 302)
    assert Outlet.objects.filter(code="O-2").values_list(
        "name", "address", "channel__code"
    ).get() == (
        "Second",
        "B2",
        A,
    )


def test_hierarchy_lists_staff_by_outlet(client, world):
    factories.promoter(
        org=world.city_a,
        channel=world.channel_a,
        outlet=world.outlet_a,
        with_user=False,
        name="Clerk Zhang",
    )
    factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False, name="Free Li")
    factories.promoter(org=world.city_a, channel=world.channel_b, with_user=False, name="SZ Wang")

    client.force_login(world.cm_county)
    page = client.get(f"{CH}/hierarchy/").content.decode()

    assert page.count('data-testid="hierarchy-staff"') == 2
    assert "Clerk Zhang" in page and "Free Li" in page and "SZ Wang" not in page


def test_channel_list_filters_and_htmx(client, world):
    client.force_login(world.cm_a)

    filtered = client.get("/incentives/channels/", {"org": "GZ-TH", "kind": "own_hall"})
    partial = client.get("/incentives/channels/", HTTP_HX_REQUEST="true")
    other_city = client.get("/incentives/channels/", {"org": "SZ"})

    assert [c.code for c in filtered.context["page"]] == [A]
    assert "<html" not in partial.content.decode()
    assert partial.content.decode().count('data-testid="channel-row"') == 2
    assert list(other_city.context["page"]) == []


def test_list_shows_import_links_only_to_who_may_import(client, world):
    client.force_login(world.cm_a)
    assert (
        'data-testid="import-incentive_channels"'
        in client.get("/incentives/channels/").content.decode()
    )

    client.force_login(world.auditor_a)
    assert (
        'data-testid="import-incentive_channels"'
        not in client.get("/incentives/channels/").content.decode()
    )


def _queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries)


def test_channel_list_runs_a_constant_number_of_queries(client, world):
    client.force_login(world.cm_a)
    _queries(client, "/incentives/channels/")  # warm the per-process caches
    few = _queries(client, "/incentives/channels/")
    for n in range(30):
        channel = factories.channel(org=world.county_a, partner=world.partner_a)
        factories.outlet(channel=channel)
        factories.promoter(org=world.city_a, channel=channel, with_user=False)

    many = _queries(client, "/incentives/channels/")

    assert many == few
    assert few <= 15


def test_target_list_runs_a_constant_number_of_queries(client, world):
    client.force_login(world.cm_a)
    target_set(actor=world.cm_a, month=date(2026, 1, 1), channel=world.channel_a, target=1)
    _queries(client, "/incentives/targets/")
    few = _queries(client, "/incentives/targets/")
    for month in range(2, 13):
        target_set(
            actor=world.cm_a, month=date(2026, month, 1), channel=world.channel_a, target=month
        )
        target_set(
            actor=world.cm_a,
            month=date(2026, month, 1),
            channel=world.channel_city_a,
            product=world.product,
            target=month,
        )

    assert _queries(client, "/incentives/targets/") == few


def test_set_a_target_on_the_page(en, world):
    en.force_login(world.cm_a)

    response = en.post(
        "/incentives/targets/set/",
        {"month": "2026-03", "channel": A, "product": "CRBT", "target": "12"},
    )

    assert response.status_code == 302
    assert response["Location"] == f"/incentives/targets/?channel={A}"
    target = DevelopmentTarget.objects.get()
    assert (target.month, target.channel.code, target.product.code, target.target) == (
        date(2026, 3, 1),
        A,
        "CRBT",
        12,
    )
    listed = en.get(response["Location"])
    assert [t.target for t in listed.context["page"]] == [12]


def test_nav_entries(client, world):
    client.force_login(world.cm_a)
    links = {link.key: link for link in client.get("/incentives/channels/").context["nav_items"]}
    assert {"incentives_channels", "incentives_products", "incentives_targets"} <= set(links)
    assert links["incentives_channels"].url == "/incentives/channels/"

    client.force_login(world.account_manager)
    keys = {link.key for link in client.get("/").context["nav_items"]}
    assert not {"incentives_channels", "incentives_products", "incentives_targets"} & keys

    client.force_login(world.finance_a)
    keys = {link.key for link in client.get("/").context["nav_items"]}
    assert "incentives_channels" in keys
    assert "incentives_targets" not in keys


# ---- API ----------------------------------------------------------------------------------

API = "/api/v1/incentives"
API_GETS = ["/channels", f"/channels/{A}", f"/channels/{A}/outlets"]


@pytest.mark.parametrize("path", API_GETS)
def test_api_needs_credentials(en, world, path):
    response = en.get(API + path)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/channels"),
        ("patch", f"/channels/{A}"),
        ("post", f"/channels/{A}/deactivate"),
    ],
)
def test_api_writes_need_credentials(en, world, method, path):
    before = _state()
    response = getattr(en, method)(API + path, {}, content_type="application/json")
    assert response.status_code == 401
    assert _state() == before


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        ("list_city", "cm_a", "/channels", 200),
        ("list_auditor", "auditor_a", "/channels", 200),
        ("list_cs_agent", "cs_agent", "/channels", 403),
        ("list_account_manager", "account_manager", "/channels", 403),
        ("detail_city", "cm_a", f"/channels/{A}", 200),
        ("detail_other_city", "cm_b", f"/channels/{A}", 404),
        ("detail_cs_agent", "cs_agent", f"/channels/{A}", 403),
        ("outlets_city", "cm_county", f"/channels/{A}/outlets", 200),
        ("outlets_other_city", "cm_b", f"/channels/{A}/outlets", 404),
        ("outlets_account_manager", "account_manager", f"/channels/{A}/outlets", 403),
    ],
)
def test_api_get_access(en, world, _case, who, path, status):
    en.force_login(getattr(world, who))

    response = en.get(API + path)

    assert response.status_code == status, response.content


def test_api_list_is_scoped_paginated_and_filtered(en, world):
    en.force_login(world.cm_a)

    response = en.get(f"{API}/channels", {"limit": 1})
    filtered = en.get(f"{API}/channels", {"org": "GZ-TH", "active": "true"})
    other = en.get(f"{API}/channels", {"org": "SZ"})

    assert response["X-Total-Count"] == "2"
    assert [c["code"] for c in response.json()] == ["GZ-ONLINE"]
    assert [c["code"] for c in filtered.json()] == [A]
    assert filtered.json()[0]["org"] == {"code": "GZ-TH", "name": "Tianhe"}
    assert other.json() == []


def test_api_detail_and_outlets(en, world):
    factories.promoter(
        org=world.city_a, channel=world.channel_a, outlet=world.outlet_a, with_user=False
    )
    en.force_login(world.cm_a)

    detail = en.get(f"{API}/channels/{A}").json()
    outlets = en.get(f"{API}/channels/{A}/outlets").json()

    assert (detail["code"], detail["outlet_count"], detail["promoter_count"]) == (A, 1, 1)
    assert detail["rebate_share_percent"] == "100.00"
    assert outlets == [
        {
            "code": OUT,
            "name": "Tianhe hall counter",
            "address": "",
            "is_active": True,
            "promoter_count": 1,
        }
    ]


def test_api_create_and_patch(en, world):
    en.force_login(world.cm_a)

    created = en.post(
        f"{API}/channels",
        {
            "code": "GZ-API",
            "name": "From the API",
            "kind": "online",
            "org": "GZ",
            "partner": world.partner_a.code,
            "rebate_share_percent": "55.5",
        },
        content_type="application/json",
    )
    patched = en.patch(
        f"{API}/channels/GZ-API",
        {"monthly_quota": 40, "partner": None},
        content_type="application/json",
    )

    assert created.status_code == 201, created.content
    assert created.json()["partner"]["code"] == world.partner_a.code
    assert created.json()["rebate_share_percent"] == "55.50"
    assert patched.status_code == 200, patched.content
    assert (patched.json()["monthly_quota"], patched.json()["partner"]) == (40, None)
    assert list(
        AuditEvent.objects.filter(target_repr__startswith="GZ-API")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["channel.created", "channel.updated"]


@pytest.mark.parametrize(
    ("_case", "who", "method", "path", "body", "status", "code"),
    [
        ("create_other_city_org", "cm_b", "post", "/channels", {"org": "GZ-TH"}, 400,
         "channel_org_out_of_scope"),
        ("create_duplicate", "cm_a", "post", "/channels", {"code": A}, 409,
         "channel_code_taken"),
        ("create_bad_share", "cm_a", "post", "/channels", {"rebate_share_percent": "101"}, 400,
         "invalid_share"),
        ("create_auditor", "auditor_a", "post", "/channels", {}, 403, "forbidden"),
        ("create_cs_agent", "cs_agent", "post", "/channels", {}, 403, "forbidden"),
        ("patch_other_city", "cm_b", "patch", f"/channels/{A}", {"name": "x"}, 404, "not_found"),
        ("patch_auditor", "auditor_a", "patch", f"/channels/{A}", {"name": "x"}, 403, "forbidden"),
        ("patch_bad_partner", "cm_a", "patch", f"/channels/{A}", {"partner": "B"}, 400,
         "channel_partner_not_active"),
        ("deactivate_other_city", "cm_b", "post", f"/channels/{A}/deactivate", None, 404,
         "not_found"),
        ("deactivate_with_promoters", "cm_a", "post", f"/channels/{A}/deactivate", None, 409,
         "active_promoters"),
    ],
)  # fmt: skip
def test_api_refused_writes_change_nothing(en, world, _case, who, method, path, body, status, code):
    factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
    if body is not None and method == "post" and path == "/channels":
        body = {"code": "NEW-1", "name": "N", "kind": "own_hall", "org": "GZ", **body}
    if body and body.get("partner") == "B":
        body["partner"] = world.partner_b.code
    en.force_login(getattr(world, who))
    before = _state()

    response = getattr(en, method)(API + path, body or {}, content_type="application/json")

    assert response.status_code == status, response.content
    assert response.json()["code"] == code
    assert _state() == before


def test_api_deactivation_says_how_many_promoters(en, world):
    for _ in range(3):
        factories.promoter(org=world.city_a, channel=world.channel_a, with_user=False)
    en.force_login(world.cm_a)

    response = en.post(f"{API}/channels/{A}/deactivate", content_type="application/json")

    assert response.status_code == 409
    assert response.json() == {
        "code": "active_promoters",
        "message": "The channel still has 3 active promoters; move or disable them first.",
        "details": {"count": 3},
    }


def test_api_token_scopes(en, world):
    _token, read_only = api_token_create(
        actor=world.cm_a, user=world.cm_a, label="crm", scopes=["incentives.read"]
    )
    headers = {"HTTP_AUTHORIZATION": f"Bearer {read_only}"}
    before = _state()

    read = en.get(f"{API}/channels/{A}", **headers)
    write = en.patch(
        f"{API}/channels/{A}", {"name": "x"}, content_type="application/json", **headers
    )

    assert read.status_code == 200
    assert (write.status_code, write.json()["code"]) == (403, "token_scope")
    assert _state() == before


def test_api_list_runs_a_constant_number_of_queries(en, world):
    en.force_login(world.cm_a)
    en.get(f"{API}/channels")
    with CaptureQueriesContext(connection) as few:
        en.get(f"{API}/channels")
    for _ in range(20):
        channel = factories.channel(org=world.county_a, partner=world.partner_a)
        factories.outlet(channel=channel)
    with CaptureQueriesContext(connection) as many:
        response = en.get(f"{API}/channels")

    assert len(response.json()) == 22
    assert len(many) == len(few)
