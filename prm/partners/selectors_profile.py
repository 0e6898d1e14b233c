"""Scoped reads of the registry, profiles, change requests and qualifications.

Everything starts from :func:`prm.partners.selectors.partners_visible`: operator staff
see the partners managed in their org subtree, a partner's users only their own partner.
Lists run a constant number of queries whatever their length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet
from django.utils.text import capfirst

from prm.accounts.models import OrgUnit
from prm.accounts.selectors import org_unit_list
from prm.core.exceptions import NotFound
from prm.core.models import Attachment
from prm.partners.models import ChangeRequest, Partner, PartnerProfileVersion, Qualification
from prm.partners.selectors import partner_of_user, partners_visible


def profile_text(value: Any) -> str:
    """A profile value as the text the diff and the history compare and show."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, float):
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    return str(value).strip()


def profile_label(name: str) -> str:
    try:
        return capfirst(str(Partner._meta.get_field(name).verbose_name))
    except Exception:  # noqa: BLE001  (a key of an older version that is no field any more)
        return name


def profile_snapshot(partner: Partner) -> dict[str, str]:
    """The partner's ``PROFILE_FIELDS`` as texts (what a profile version stores)."""
    return {name: profile_text(getattr(partner, name)) for name in Partner.PROFILE_FIELDS}


def profile_rows(partner: Partner) -> list[dict[str, str]]:
    return [
        {"field": name, "label": profile_label(name), "value": profile_text(getattr(partner, name))}
        for name in Partner.PROFILE_FIELDS
    ]


def diff_rows(changes: dict[str, Any]) -> list[dict[str, str]]:
    """``{field: [old, new]}`` as table rows (field label, old, new), in form order."""
    order = {name: index for index, name in enumerate(Partner.PROFILE_FIELDS)}
    rows = []
    for name in sorted(changes, key=lambda name: order.get(name, len(order))):
        value = changes[name]
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            continue
        rows.append(
            {
                "field": name,
                "label": profile_label(name),
                "old": profile_text(value[0]),
                "new": profile_text(value[1]),
            }
        )
    return rows


def expired_mandatory_qualifications(*, partner: Partner, today: date) -> QuerySet[Qualification]:
    """Current mandatory qualifications past their expiry (R1: they suspend new business)."""
    return partner.qualifications.filter(
        is_current=True, mandatory=True, expires_on__lt=today
    ).order_by("expires_on", "pk")


# ---- The registry -----------------------------------------------------------------------


def partner_list_filtered(*, user, filters: dict[str, Any] | None = None) -> QuerySet[Partner]:
    """The visible partners, filtered: ``q`` (name, code or USCC contains), ``status``,
    ``category`` (code), ``source``, ``tier``, ``managing_org`` (code: its subtree)."""
    partners = partners_visible(user).select_related("manager")
    filters = filters or {}
    q = (filters.get("q") or "").strip()
    if q:
        partners = partners.filter(
            Q(company_name__icontains=q) | Q(code__icontains=q) | Q(uscc__icontains=q.upper())
        )
    for key, lookup in (
        ("status", "status"),
        ("category", "category__code"),
        ("source", "source"),
        ("tier", "tier"),
    ):
        if filters.get(key):
            partners = partners.filter(**{lookup: filters[key]})
    managing_org = filters.get("managing_org")
    if managing_org:
        org_path = (
            org_unit_list(user=user)
            .filter(code=managing_org)
            .values_list("path", flat=True)
            .first()
        )
        partners = (
            partners.filter(managing_org__path__startswith=org_path)
            if org_path
            else partners.none()
        )
    return partners.order_by("company_name", "pk")


def managing_org_choices(*, user) -> QuerySet:
    """Operator org units of the user's subtree (the registry's managing-org filter)."""
    return (
        org_unit_list(user=user)
        .filter(kind__in=OrgUnit.OPERATOR_KINDS, is_active=True)
        .order_by("path")
    )


def partner_get_by_key(*, user, key: str) -> Partner:
    """A visible partner by its partner code, or by its id when it has none yet (an
    application); :class:`NotFound` otherwise."""
    partners = partners_visible(user).select_related("manager")
    key = str(key or "")
    if key.isdigit():
        partner = partners.filter(pk=int(key), code__isnull=True).first()
    else:
        partner = partners.filter(code=key).first()
    if partner is None:
        raise NotFound()
    return partner


def partner_key(partner: Partner) -> str:
    """The URL key of a partner: its code, or its id while it is an application."""
    return partner.code or str(partner.pk)


# ---- Change requests --------------------------------------------------------------------


def change_request_list(*, user, filters: dict[str, Any] | None = None) -> QuerySet[ChangeRequest]:
    """Change requests of the partners the user may see, newest first; ``status``,
    ``partner`` (id) filters."""
    requests = ChangeRequest.objects.filter(
        partner__in=partners_visible(user).values("pk")
    ).select_related("partner", "submitted_by")
    filters = filters or {}
    if filters.get("status"):
        requests = requests.filter(status=filters["status"])
    if filters.get("partner"):
        requests = requests.filter(partner_id=filters["partner"])
    return requests.order_by("-created_at", "-pk")


def change_request_get(*, user, number: str) -> ChangeRequest:
    change_request = change_request_list(user=user).filter(number=number).first()
    if change_request is None:
        raise NotFound()
    return change_request


def change_request_open_for(*, partner: Partner) -> ChangeRequest | None:
    return partner.change_requests.filter(status=ChangeRequest.Status.SUBMITTED).first()


# ---- Qualifications ---------------------------------------------------------------------


@dataclass
class QualificationRow:
    qualification: Qualification
    attachments: list = field(default_factory=list)
    days_left: int | None = None

    @property
    def is_expired(self) -> bool:
        return self.days_left is not None and self.days_left < 0


def qualification_rows(
    *, partner: Partner, today: date, current: bool = True
) -> list[QualificationRow]:
    """The partner's current (or replaced) qualifications with their files: two
    queries however many there are. The caller has checked the partner is visible."""
    qualifications = list(
        partner.qualifications.filter(is_current=current)
        .select_related("requirement", "replaced_by")
        .order_by("expires_on", "name", "pk")
    )
    by_id: dict[str, list] = {str(q.pk): [] for q in qualifications}
    if by_id:
        owner_type = ContentType.objects.get_for_model(Qualification, for_concrete_model=False)
        for attachment in Attachment.objects.filter(
            owner_type=owner_type, owner_id__in=list(by_id)
        ).order_by("-created_at"):
            by_id[attachment.owner_id].append(attachment)
    return [
        QualificationRow(
            qualification=q,
            attachments=by_id[str(q.pk)],
            days_left=(q.expires_on - today).days if q.expires_on else None,
        )
        for q in qualifications
    ]


def qualifications_visible(user) -> QuerySet[Qualification]:
    """The qualifications of the partners the user may see (attachment visibility)."""
    return Qualification.objects.filter(partner__in=partners_visible(user).values("pk"))


def qualification_get_for(*, user, pk) -> Qualification:
    try:
        qualification = (
            qualifications_visible(user)
            .select_related("partner", "requirement")
            .filter(pk=int(pk))
            .first()
        )
    except (TypeError, ValueError):
        qualification = None
    if qualification is None:
        raise NotFound()
    return qualification


def qualification_requirements_open(*, partner: Partner) -> QuerySet:
    """Checklist items of the partner's category without a current qualification."""
    held = partner.qualifications.filter(is_current=True, requirement__isnull=False).values(
        "requirement_id"
    )
    return partner.category.requirements.exclude(pk__in=held).order_by("order", "code")


# ---- History ----------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    """One line of a partner's profile history: a saved version or an approved change."""

    kind: str  # "version" or "change_request"
    at: datetime
    title: str
    reason: str
    by: Any
    rows: list[dict[str, str]]
    change_request: ChangeRequest | None = None
    version: PartnerProfileVersion | None = None


def partner_history(*, partner: Partner) -> list[HistoryEntry]:
    """The full profile history, newest first: every saved version (with what changed
    since the previous one) and every approved change request with its diff."""
    versions = list(partner.versions.select_related("created_by").order_by("number", "pk"))
    approved = list(
        partner.change_requests.filter(status=ChangeRequest.Status.APPROVED).select_related(
            "submitted_by"
        )
    )
    approved_numbers = {change_request.number for change_request in approved}
    entries: list[HistoryEntry] = []
    # The version an approved change request wrote belongs to that request's entry.
    version_of_request: dict[str, PartnerProfileVersion] = {}
    previous: dict[str, Any] | None = None
    for version in versions:
        data = version.data if isinstance(version.data, dict) else {}
        if previous is None:
            rows = [
                {
                    "field": name,
                    "label": profile_label(name),
                    "old": "",
                    "new": profile_text(data.get(name)),
                }
                for name in Partner.PROFILE_FIELDS
                if name in data
            ]
        else:
            rows = diff_rows(
                {
                    name: [previous.get(name), data.get(name)]
                    for name in Partner.PROFILE_FIELDS
                    if profile_text(previous.get(name)) != profile_text(data.get(name))
                }
            )
        previous = data
        if data.get("change_request") in approved_numbers:
            version_of_request[data["change_request"]] = version
            continue
        entries.append(
            HistoryEntry(
                kind="version",
                at=version.created_at,
                title=str(version.number),
                reason=version.get_reason_display(),
                by=version.created_by,
                rows=rows,
                version=version,
            )
        )
    for change_request in approved:
        entries.append(
            HistoryEntry(
                kind="change_request",
                at=change_request.decided_at or change_request.updated_at,
                title=change_request.number,
                reason=change_request.reason,
                by=change_request.submitted_by,
                rows=diff_rows(change_request.changes),
                change_request=change_request,
                version=version_of_request.get(change_request.number),
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def partner_of(user) -> Partner | None:
    """The partner of a partner user (re-exported for the profile views)."""
    return partner_of_user(user)
