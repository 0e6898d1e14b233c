"""Public notices (公示, R2): admission results, penalties, tier results."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.audit import audit_event_create
from prm.core.exceptions import ApplicationError, Forbidden
from prm.core.scoping import path_in_scope
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


@transaction.atomic
def public_notice_publish(
    *,
    actor,
    kind: str,
    title: str,
    body: str,
    partner=None,
    only_partner=None,
    published_at=None,
) -> PublicNotice:
    """Staff publish a notice by hand (``portal.publish_announcement``), from their own
    org. A partner named on it (concerned, or the only reader of a back-to-back notice)
    must be one the actor manages; the notice is then seen by staff of the actor's
    subtree and by every partner, or only by ``only_partner``."""
    if actor is None or actor.is_partner_user or not actor.has_perm("portal.publish_announcement"):
        raise Forbidden()
    title = (title or "").strip()
    body = (body or "").strip()
    if kind not in PublicNotice.Kind.values:
        raise ApplicationError("kind_unknown", _("Choose a kind."), details={"field": "kind"})
    if not title:
        raise ApplicationError("title_required", _("Enter a title."), details={"field": "title"})
    if not body:
        raise ApplicationError("body_required", _("Enter the text."), details={"field": "body"})
    for field, named in (("partner", partner), ("only_partner", only_partner)):
        if named is not None and not path_in_scope(user=actor, path=named.managing_org.path):
            raise ApplicationError(
                "partner_out_of_scope",
                _("You can name only partners that your org subtree manages."),
                details={"field": field},
            )
    return public_notice_create(
        kind=kind,
        title=title,
        body=body,
        org=actor.org,
        actor=actor,
        partner=partner or only_partner,
        only_partner=only_partner,
        published_at=published_at,
    )
