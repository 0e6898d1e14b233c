"""The billing order interface (R4: the order goes to billing for opening): the file
spool, the HTTP adapter against a real local HTTP server, the fake, and the hand-over of
confirmed recommendations with its retry task."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from prm.incentives.adapters.billing import (
    BillingError,
    FakeBillingGateway,
    FileBillingGateway,
    HttpBillingGateway,
    billing_fake_orders,
    billing_fake_refuse,
    billing_fake_reset,
    billing_gateway,
)
from prm.incentives.models import Recommendation
from prm.incentives.services.recommendations import (
    recommendation_order_send,
    recommendation_orders_retry,
)
from prm.incentives.tasks_recommendations import (
    recommendation_orders_retry as recommendation_orders_retry_task,
)
from prm.incentives.tests import factories
from prm.incentives.tests.test_recommendations import SUBSCRIBER, World, build_world


@pytest.fixture(autouse=True)
def _fake_billing():
    billing_fake_reset()
    yield
    billing_fake_reset()


# ---- a real HTTP server standing in for billing ---------------------------------------------


class BillingServer:
    """A local HTTP server; ``answer`` is ``(status, body bytes)`` or a delay in seconds
    followed by an answer; ``requests`` what it received."""

    def __init__(self) -> None:
        self.answer: tuple[int, bytes] = (200, b'{"ok": true, "order_id": "B-1"}')
        self.delay = 0.0
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", "0"))
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": {key.lower(): value for key, value in self.headers.items()},
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                if server.delay:
                    time.sleep(server.delay)
                status, body = server.answer
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/orders"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def _billing_server_running():
    server = BillingServer()
    yield server
    server.close()


@pytest.fixture
def billing_server(_billing_server_running):
    """The module's server, with the default answer and no requests yet."""
    server = _billing_server_running
    server.answer = (200, b'{"ok": true, "order_id": "B-1"}')
    server.delay = 0.0
    server.requests.clear()
    return server


def _order(gateway) -> str:
    return gateway.order_open(msisdn=SUBSCRIBER, product_code="CRBT", reference="REC-2026-000001")


def test_http_order_is_posted_with_the_bearer_token(billing_server):
    gateway = HttpBillingGateway(url=billing_server.url, token="t0k", timeout=5)

    assert _order(gateway) == "B-1"

    assert len(billing_server.requests) == 1
    request = billing_server.requests[0]
    assert request["path"] == "/orders"
    assert request["headers"]["authorization"] == "Bearer t0k"
    assert request["headers"]["content-type"].startswith("application/json")
    assert request["body"] == {
        "msisdn": SUBSCRIBER,
        "product_code": "CRBT",
        "reference": "REC-2026-000001",
    }


def test_http_without_token_sends_no_authorization(billing_server):
    _order(HttpBillingGateway(url=billing_server.url, token="", timeout=5))

    assert "authorization" not in billing_server.requests[0]["headers"]


@pytest.mark.parametrize(
    ("_case", "answer", "message"),
    [
        ("ok false", (200, b'{"ok": false, "message": "number suspended"}'), "number suspended"),
        ("ok false no message", (200, b'{"ok": false}'), "billing refused the order"),
        ("ok missing", (200, b'{"order_id": "B-2"}'), "billing refused the order"),
        ("no order id", (200, b'{"ok": true}'), "billing answer has no order id"),
        (
            "empty order id",
            (200, b'{"ok": true, "order_id": ""}'),
            "billing answer has no order id",
        ),
        ("not JSON", (200, b"<html>"), "billing answer is not JSON"),
        ("JSON list", (200, b"[1]"), "billing answer is not a JSON object"),
        ("500 with message", (500, b'{"ok": false, "message": "BOSS down"}'), "BOSS down"),
        ("503 with text", (503, b"maintenance"), "billing answered: maintenance"),
        ("400 empty", (400, b""), "billing answered HTTP 400"),
        ("redirect-free 204", (204, b""), "billing answer is not JSON"),
    ],
)
def test_http_refusals_raise_billing_error(billing_server, _case, answer, message):
    billing_server.answer = answer

    with pytest.raises(BillingError) as caught:
        _order(HttpBillingGateway(url=billing_server.url, timeout=5))

    assert str(caught.value) == message


def test_http_timeout_raises_billing_error(billing_server):
    billing_server.delay = 1.0

    with pytest.raises(BillingError) as caught:
        _order(HttpBillingGateway(url=billing_server.url, timeout=0.2))

    assert str(caught.value).startswith("billing not reachable")


def test_http_unreachable_raises_billing_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the call: nothing listens

    with pytest.raises(BillingError) as caught:
        _order(HttpBillingGateway(url=f"http://127.0.0.1:{port}/orders", timeout=2))

    assert str(caught.value).startswith("billing not reachable")


@pytest.mark.parametrize("url", ["", "ftp://billing/orders", "file:///etc/passwd"])
def test_http_needs_an_http_url(url):
    with pytest.raises(BillingError) as caught:
        _order(HttpBillingGateway(url=url))

    assert str(caught.value) == "PRM_BILLING_HTTP_URL is not set to an http(s) URL."


# ---- the file spool ----------------------------------------------------------------------------


def test_file_spool_appends_one_line_per_order(tmp_path):
    spool = tmp_path / "spool" / "orders.jsonl"
    gateway = FileBillingGateway(spool)

    first = _order(gateway)
    second = gateway.order_open(msisdn="13900139001", product_code="WEEKLY", reference="REC-2")

    assert (first, second) == ("F-REC-2026-000001", "F-REC-2")
    lines = [json.loads(line) for line in spool.read_text(encoding="utf-8").splitlines()]
    assert [
        (line["order_id"], line["reference"], line["msisdn"], line["product_code"])
        for line in lines
    ] == [
        ("F-REC-2026-000001", "REC-2026-000001", SUBSCRIBER, "CRBT"),
        ("F-REC-2", "REC-2", "13900139001", "WEEKLY"),
    ]
    assert all(line["at"] for line in lines)


def test_file_spool_that_cannot_be_written_raises(tmp_path):
    directory = tmp_path / "is-a-directory"
    directory.mkdir()

    with pytest.raises(BillingError) as caught:
        _order(FileBillingGateway(directory))

    assert "cannot write the billing spool" in str(caught.value)


# ---- the fake and the choice of adapter ----------------------------------------------------------


def test_fake_keeps_orders_and_refuses_when_told():
    gateway = FakeBillingGateway()
    gateway.refusals["13900139001"] = "no such subscriber"

    assert _order(gateway) == "FAKE-1"
    with pytest.raises(BillingError, match="no such subscriber"):
        gateway.order_open(msisdn="13900139001", product_code="CRBT", reference="REC-2")
    assert [order["reference"] for order in gateway.orders] == ["REC-2026-000001"]


@pytest.mark.parametrize(
    ("backend", "kind"),
    [("file", FileBillingGateway), ("http", HttpBillingGateway), ("fake", FakeBillingGateway)],
)
def test_backend_setting_picks_the_adapter(settings, backend, kind):
    settings.PRM_BILLING_BACKEND = backend

    assert isinstance(billing_gateway(), kind)


def test_unknown_backend_is_a_configuration_error(settings):
    settings.PRM_BILLING_BACKEND = "carrier-pigeon"

    with pytest.raises(ImproperlyConfigured):
        billing_gateway()


# ---- hand-over of confirmed recommendations ----------------------------------------------------


@pytest.fixture
def world(orgs, make_user) -> World:
    return build_world(orgs, make_user)


def confirmed(world: World, *, msisdn: str = SUBSCRIBER, **extra) -> Recommendation:
    return factories.recommendation(
        promoter=world.promoter_a,
        product=world.crbt,
        msisdn=msisdn,
        status=extra.pop("status", Recommendation.Status.CONFIRMED),
        **extra,
    )


@pytest.mark.django_db
def test_confirmed_recommendation_is_ordered_through_http(world, settings, billing_server):
    settings.PRM_BILLING_BACKEND = "http"
    settings.PRM_BILLING_HTTP_URL = billing_server.url
    settings.PRM_BILLING_HTTP_TOKEN = "t0k"
    billing_server.answer = (200, b'{"ok": true, "order_id": "BOSS-778"}')
    recommendation = confirmed(world)

    recommendation_order_send(recommendation_id=recommendation.pk)

    recommendation.refresh_from_db()
    assert recommendation.status == Recommendation.Status.ORDERED
    assert recommendation.billing_order_id == "BOSS-778"
    assert billing_server.requests[0]["body"]["reference"] == recommendation.number


@pytest.mark.django_db
def test_http_refusal_is_kept_on_the_recommendation(world, settings, billing_server):
    settings.PRM_BILLING_BACKEND = "http"
    settings.PRM_BILLING_HTTP_URL = billing_server.url
    billing_server.answer = (200, b'{"ok": false, "message": "product not on sale"}')
    recommendation = confirmed(world)

    recommendation_order_send(recommendation_id=recommendation.pk)

    recommendation.refresh_from_db()
    assert recommendation.status == Recommendation.Status.OPEN_FAILED
    assert recommendation.billing_message == "product not on sale"


@pytest.mark.django_db
def test_file_backend_spools_the_order(world, settings, tmp_path):
    settings.PRM_BILLING_BACKEND = "file"
    settings.PRM_BILLING_SPOOL_PATH = str(tmp_path / "orders.jsonl")
    recommendation = confirmed(world)

    recommendation_order_send(recommendation_id=recommendation.pk)

    recommendation.refresh_from_db()
    assert recommendation.billing_order_id == f"F-{recommendation.number}"
    assert json.loads((tmp_path / "orders.jsonl").read_text())["msisdn"] == SUBSCRIBER


@pytest.mark.django_db
@pytest.mark.parametrize(
    "status",
    [
        Recommendation.Status.AWAITING_CONFIRMATION,
        Recommendation.Status.DECLINED,
        Recommendation.Status.ORDERED,
    ],
)
def test_only_confirmed_or_failed_recommendations_are_ordered(world, status):
    recommendation = confirmed(world, status=status, billing_order_id="")

    recommendation_order_send(recommendation_id=recommendation.pk)

    recommendation.refresh_from_db()
    assert recommendation.status == status
    assert billing_fake_orders() == []


@pytest.mark.django_db
def test_refusal_then_retry_orders(world):
    billing_fake_refuse(SUBSCRIBER, "BOSS busy")
    recommendation = confirmed(world, confirmed_at=timezone.now())
    recommendation_order_send(recommendation_id=recommendation.pk)
    recommendation.refresh_from_db()
    assert (recommendation.status, recommendation.billing_message) == (
        Recommendation.Status.OPEN_FAILED,
        "BOSS busy",
    )

    assert recommendation_orders_retry() == {"tried": 1, "ordered": 0, "failed": 1}
    billing_fake_reset()
    outcome = recommendation_orders_retry_task.delay().get()

    assert outcome == {"tried": 1, "ordered": 1, "failed": 0}
    recommendation.refresh_from_db()
    assert recommendation.status == Recommendation.Status.ORDERED
    assert recommendation.billing_order_id == "FAKE-1"
    assert recommendation.billing_message == ""
    assert recommendation_orders_retry() == {"tried": 0, "ordered": 0, "failed": 0}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "age", "tried"),
    [
        ("failed 7 days ago exactly", timedelta(days=7), 1),
        ("failed 7 days and a second ago", timedelta(days=7, seconds=1), 0),
    ],
)
def test_retry_gives_up_after_seven_days(world, _case, age, tried):
    now = timezone.now()
    confirmed(world, status=Recommendation.Status.OPEN_FAILED, confirmed_at=now - age)

    assert recommendation_orders_retry(now=now)["tried"] == tried


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "age", "tried"),
    [
        ("confirmed 10 minutes ago", timedelta(minutes=10), 1),
        ("confirmed 9 minutes 59 seconds ago", timedelta(minutes=9, seconds=59), 0),
    ],
)
def test_retry_picks_up_a_hand_over_that_never_ran(world, _case, age, tried):
    now = timezone.now()
    with time_machine.travel(now - age, tick=False):
        confirmed(world)

    outcome = recommendation_orders_retry(now=now)

    assert outcome["tried"] == tried
    assert len(billing_fake_orders()) == tried
