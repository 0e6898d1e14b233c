"""A NUL character in a query string is refused before any view or database sees it."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("_case", "url", "content_type"),
    [
        ("api value", "/api/v1/incentives/channels?q=a%00b", "application/json"),
        ("api key", "/api/v1/incentives/channels?%00=1", "application/json"),
        ("page value", "/incentives/channels/?q=%00", "text/plain; charset=utf-8"),
    ],
)
def test_nul_in_the_query_is_a_400(client, orgs, make_user, settings, _case, url, content_type):
    settings.LANGUAGE_CODE = "en"
    client.force_login(make_user(org=orgs.city_a, roles=("channel_manager",)))

    response = client.get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == content_type
    if content_type == "application/json":
        assert response.json()["code"] == "invalid_characters"


def test_a_query_without_nul_passes(client, orgs, make_user):
    client.force_login(make_user(org=orgs.city_a, roles=("channel_manager",)))

    assert client.get("/api/v1/incentives/channels?q=abc").status_code == 200


def test_the_tmf_api_keeps_its_own_checks(client, orgs, make_user):
    response = client.get("/tmf-api/party/v5/organization?name=%00")

    assert response.status_code != 400 or "invalid_characters" not in response.content.decode()
