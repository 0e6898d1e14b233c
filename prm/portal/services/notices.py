"""Public notices (公示, R2): admission results, penalties, tier results."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from prm.core.audit import audit_event_create
from prm.portal.models import PublicNotice


@transaction.atomic
def public_notice_create(
    *,
    kind: str,
    title: str,
    body: str,
    org,
    actor=None,
    partner=None,
    only_partner=None,
    breach_case=None,
    published_at=None,
) -> PublicNotice:
    """Publish a notice. ``only_partner`` makes it back-to-back (tier results: that
    partner and staff see it); ``partner`` names the partner concerned (penalties,
    admissions) on a notice every partner sees."""
    notice = PublicNotice.objects.create(
        kind=kind,
        title=title[:200],
        body=body,
        org=org,
        partner=partner,
        only_partner=only_partner,
        breach_case=breach_case,
        published_at=published_at or timezone.now(),
    )
    audit_event_create(
        actor=actor,
        action="public_notice.published",
        target=notice,
        changes={"kind": kind, "title": notice.title},
        org_path=org.path,
    )
    return notice
