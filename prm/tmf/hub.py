"""TMF event hubs: listeners register a callback (``POST …/hub``) and receive the events
of one API, signed, through Celery with retries.

An event is published inside the transaction of the change; its deliveries are written
and queued once that transaction commits (nothing is sent for a change rolled back).
A listener receives only events of resources its owner may read at the time of the
event: the owner's permission for the API and the data scope of the resource.

Each delivery is a POST of ``{eventId, eventTime, eventType, event: {<resource>: …}}``
with ``X-PRM-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` keyed with the
subscription's secret (returned once, when the listener registers).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError
from prm.core.scoping import path_in_scope
from prm.tmf.models import EventDelivery, HubSubscription
from prm.tmf.resources import datetime_text

# The permission a listener's owner needs to receive each API's events.
API_PERMISSIONS = {
    HubSubscription.Api.PARTY_ROLE: "tmf.view_partyrole",
    HubSubscription.Api.ORGANIZATION: "partners.view_partner",
    HubSubscription.Api.AGREEMENT: "partners.view_agreement",
}
SIGNATURE_HEADER = "X-PRM-Signature"
DELIVERY_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Audience:
    """Who may see the resource of an event: the staff of ``org_path``'s subtree and,
    for a partner's resource, the users of ``partner_id``."""

    org_path: str
    partner_id: int | None = None


@transaction.atomic
def hub_subscription_create(
    *, actor, api: str, callback: str, query: str | None
) -> tuple[HubSubscription, str]:
    """Register a listener; returns it and the signing secret (shown this once)."""
    parts = urlsplit(callback)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ApplicationError(
            "callback_invalid", _("The callback must be an http or https URL."), status=400
        )
    secret = secrets.token_hex(32)
    subscription = HubSubscription.objects.create(
        api=api, callback=callback, query=query or "", secret=secret, owner=actor
    )
    audit_event_create(
        actor=actor,
        action="tmf.hub_subscribed",
        target=subscription,
        changes={"api": api, "callback": callback, "query": query or ""},
    )
    return subscription, secret


@transaction.atomic
def hub_subscription_delete(*, actor, subscription: HubSubscription) -> None:
    """Unregister a listener; its undelivered events are dropped with it."""
    subscription = HubSubscription.objects.select_for_update().get(pk=subscription.pk)
    audit_event_create(
        actor=actor,
        action="tmf.hub_unsubscribed",
        target=subscription,
        changes={"api": subscription.api, "callback": subscription.callback},
    )
    subscription.delete()


def _wanted_event_types(query: str) -> set[str] | None:
    """``eventType=A,B`` in a listener's query limits it to those events; other query
    terms are accepted and ignored."""
    values = parse_qs(query or "").get("eventType")
    if not values:
        return None
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def _may_receive(subscription: HubSubscription, *, event_type: str, audience: Audience) -> bool:
    wanted = _wanted_event_types(subscription.query)
    if wanted is not None and event_type not in wanted:
        return False
    owner = subscription.owner
    if not owner.is_active or not owner.has_perm(API_PERMISSIONS[subscription.api]):
        return False
    if owner.is_partner_user:
        from prm.partners.selectors import partner_of_user

        partner = partner_of_user(owner)
        return partner is not None and partner.pk == audience.partner_id
    return path_in_scope(user=owner, path=audience.org_path)


def event_publish(
    *, api: str, event_type: str, resource: dict[str, Any], audience: Audience
) -> None:
    """Queue an event for every listener that may see it, after the current commit."""
    event = {
        "eventId": str(uuid.uuid4()),
        "eventTime": datetime_text(timezone.now()),
        "eventType": event_type,
        "event": {api: resource},
    }

    def deliveries_create() -> None:
        _deliveries_create(api=api, event=event, audience=audience)

    # robust: a failure here is logged and never undoes or fails the committed change.
    transaction.on_commit(deliveries_create, robust=True)


def _deliveries_create(*, api: str, event: dict[str, Any], audience: Audience) -> list[int]:
    from prm.tmf.tasks import event_delivery_send

    created = []
    subscriptions = HubSubscription.objects.filter(api=api).select_related("owner", "owner__org")
    for subscription in subscriptions:
        if not _may_receive(subscription, event_type=event["eventType"], audience=audience):
            continue
        delivery = EventDelivery.objects.create(
            subscription=subscription,
            event_id=event["eventId"],
            event_type=event["eventType"],
            payload=event,
        )
        created.append(delivery.pk)
    for delivery_id in created:
        event_delivery_send.delay(delivery_id=delivery_id)
    return created


def signature(secret: str, body: bytes) -> str:
    """The value of the ``X-PRM-Signature`` header for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A callback that redirects has failed: the event is not re-sent elsewhere."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> str | None:
    """POST ``body``; ``None`` on a 2xx answer, else what went wrong."""
    if urlsplit(url).scheme not in {"http", "https"}:
        return "unsupported URL scheme"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310  (scheme checked above)
    try:
        with _opener.open(request, timeout=DELIVERY_TIMEOUT_SECONDS) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return f"{type(error).__name__}: {error}"[:500]
    if 200 <= status < 300:
        return None
    return f"HTTP {status}"


def event_delivery_attempt(*, delivery_id: int) -> str:
    """Send one pending delivery once; returns its status afterwards (``pending`` means
    try again later). After ``PRM_TMF_DELIVERY_ATTEMPTS`` failed attempts it is
    ``failed`` for good. No transaction is held open during the network call."""
    delivery = EventDelivery.objects.select_related("subscription").filter(pk=delivery_id).first()
    if delivery is None:  # the listener unsubscribed meanwhile
        return "gone"
    if delivery.status != EventDelivery.Status.PENDING:
        return delivery.status
    body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
    error = _post(
        delivery.subscription.callback,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": "PRM-TMF-Hub/1",
            SIGNATURE_HEADER: signature(delivery.subscription.secret, body),
        },
    )
    attempts = delivery.attempts + 1
    if error is None:
        status = EventDelivery.Status.DELIVERED
    elif attempts >= settings.PRM_TMF_DELIVERY_ATTEMPTS:
        status = EventDelivery.Status.FAILED
    else:
        status = EventDelivery.Status.PENDING
    EventDelivery.objects.filter(pk=delivery.pk).update(
        attempts=F("attempts") + 1,
        status=status,
        last_error=error or "",
        delivered_at=timezone.now() if error is None else None,
        updated_at=timezone.now(),
    )
    return status
