"""Reads of partner self-registration (R1): the applicant's own application, its checklist
and what still blocks its submission, the signup choices, and the anonymous progress query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.accounts.models import OrgUnit
from prm.core.attachments import EXTENSION_ALIASES, attachment_list_for
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.models import Attachment
from prm.core.validators import uscc_is_valid
from prm.core.workflow import workflow_instance_for, workflow_trail
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.models import (
    BlacklistEntry,
    Partner,
    PartnerCategory,
    Qualification,
    QualificationRequirement,
)
from prm.partners.selectors import partner_of_user

REGISTER_PERMISSION = "partners.register_partner"
EDITABLE_STATUSES = (Partner.Status.DRAFT, Partner.Status.REJECTED)
# Fields the application needs before it can be submitted (all of the form).
REQUIRED_FIELDS = Partner.PROFILE_FIELDS

# Progress query (R1): the stable status codes it answers with.
STATUS_DRAFT = "draft"
STATUS_UNDER_REVIEW = "under_review"
STATUS_REJECTED = "rejected"
STATUS_APPROVED = "approved"
PUBLIC_STATUS = {
    Partner.Status.DRAFT: STATUS_DRAFT,
    Partner.Status.SUBMITTED: STATUS_UNDER_REVIEW,
    Partner.Status.REJECTED: STATUS_REJECTED,
    # Once approved the registration stays approved, whatever happened to the partner since.
    Partner.Status.ACTIVE: STATUS_APPROVED,
    Partner.Status.EXITING: STATUS_APPROVED,
    Partner.Status.EXITED: STATUS_APPROVED,
}
PUBLIC_STATUS_LABELS = {
    STATUS_DRAFT: gettext_lazy("Not submitted yet"),
    STATUS_UNDER_REVIEW: gettext_lazy("Under review"),
    STATUS_REJECTED: gettext_lazy("Returned for changes"),
    STATUS_APPROVED: gettext_lazy("Approved"),
}
RATE_LIMIT_WINDOW_SECONDS = 600
_QUERY_MAX_LENGTH = 254


# --------------------------------------------------------------------------------------
# Signup choices
# --------------------------------------------------------------------------------------


def signup_categories() -> QuerySet[PartnerCategory]:
    return PartnerCategory.objects.filter(is_active=True).order_by("code")


def signup_managing_orgs() -> QuerySet[OrgUnit]:
    """The operator nodes an application may be addressed to: active provinces and cities."""
    return OrgUnit.objects.filter(
        kind__in=(OrgUnit.Kind.PROVINCE, OrgUnit.Kind.CITY), is_active=True
    ).order_by("path")


# --------------------------------------------------------------------------------------
# The applicant's application
# --------------------------------------------------------------------------------------


def application_of(*, user) -> Partner:
    """The application (or partner) of a user holding ``partners.register_partner``;
    :class:`NotFound` for a user without one (operator staff)."""
    partner = partner_of_user(user)
    if partner is None:
        raise NotFound()
    return partner


def application_is_editable(partner: Partner) -> bool:
    return partner.status in EDITABLE_STATUSES


def document_extension(name: str) -> str:
    _stem, dot, extension = (name or "").rpartition(".")
    extension = extension.lower() if dot else ""
    return EXTENSION_ALIASES.get(extension, extension)


def document_types_label(requirement: QualificationRequirement) -> str:
    return ", ".join(str(ext).upper() for ext in requirement.allowed_types) or _("any")


def document_accept(requirement: QualificationRequirement) -> str:
    """The ``accept`` attribute of the requirement's file input."""
    extensions = [str(ext).lower() for ext in requirement.allowed_types]
    if "jpg" in extensions:
        extensions.append("jpeg")
    return ",".join(f".{ext}" for ext in extensions)


def application_documents(*, partner: Partner) -> QuerySet[Qualification]:
    return (
        Qualification.objects.filter(partner=partner, is_current=True)
        .select_related("requirement")
        .order_by("requirement__order", "pk")
    )


@dataclass
class ChecklistRow:
    requirement: QualificationRequirement
    qualification: Qualification | None
    attachments: list = field(default_factory=list)
    accept: str = ""
    types: str = ""

    @property
    def is_done(self) -> bool:
        return self.qualification is not None and bool(self.attachments)


def application_checklist(*, partner: Partner, user) -> list[ChecklistRow]:
    """Each line of the category's checklist with the application's current document."""
    current = {q.requirement_id: q for q in application_documents(partner=partner)}
    rows = []
    for requirement in partner.category.requirements.order_by("order", "code"):
        qualification = current.get(requirement.pk)
        attachments = (
            list(attachment_list_for(owner=qualification, user=user))
            if qualification is not None
            else []
        )
        rows.append(
            ChecklistRow(
                requirement=requirement,
                qualification=qualification,
                attachments=attachments,
                accept=document_accept(requirement),
                types=document_types_label(requirement),
            )
        )
    return rows


def uscc_refusal(*, uscc: str, partner: Partner) -> ApplicationError | None:
    """Why ``uscc`` may not be used by ``partner``'s application, if it may not: a
    blacklisted company (R1 exit) or another live partner or application with it."""
    if BlacklistEntry.objects.filter(uscc=uscc).exists():
        return ApplicationError(
            "uscc_blacklisted",
            _(
                "The company with the unified social credit code %(uscc)s is barred from "
                "registering as a partner (it was terminated for violations)."
            )
            % {"uscc": uscc},
            details={"field": "uscc"},
            status=409,
        )
    taken = (
        Partner.objects.filter(uscc=uscc)
        .exclude(pk=partner.pk)
        .exclude(status=Partner.Status.EXITED)
        .exists()
    )
    if taken:
        return ApplicationError(
            "uscc_duplicate",
            _(
                "A partner or application with the unified social credit code %(uscc)s "
                "already exists."
            )
            % {"uscc": uscc},
            details={"field": "uscc"},
            status=409,
        )
    return None


def application_problems(*, partner: Partner) -> list[dict[str, str]]:
    """Everything that stops the application from being submitted, each as
    ``{"code", "message"}`` (R1: the applicant sees all of them at once)."""
    problems: list[dict[str, str]] = []
    missing = [
        str(Partner._meta.get_field(name).verbose_name)
        for name in REQUIRED_FIELDS
        if getattr(partner, name) in (None, "")
    ]
    if missing:
        problems.append(
            {
                "code": "fields_missing",
                "message": _("Fill in: %(fields)s.") % {"fields": ", ".join(missing)},
            }
        )
    if partner.uscc:
        if not uscc_is_valid(partner.uscc) and not partner.uscc_override_reason:
            problems.append(
                {
                    "code": "uscc_invalid",
                    "message": _("%(uscc)s is not a valid unified social credit code.")
                    % {"uscc": partner.uscc},
                }
            )
        refusal = uscc_refusal(uscc=partner.uscc, partner=partner)
        if refusal is not None:
            problems.append({"code": refusal.code, "message": str(refusal.message)})
    minimum = partner.category.min_registered_capital
    if partner.registered_capital is not None and partner.registered_capital < minimum:
        problems.append(
            {
                "code": "capital_below_minimum",
                "message": _(
                    "The registered capital must be at least %(minimum)s yuan for the "
                    "category “%(category)s”."
                )
                % {"minimum": f"{minimum:,.2f}", "category": partner.category.label},
            }
        )
    today = timezone.localdate()
    with_files = _qualifications_with_files(partner)
    current = {q.requirement_id: q for q in application_documents(partner=partner)}
    for requirement in partner.category.requirements.order_by("order", "code"):
        qualification = current.get(requirement.pk)
        if qualification is None or qualification.pk not in with_files:
            if requirement.mandatory:
                problems.append(
                    {
                        "code": "document_missing",
                        "message": _("Upload “%(document)s”.") % {"document": requirement.label},
                    }
                )
            continue
        if qualification.expires_on is not None and qualification.expires_on <= today:
            problems.append(
                {
                    "code": "document_expired",
                    "message": _("“%(document)s” has expired: upload a valid one.")
                    % {"document": requirement.label},
                }
            )
    return problems


def _qualifications_with_files(partner: Partner) -> set[int]:
    ids = [str(pk) for pk in application_documents(partner=partner).values_list("pk", flat=True)]
    owner_ids = Attachment.objects.filter(
        owner_type=ContentType.objects.get_for_model(Qualification), owner_id__in=ids
    ).values_list("owner_id", flat=True)
    return {int(owner_id) for owner_id in owner_ids}


def application_rejection_reasons(*, partner: Partner) -> list[str]:
    """The reasons a rejected application came back with: those the review recorded on
    the partner, else the reviewer's comment on the approval trail."""
    if partner.status != Partner.Status.REJECTED:
        return []
    if partner.rejection_reasons.strip():
        return [line.strip() for line in partner.rejection_reasons.splitlines() if line.strip()]
    instance = workflow_instance_for(target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW)
    if instance is None:
        return []
    rejection = workflow_trail(instance=instance).filter(kind="reject").last()
    return [rejection.comment] if rejection is not None and rejection.comment else []


def application_decided_at(*, partner: Partner) -> datetime | None:
    if partner.status in (Partner.Status.DRAFT, Partner.Status.SUBMITTED):
        return None
    if partner.decided_at or partner.approved_at:
        return partner.decided_at or partner.approved_at
    instance = workflow_instance_for(target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW)
    return instance.decided_at if instance is not None else None


# --------------------------------------------------------------------------------------
# Anonymous progress query
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationStatus:
    status: str
    status_label: str
    submitted_at: datetime | None
    decided_at: datetime | None
    reasons: list[str]


def registration_status_rate_limit(*, client_ip: str | None) -> None:
    """Count one progress query of ``client_ip``; refuse (429) past
    ``PRM_REGISTRATION_STATUS_LIMIT`` queries in the 10-minute window."""
    key = f"prm:registration-status:{client_ip or 'unknown'}"
    cache.add(key, 0, timeout=RATE_LIMIT_WINDOW_SECONDS)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=RATE_LIMIT_WINDOW_SECONDS)
        count = 1
    if count > settings.PRM_REGISTRATION_STATUS_LIMIT:
        raise ApplicationError(
            "rate_limited",
            _("Too many progress queries from your address. Try again in 10 minutes."),
            details={"retry_after_seconds": RATE_LIMIT_WINDOW_SECONDS},
            status=429,
        )


def registration_not_found() -> ApplicationError:
    """The one answer for every triple that does not match (no account enumeration)."""
    return ApplicationError(
        "registration_not_found",
        _(
            "No registration matches this company name, admin account and admin e-mail. "
            "Check that you typed them exactly as when you registered."
        ),
        status=404,
    )


def registration_status_lookup(
    *, company_name: str, admin_username: str, admin_email: str, client_ip: str | None
) -> RegistrationStatus:
    """Registration progress for anyone who knows the company name, the admin account and
    the admin e-mail (R1, seed 000 TSP 注册进度查询); rate-limited per client address.

    All three must match exactly (the e-mail in any case). Any other triple, however
    close, gets the same "not found", so the query tells nothing about who exists.
    """
    registration_status_rate_limit(client_ip=client_ip)
    values = [(value or "").strip() for value in (company_name, admin_username, admin_email)]
    if any(not value or len(value) > _QUERY_MAX_LENGTH or "\x00" in value for value in values):
        raise registration_not_found()
    company_name, admin_username, admin_email = values
    partner = (
        Partner.objects.filter(
            company_name=company_name,
            admin_user__username=admin_username,
            admin_email__iexact=admin_email,
        )
        .order_by("pk")
        .first()
    )
    if partner is None:
        raise registration_not_found()
    status = PUBLIC_STATUS[partner.status]
    return RegistrationStatus(
        status=status,
        status_label=str(PUBLIC_STATUS_LABELS[status]),
        submitted_at=partner.submitted_at,
        decided_at=application_decided_at(partner=partner),
        reasons=application_rejection_reasons(partner=partner),
    )
