"""Notifications (R0): in-app inbox, e-mail and SMS from bilingual event templates.

An app registers its events once (at import time of its services module)::

    notification_event_register(
        "partners.registration_approved",
        subject=_("Registration %(code)s approved"),
        body=_("Your registration %(code)s was approved by %(approver)s."),
    )

and notifies people with ``notify(recipients=…, event=…, context={…})``. Subject and body
are ``gettext_lazy`` strings, so both languages come from the catalogues; each
recipient's copy is rendered in the recipient's own language. Inbox rows are written in
the caller's transaction; e-mail and SMS leave only after it commits, and every SMS is an
``SmsMessage`` row that ends ``sent`` (with the gateway's id) or ``failed`` (with why).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from prm.core.exceptions import ApplicationError, NotFound
from prm.core.models import Notification, SmsMessage
from prm.core.sms import SmsError, sms_gateway

logger = logging.getLogger(__name__)

CHANNELS = frozenset({"inbox", "email", "sms"})
REDACTED = "******"
# Context keys that are sent but never stored (inbox rows, SmsMessage rows), whatever the
# caller passes in ``redact``.
ALWAYS_REDACTED = frozenset({"password"})
_NUMBER_RE = re.compile(r"^\+?\d{5,20}$")


@dataclass(frozen=True)
class NotificationEvent:
    """A kind of message: its code and its subject/body templates (``%(name)s``)."""

    code: str
    subject: Any
    body: Any

    def render(self, *, context: Mapping[str, Any], language: str) -> tuple[str, str]:
        """Subject and body in ``language``; lazy values in ``context`` are translated too."""
        with translation.override(language):
            values = {key: str(value) for key, value in context.items()}
            return _fill(str(self.subject), values), _fill(str(self.body), values)


def _fill(template: str, values: dict[str, str]) -> str:
    """``%(name)s`` placeholders: makemessages marks them python-format, so the catalogue
    tools check that every translation keeps them. Plain text out (e-mail, SMS; inbox
    rows are escaped when shown)."""
    return template % values


_events: dict[str, NotificationEvent] = {}


def notification_event_register(code: str, *, subject: Any, body: Any) -> NotificationEvent:
    """Declare an event. Registering the same code again with other texts is a bug."""
    event = NotificationEvent(code=code, subject=subject, body=body)
    known = _events.get(code)
    if known is not None and (known.subject, known.body) != (subject, body):
        raise ValueError(f"Notification event {code!r} is already registered with other texts.")
    _events[code] = event
    return event


def notification_event_get(code: str) -> NotificationEvent:
    try:
        return _events[code]
    except KeyError:
        raise LookupError(f"Notification event {code!r} is not registered.") from None


def notification_events() -> dict[str, NotificationEvent]:
    return dict(_events)


# Generic events of the platform. Domain apps register their own next to their services.
notification_event_register(
    "core.test_message",
    subject=_("Test message from PRM"),
    body=_("Hello %(name)s, this is a test message from PRM: %(text)s"),
)
notification_event_register(
    "core.initial_password",
    subject=_("Your PRM account"),
    body=_(
        "Your PRM account %(username)s is ready. Initial password: %(password)s. "
        "Change it when you first sign in."
    ),
)
notification_event_register(
    "core.password_reset",
    subject=_("Your PRM password was reset"),
    body=_(
        "The password of your PRM account %(username)s was reset. New password: "
        "%(password)s. Change it when you next sign in."
    ),
)


def _language_of(user) -> str:
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def _redacted(context: Mapping[str, Any], redact: Iterable[str]) -> dict[str, Any]:
    hidden = set(redact) | ALWAYS_REDACTED
    return {key: (REDACTED if key in hidden else value) for key, value in context.items()}


def notify(
    *,
    recipients: Iterable,
    event: str,
    context: Mapping[str, Any],
    link: str = "",
    channels: Iterable[str] = ("inbox", "email"),
    redact: Iterable[str] = (),
) -> list[Notification]:
    """Tell users about an event, each in their own language, on the given channels.

    ``inbox`` writes a ``Notification`` row now (in the caller's transaction); ``email``
    (users with an address) and ``sms`` (users with a mobile number) are sent after the
    transaction commits. ``redact`` names context keys that are sent but never stored
    (``password`` always is): inbox rows and ``SmsMessage`` rows hold ``******`` instead.
    Returns the inbox rows created.
    """
    definition = notification_event_get(event)
    channels = set(channels)
    unknown = channels - CHANNELS
    if unknown:
        raise ValueError(f"Unknown notification channels: {sorted(unknown)}")
    stored_context = _redacted(context, redact)
    is_redacted = stored_context != dict(context)
    created: list[Notification] = []
    seen: set[int] = set()
    with transaction.atomic():
        for user in recipients:
            if user is None or user.pk in seen:
                continue  # one message per person, however often they are listed
            seen.add(user.pk)
            language = _language_of(user)
            subject, body = definition.render(context=context, language=language)
            if is_redacted:
                stored_subject, stored_body = definition.render(
                    context=stored_context, language=language
                )
            else:
                stored_subject, stored_body = subject, body
            if "inbox" in channels:
                created.append(
                    Notification.objects.create(
                        recipient=user,
                        event=event,
                        title=stored_subject[:255],
                        body=stored_body,
                        link=link,
                    )
                )
            if "email" in channels and user.email:
                transaction.on_commit(
                    partial(_email_send, to=user.email, subject=subject, body=body), robust=True
                )
            if "sms" in channels and getattr(user, "mobile", ""):
                _sms_queue(number=user.mobile, event=event, text=body, stored_text=stored_body)
    return created


def notify_number(
    *,
    number: str,
    event: str,
    context: Mapping[str, Any],
    language: str | None = None,
    redact: Iterable[str] = (),
) -> SmsMessage:
    """Send an SMS for an event to a bare number (e.g. a new user's initial password).

    The message is queued now and handed to the gateway after the transaction commits.
    """
    number = (number or "").strip().replace(" ", "")
    if not _NUMBER_RE.match(number):
        raise ApplicationError(
            "sms_number_invalid",
            gettext("“%(number)s” is not a mobile number.") % {"number": number},
        )
    definition = notification_event_get(event)
    language = language or settings.LANGUAGE_CODE
    _subject, body = definition.render(context=context, language=language)
    _subject, stored_body = definition.render(context=_redacted(context, redact), language=language)
    with transaction.atomic():
        return _sms_queue(number=number, event=event, text=body, stored_text=stored_body)


def _sms_queue(*, number: str, event: str, text: str, stored_text: str) -> SmsMessage:
    message = SmsMessage.objects.create(
        number=number, event=event, text=stored_text, status=SmsMessage.Status.QUEUED
    )
    transaction.on_commit(
        partial(sms_message_send, sms_id=message.pk, text=f"{settings.PRM_SMS_SIGNATURE}{text}"),
        robust=True,
    )
    return message


def sms_message_send(*, sms_id: int, text: str | None = None) -> SmsMessage:
    """Hand a queued SMS to the gateway and record the outcome (``sent`` or ``failed``).

    Runs outside any transaction (it may wait on the network). ``text`` is the full text
    when the stored one is redacted. A message that is no longer queued is left alone, so
    running this twice never sends twice.
    """
    message = SmsMessage.objects.get(pk=sms_id)
    if message.status != SmsMessage.Status.QUEUED:
        return message
    gateway = sms_gateway()
    if text is None:
        text = f"{settings.PRM_SMS_SIGNATURE}{message.text}"
    try:
        reference = gateway.send(number=message.number, text=text, reference=f"sms-{message.pk}")
    except SmsError as exc:
        logger.warning("SMS %s to %s failed: %s", message.pk, message.number, exc)
        values = {"status": SmsMessage.Status.FAILED, "error": str(exc)[:2000]}
    else:
        values = {
            "status": SmsMessage.Status.SENT,
            "gateway_reference": reference[:100],
            "sent_at": timezone.now(),
        }
    SmsMessage.objects.filter(pk=message.pk, status=SmsMessage.Status.QUEUED).update(
        gateway=gateway.name, updated_at=timezone.now(), **values
    )
    message.refresh_from_db()
    return message


def _email_send(*, to: str, subject: str, body: str) -> None:
    try:
        EmailMessage(subject=subject, body=body, to=[to]).send()
    except Exception:  # noqa: BLE001  (a mail server failure must not break the request)
        logger.exception("E-mail to %s failed", to)


# Reads -----------------------------------------------------------------------------------


def notification_list(*, user, unread: bool | None = None) -> QuerySet[Notification]:
    """The user's own notifications, newest first (an inbox is never shared)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Notification.objects.none()
    notifications = Notification.objects.filter(recipient=user)
    if unread is True:
        notifications = notifications.filter(read_at__isnull=True)
    elif unread is False:
        notifications = notifications.filter(read_at__isnull=False)
    return notifications.order_by("-created_at", "-id")


def notification_unread_count(*, user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


# Writes ----------------------------------------------------------------------------------


@transaction.atomic
def notification_mark_read(*, user, notification_id: int) -> Notification:
    """Mark one of the user's own notifications read; another user's is "not found"."""
    notification = (
        Notification.objects.select_for_update().filter(pk=notification_id, recipient=user).first()
    )
    if notification is None:
        raise NotFound()
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at", "updated_at"])
    return notification


@transaction.atomic
def notification_mark_all_read(*, user) -> int:
    """Mark all the user's unread notifications read; returns how many changed."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now(), updated_at=timezone.now()
    )
