"""TMF event hubs (issue 3 item 13): register / unregister a listener; events delivered
by Celery to the callback with an HMAC signature, retried, and only to listeners whose
owner may see the resource."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prm.partners.models import Agreement, Partner
from prm.tmf.models import EventDelivery, HubSubscription, PartyRole
from prm.tmf.tasks import retry_delay

pytestmark = pytest.mark.django_db

ROLES = "/tmf-api/partyRoleManagement/v4"
PARTY = "/tmf-api/party/v4"
AGREEMENTS = "/tmf-api/agreementManagement/v4"


class Receiver:
    """A listener on 127.0.0.1: records each POST and answers the next status in line
    (the last one repeats)."""

    def __init__(self, statuses=(201,)):
        self.statuses = list(statuses)
        self.received: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {key.lower(): value for key, value in self.headers.items()}
                receiver.received.append((headers, body))
                status = (
                    receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/listener"

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    created = []

    def make(statuses=(201,)) -> Receiver:
        found = Receiver(statuses)
        created.append(found)
        return found

    yield make
    for found in created:
        found.close()


def subscribe(api, base, callback, query=None) -> dict:
    response = api.post(f"{base}/hub", {"callback": callback, "query": query})
    assert response.status_code == 201, response.content
    return response.json()


def test_register_and_unregister(api, orgs, make_user, token_client):
    created = subscribe(api, ROLES, "https://crm.example.com/events", "eventType=A")

    subscription = HubSubscription.objects.get()
    assert created == {
        "id": str(subscription.pk),
        "callback": "https://crm.example.com/events",
        "query": "eventType=A",
        "secret": subscription.secret,
        "@type": "EventSubscription",
    }
    assert len(created["secret"]) == 64
    other = token_client(make_user(org=orgs.city_a, roles=("partner_manager",)))
    assert other.delete(f"{ROLES}/hub/{created['id']}").status_code == 404
    assert api.delete(f"{PARTY}/hub/{created['id']}").status_code == 404  # another API's hub
    assert api.delete(f"{ROLES}/hub/{created['id']}").status_code == 204
    assert api.delete(f"{ROLES}/hub/{created['id']}").status_code == 404
    assert HubSubscription.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [{"callback": "ftp://x/y"}, {"callback": "not a url"}, {"query": "x"}, {"callback": ""}],
    ids=["ftp", "not_a_url", "no_callback", "empty"],
)
def test_bad_registration_is_a_400(api, payload):
    response = api.post(f"{ROLES}/hub", payload)

    assert response.status_code == 400
    assert response.json()["@type"] == "Error"
    assert HubSubscription.objects.count() == 0


def test_registration_needs_the_read_permission(client, orgs, make_user, token_client):
    no_permission = token_client(make_user(org=orgs.city_a, roles=("account_manager",)))

    assert client.post(f"{ROLES}/hub", {"callback": "https://x.example/"}).status_code == 401
    assert (
        no_permission.post(f"{AGREEMENTS}/hub", {"callback": "https://x.example/"}).status_code
        == 403
    )
    assert HubSubscription.objects.count() == 0


def test_a_signed_event_reaches_the_callback(api, receiver, django_capture_on_commit_callbacks):
    listener = receiver()
    secret = subscribe(api, ROLES, listener.url)["secret"]

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(f"{ROLES}/partyRole", {"name": "Reseller", "status": "active"})

    assert created.status_code == 201
    assert len(listener.received) == 1
    headers, raw = listener.received[0]
    expected = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["x-prm-signature"] == f"sha256={expected}"
    assert headers["content-type"] == "application/json"
    event = json.loads(raw)
    assert set(event) == {"eventId", "eventTime", "eventType", "event"}
    assert event["eventType"] == "PartyRoleCreateEvent"
    assert event["event"]["partyRole"]["id"] == created.json()["id"]
    assert event["event"]["partyRole"]["name"] == "Reseller"
    delivery = EventDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert str(delivery.event_id) == event["eventId"]


def test_state_change_attribute_change_and_delete_events(
    api, receiver, django_capture_on_commit_callbacks
):
    listener = receiver()
    subscribe(api, ROLES, listener.url)
    role_id = api.post(f"{ROLES}/partyRole", {"name": "R", "status": "active"}).json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"{ROLES}/partyRole/{role_id}", {"status": "suspended"})
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"{ROLES}/partyRole/{role_id}", {"name": "Renamed"})
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"{ROLES}/partyRole/{role_id}", {"name": "Renamed"})  # no change, no event
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"{ROLES}/partyRole/{role_id}")

    assert [(e["eventType"], e["event"]["partyRole"].get("status")) for e in listener.events()] == [
        ("PartyRoleStateChangeEvent", "suspended"),
        ("PartyRoleAttributeValueChangeEvent", "suspended"),
        ("PartyRoleDeleteEvent", "suspended"),
    ]


def test_a_failed_attempt_is_retried(api, receiver, django_capture_on_commit_callbacks):
    listener = receiver(statuses=(500, 200))
    subscribe(api, ROLES, listener.url)

    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{ROLES}/partyRole", {"name": "Reseller"})

    assert len(listener.received) == 2
    assert listener.received[0][1] == listener.received[1][1]
    delivery = EventDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 2, "")


def test_delivery_fails_after_the_last_attempt(
    api, receiver, settings, django_capture_on_commit_callbacks
):
    settings.PRM_TMF_DELIVERY_ATTEMPTS = 3
    listener = receiver(statuses=(503,))
    subscribe(api, ROLES, listener.url)

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(f"{ROLES}/partyRole", {"name": "Reseller"})

    assert created.status_code == 201  # a dead listener does not fail the change
    assert len(listener.received) == 3
    delivery = EventDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "HTTP 503")


def test_an_unreachable_callback_fails_without_raising(
    api, receiver, settings, django_capture_on_commit_callbacks
):
    settings.PRM_TMF_DELIVERY_ATTEMPTS = 2
    listener = receiver()
    url = listener.url
    listener.close()
    subscribe(api, ROLES, url)

    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(f"{ROLES}/partyRole", {"name": "Reseller"})

    assert created.status_code == 201
    delivery = EventDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert "ConnectionRefusedError" in delivery.last_error or "URLError" in delivery.last_error


@pytest.mark.parametrize(
    ("retries", "seconds"),
    [(0, 10), (1, 20), (3, 80), (8, 2560), (9, 3600), (20, 3600)],
    ids=["first", "second", "fourth", "ninth", "capped", "far"],
)
def test_retry_backoff_is_exponential_and_capped(retries, seconds):
    assert retry_delay(retries) == seconds


def test_a_rolled_back_change_sends_nothing(api, receiver, django_capture_on_commit_callbacks):
    listener = receiver()
    subscribe(api, ROLES, listener.url)

    with django_capture_on_commit_callbacks(execute=True):
        refused = api.post(f"{ROLES}/partyRole", {"roleType": {}})

    assert refused.status_code == 400
    assert listener.received == []
    assert EventDelivery.objects.count() == 0


def test_query_event_type_limits_the_events(api, receiver, django_capture_on_commit_callbacks):
    listener = receiver()
    subscribe(api, ROLES, listener.url, query="eventType=PartyRoleDeleteEvent")
    role_id = None

    with django_capture_on_commit_callbacks(execute=True):
        role_id = api.post(f"{ROLES}/partyRole", {"name": "R"}).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        api.delete(f"{ROLES}/partyRole/{role_id}")

    assert [event["eventType"] for event in listener.events()] == ["PartyRoleDeleteEvent"]


def test_listeners_outside_the_scope_get_nothing(
    api, orgs, make_user, token_client, receiver, django_capture_on_commit_callbacks
):
    mine, theirs = receiver(), receiver()
    subscribe(api, ROLES, mine.url)
    shenzhen = token_client(make_user(org=orgs.city_b, roles=("partner_manager",)))
    subscribe(shenzhen, ROLES, theirs.url)

    with django_capture_on_commit_callbacks(execute=True):
        api.post(f"{ROLES}/partyRole", {"name": "Guangzhou only"})

    assert len(mine.received) == 1
    assert theirs.received == []


def test_organization_and_agreement_events(api, orgs, receiver, django_capture_on_commit_callbacks):
    from prm.partners.tests import factories

    organizations, agreements, roles = receiver(), receiver(), receiver()
    subscribe(api, PARTY, organizations.url)
    subscribe(api, AGREEMENTS, agreements.url)
    subscribe(api, ROLES, roles.url)

    with django_capture_on_commit_callbacks(execute=True):
        partner = factories.partner(managing_org=orgs.county_a, status=Partner.Status.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=True):
        partner.status, partner.code = Partner.Status.ACTIVE, "P-2026-000777"
        partner.save()
    with django_capture_on_commit_callbacks(execute=True):
        created = Agreement.objects.create(
            partner=partner,
            number="AG-2026-000777",
            title="SMS",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 12, 31),
            business_scope="SMS",
            settlement_model="fixed_fee",
            fixed_fee=Decimal("10.00"),
            created_by=partner.admin_user,
        )
    with django_capture_on_commit_callbacks(execute=True):
        created.status = Agreement.Status.COUNTERSIGNING
        created.save()
        created.status = Agreement.Status.DRAFT
        created.save()
    with django_capture_on_commit_callbacks(execute=True):
        created.delete()
    with django_capture_on_commit_callbacks(execute=True):
        partner.status = Partner.Status.EXITING
        partner.save(update_fields=["status", "updated_at"])
    with django_capture_on_commit_callbacks(execute=True):
        partner.contact_phone = "13900139000"
        partner.save(update_fields=["contact_phone", "updated_at"])  # not a state change

    assert [
        (e["eventType"], e["event"]["organization"]["id"], e["event"]["organization"]["status"])
        for e in organizations.events()
    ] == [
        ("OrganizationCreateEvent", "P-2026-000777", "validated"),
        ("OrganizationStateChangeEvent", "P-2026-000777", "validated"),
    ]
    assert organizations.events()[1]["event"]["organization"]["partyCharacteristic"][0] == {
        "name": "partnerStatus",
        "value": "exiting",
    }
    assert [(e["eventType"], e["event"]["agreement"]["status"]) for e in agreements.events()] == [
        ("AgreementCreateEvent", "draft"),
        ("AgreementStateChangeEvent", "countersigning"),
        ("AgreementStateChangeEvent", "draft"),
        ("AgreementDeleteEvent", "draft"),
    ]
    assert [(e["eventType"], e["event"]["partyRole"]["status"]) for e in roles.events()] == [
        ("PartyRoleCreateEvent", "active"),
        ("PartyRoleStateChangeEvent", "exiting"),
    ]
    assert PartyRole.objects.get(partner=partner).status == "exiting"
