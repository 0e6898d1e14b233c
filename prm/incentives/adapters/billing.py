"""The billing-system (BOSS) order interface (R4: a confirmed recommendation goes to
billing for opening) and its adapters.

``PRM_BILLING_BACKEND`` picks the adapter:

- ``file`` (default): appends one JSON line per order to ``PRM_BILLING_SPOOL_PATH``
  (flushed and fsynced before it answers); the billing side collects the spool. The
  order id is ``F-<reference>``.
- ``http``: posts ``{"msisdn", "product_code", "reference"}`` as JSON to
  ``PRM_BILLING_HTTP_URL`` with ``Authorization: Bearer <PRM_BILLING_HTTP_TOKEN>`` and
  reads ``{"ok": true, "order_id": ...}``; ``{"ok": false, "message": ...}`` or a non-2xx
  answer is a refusal.
- ``fake``: an in-process list of orders for tests and the demo, which can be told to
  refuse a number (``billing_fake_refuse``).

``reference`` is the recommendation's public number: the billing side uses it as the
idempotency key, so an order handed over twice (a retry racing a late first attempt)
opens the product once. Every adapter either hands the order on and returns the billing
order id, or raises ``BillingError``: none pretends to have ordered what it did not.
Adapters wait on disks and networks, so they are never called inside a database
transaction (the services call them from ``transaction.on_commit`` or a task).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from prm.core.outbound import OutboundError, json_line_append, json_post


class BillingError(Exception):
    """Billing did not accept the order; the text says why (kept on the recommendation)."""


class BillingGateway(Protocol):
    name: str

    def order_open(self, *, msisdn: str, product_code: str, reference: str) -> str:
        """Ask billing to open ``product_code`` for ``msisdn``; return the billing order id
        or raise ``BillingError``."""
        ...


class FileBillingGateway:
    """Appends each order as one JSON line to a spool file that billing collects."""

    name = "file"

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def order_open(self, *, msisdn: str, product_code: str, reference: str) -> str:
        order_id = f"F-{reference}"
        record = {
            "order_id": order_id,
            "reference": reference,
            "msisdn": msisdn,
            "product_code": product_code,
            "at": timezone.now().isoformat(),
        }
        try:
            json_line_append(self.path, record)
        except OSError as exc:
            raise BillingError(f"cannot write the billing spool {self.path}: {exc}") from exc
        return order_id


class HttpBillingGateway:
    """Posts each order as JSON to the billing system's order endpoint with a bearer token."""

    name = "http"

    def __init__(self, *, url: str, token: str = "", timeout: float = 10) -> None:
        self.url = url or ""
        self.token = token
        self.timeout = timeout

    def order_open(self, *, msisdn: str, product_code: str, reference: str) -> str:
        if not self.url.lower().startswith(("http://", "https://")):
            raise BillingError("PRM_BILLING_HTTP_URL is not set to an http(s) URL.")
        payload = {"msisdn": msisdn, "product_code": product_code, "reference": reference}
        try:
            body = json_post(url=self.url, payload=payload, token=self.token, timeout=self.timeout)
        except OutboundError as exc:
            if exc.status is None:
                raise BillingError(f"billing not reachable: {exc.detail}") from exc
            raise BillingError(
                _answer_message(exc.detail) or f"billing answered HTTP {exc.status}"
            ) from exc
        try:
            answer = json.loads(body.decode("utf-8"))
        except ValueError as exc:
            raise BillingError("billing answer is not JSON") from exc
        if not isinstance(answer, dict):
            raise BillingError("billing answer is not a JSON object")
        if answer.get("ok") is not True:
            raise BillingError(str(answer.get("message") or "billing refused the order"))
        order_id = answer.get("order_id")
        if order_id in (None, ""):
            raise BillingError("billing answer has no order id")
        return str(order_id)


def _answer_message(body: str) -> str:
    """The ``message`` of a JSON error answer, else the start of the body."""
    try:
        answer = json.loads(body)
    except ValueError:
        return f"billing answered: {body.strip()}"[:300] if body.strip() else ""
    if isinstance(answer, dict) and answer.get("message"):
        return str(answer["message"])
    return ""


class FakeBillingGateway:
    """In-process gateway for tests and the demo: keeps the orders it was given and
    refuses the numbers it was told to refuse."""

    name = "fake"

    def __init__(self) -> None:
        self.orders: list[dict[str, str]] = []
        self.refusals: dict[str, str] = {}

    def order_open(self, *, msisdn: str, product_code: str, reference: str) -> str:
        if msisdn in self.refusals:
            raise BillingError(self.refusals[msisdn])
        order_id = f"FAKE-{len(self.orders) + 1}"
        self.orders.append(
            {
                "order_id": order_id,
                "msisdn": msisdn,
                "product_code": product_code,
                "reference": reference,
            }
        )
        return order_id


_fake_gateway = FakeBillingGateway()


def billing_fake_orders() -> list[dict[str, str]]:
    """The orders the fake gateway accepted (``PRM_BILLING_BACKEND = "fake"``)."""
    return _fake_gateway.orders


def billing_fake_refuse(msisdn: str, message: str = "refused by the fake billing") -> None:
    """Make the fake gateway refuse every later order for ``msisdn`` with ``message``."""
    _fake_gateway.refusals[msisdn] = message


def billing_fake_reset() -> None:
    """Forget the fake gateway's orders and refusals."""
    _fake_gateway.orders.clear()
    _fake_gateway.refusals.clear()


def billing_gateway() -> BillingGateway:
    """The gateway chosen by ``PRM_BILLING_BACKEND``."""
    backend = settings.PRM_BILLING_BACKEND
    if backend == "file":
        return FileBillingGateway(settings.PRM_BILLING_SPOOL_PATH)
    if backend == "http":
        return HttpBillingGateway(
            url=settings.PRM_BILLING_HTTP_URL,
            token=settings.PRM_BILLING_HTTP_TOKEN,
            timeout=settings.PRM_BILLING_HTTP_TIMEOUT,
        )
    if backend == "fake":
        return _fake_gateway
    raise ImproperlyConfigured("PRM_BILLING_BACKEND must be file, http or fake.")
