"""The health check at ``/healthz`` (for load balancers and monitoring): 200 when the
database (and the broker, once one is configured) answers, 503 otherwise."""

from __future__ import annotations

import socket

import pytest

from prm.celery import app as celery_app

pytestmark = pytest.mark.django_db

UNREACHABLE_BROKER = "amqp://guest:guest@127.0.0.1:1//"
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"


def rabbitmq_is_listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def broker(settings):
    """Point the settings and the Celery app at a broker; restore both afterwards."""
    previous = celery_app.conf.broker_url

    def use(url: str) -> None:
        settings.PRM_BROKER_URL = url
        celery_app.conf.broker_url = url

    yield use
    celery_app.conf.broker_url = previous


def test_healthy_without_a_broker(client, settings):
    settings.PRM_BROKER_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok"}}
    assert "no-cache" in response["Cache-Control"]


def test_needs_no_sign_in_even_for_a_user_with_pending_password_change(
    client, orgs, make_user, settings
):
    settings.PRM_BROKER_URL = ""
    client.force_login(make_user(org=orgs.city_a, must_change_password=True))

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_unreachable_broker_makes_it_unhealthy(client, broker):
    broker(UNREACHABLE_BROKER)

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error: ")


@pytest.mark.skipif(not rabbitmq_is_listening(), reason="no RabbitMQ at 127.0.0.1:5672")
def test_reachable_rabbitmq_is_healthy(client, broker):
    broker(LOCAL_RABBITMQ)

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_broken_database_makes_it_unhealthy(client, settings, monkeypatch):
    settings.PRM_BROKER_URL = ""
    from django.db import connection

    class BrokenCursor:
        def __enter__(self):
            raise ConnectionError("database down")

        def __exit__(self, *args):
            return False

    monkeypatch.setattr(connection, "cursor", lambda: BrokenCursor())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "error",
        "checks": {"database": "error: ConnectionError"},
    }


def test_a_forged_session_cookie_is_ignored_not_an_error(client, db):
    client.cookies["sessionid"] = "abc\x00defgh"

    response = client.get("/accounts/login/")

    assert response.status_code == 200
