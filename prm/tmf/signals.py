"""Integration sync: keeps the TMF views in step with the partners app and publishes hub
events, whichever partners service changed a partner or an agreement.

A deliberate exception to "no signals" (STYLE.md 3): this is not business logic but a
projection for other systems, and it must not depend on each partners service
remembering to call it. Changes made with ``QuerySet.update()`` bypass it; run
``prm tmf_party_roles_backfill`` after such bulk changes.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from prm.partners.models import Agreement, Partner
from prm.tmf.hub import Audience, event_publish
from prm.tmf.models import HubSubscription
from prm.tmf.resources import agreement_document, organization_document
from prm.tmf.services import party_role_sync_partner

# Partner fields the party role or the organisation events depend on.
PARTNER_SYNC_FIELDS = frozenset(
    {
        "status",
        "code",
        "category",
        "category_id",
        "managing_org",
        "managing_org_id",
        "company_name",
        "business_suspended",
        "business_suspended_reason",
        "approved_at",
        "exited_at",
    }
)


def _loaded_status(instance) -> str | None:
    # __dict__, not the attribute: a deferred status must not cost a query here.
    return instance.__dict__.get("status")


@receiver(post_init, sender=Partner)
@receiver(post_init, sender=Agreement)
def _remember_status(sender, instance, **kwargs) -> None:
    instance._tmf_old_status = _loaded_status(instance)


def _partner_audience(partner: Partner) -> Audience:
    return Audience(org_path=partner.managing_org.path, partner_id=partner.pk)


@receiver(post_save, sender=Partner)
def _partner_saved(sender, instance: Partner, created: bool, raw: bool, **kwargs) -> None:
    if raw:  # loaddata
        return
    old_status = None if created else getattr(instance, "_tmf_old_status", None)
    instance._tmf_old_status = instance.status
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and not (set(update_fields) & PARTNER_SYNC_FIELDS):
        return
    party_role_sync_partner(partner=instance)
    if instance.status in Partner.APPLICATION_STATUSES or not instance.code:
        return
    if created or old_status in Partner.APPLICATION_STATUSES:
        event_type = "OrganizationCreateEvent"
    elif old_status is not None and old_status != instance.status:
        event_type = "OrganizationStateChangeEvent"
    else:
        return
    event_publish(
        api=HubSubscription.Api.ORGANIZATION,
        event_type=event_type,
        resource=organization_document(instance),
        audience=_partner_audience(instance),
    )


def _agreement_event(agreement: Agreement, event_type: str) -> None:
    partner = agreement.partner
    if not partner.code:
        return
    event_publish(
        api=HubSubscription.Api.AGREEMENT,
        event_type=event_type,
        resource=agreement_document(agreement),
        audience=_partner_audience(partner),
    )


@receiver(post_save, sender=Agreement)
def _agreement_saved(sender, instance: Agreement, created: bool, raw: bool, **kwargs) -> None:
    if raw:
        return
    old_status = None if created else getattr(instance, "_tmf_old_status", None)
    instance._tmf_old_status = instance.status
    if created:
        _agreement_event(instance, "AgreementCreateEvent")
    elif old_status is not None and old_status != instance.status:
        _agreement_event(instance, "AgreementStateChangeEvent")


@receiver(post_delete, sender=Agreement)
def _agreement_deleted(sender, instance: Agreement, **kwargs) -> None:
    _agreement_event(instance, "AgreementDeleteEvent")
