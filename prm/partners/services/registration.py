"""Partner self-registration (R1 "Self-registration"): categories and their checklists,
applicant accounts, the application form, its documents and its submission for review.

The path (seed 000 合作伙伴注册 / TSP 厂商注册): a company creates an account (username,
password, category, the province or city that handles it) → until approved it sees only
the registration pages → fills the application → uploads the documents its category's
checklist asks for → submits. A submitted application is read-only until it is decided;
a rejected one is changed and resubmitted (a new round of the same approval, history
kept in ``PartnerProfileVersion``). The review itself (steps, panel, decision) is
``services.review``.

Refusals change nothing: a duplicate, invalid (without an audited override) or
blacklisted USCC, a document of a type its checklist line does not allow, an incomplete
application.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import OrgUnit
from prm.accounts.services import org_unit_create, user_create
from prm.accounts.services.console import org_unit_update
from prm.core.attachments import attachment_create
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.models import Attachment, WorkflowInstance
from prm.core.notifications import notify
from prm.core.validators import uscc_is_valid
from prm.core.workflow import workflow_instance_for, workflow_resubmit, workflow_submit
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.models import (
    Partner,
    PartnerCategory,
    PartnerProfileVersion,
    Qualification,
    QualificationRequirement,
)
from prm.partners.selectors import partner_of_user
from prm.partners.selectors_registration import (
    application_problems,
    document_extension,
    document_types_label,
    uscc_refusal,
)

CATEGORIES_FILE = Path(__file__).resolve().parent.parent / "data" / "categories.json"
APPLICANT_ROLE = "partner_applicant"
REGISTER_PERMISSION = "partners.register_partner"
# Letters, digits and . _ @ - only: the name is typed again in the progress query (seed
# 000 TSP: "no spaces or special characters").
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,150}$")
# Operator nodes an applicant may address its application to.
MANAGING_ORG_KINDS = (OrgUnit.Kind.PROVINCE, OrgUnit.Kind.CITY)
EDITABLE_STATUSES = (Partner.Status.DRAFT, Partner.Status.REJECTED)


# --------------------------------------------------------------------------------------
# Categories and their checklists
# --------------------------------------------------------------------------------------


def partner_categories_sync(*, path: Path = CATEGORIES_FILE) -> dict[str, int]:
    """Create the R1 categories and their checklist lines shipped in ``data/categories.json``
    that do not exist yet. Existing rows are never changed: staff may have edited names,
    thresholds, criteria or checklist lines (to drop a line, make it optional; a category
    is retired with ``is_active``)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    common = data.get("common_requirements", [])
    counts = {"categories": 0, "requirements": 0}
    with transaction.atomic():
        for entry in data["categories"]:
            category, created = PartnerCategory.objects.get_or_create(
                code=entry["code"],
                defaults={
                    "name": entry["name"],
                    "name_en": entry.get("name_en", ""),
                    "expert_domain": entry.get("expert_domain") or entry["code"],
                    "min_registered_capital": Decimal(entry.get("min_registered_capital", "0")),
                    "review_criteria": entry.get("review_criteria", []),
                    "panel_size": entry.get("panel_size", 3),
                    "description": entry.get("description", ""),
                },
            )
            counts["categories"] += int(created)
            for order, line in enumerate([*common, *entry.get("requirements", [])], start=1):
                _requirement, created = QualificationRequirement.objects.get_or_create(
                    category=category,
                    code=line["code"],
                    defaults={
                        "name": line["name"],
                        "name_en": line.get("name_en", ""),
                        "mandatory": line.get("mandatory", True),
                        "has_expiry": line.get("has_expiry", False),
                        "allowed_types": line.get("allowed_types", []),
                        "order": order * 10,
                    },
                )
                counts["requirements"] += int(created)
    return counts


def partner_categories_sync_after_migrate(sender, **kwargs) -> None:
    if getattr(sender, "label", None) != "partners":
        return
    # ``migrate partners zero`` leaves no table to fill.
    if PartnerCategory._meta.db_table in connection.introspection.table_names():
        partner_categories_sync()


# --------------------------------------------------------------------------------------
# Applicant account
# --------------------------------------------------------------------------------------


def _registration_org_code() -> str:
    for _attempt in range(10):
        code = f"REG-{secrets.token_hex(4).upper()}"
        if not OrgUnit.objects.filter(code=code).exists():
            return code
    raise ApplicationError("org_code_unavailable", _("Please try again."))  # pragma: no cover


def _field_error(code: str, message: str, field: str, **details) -> ApplicationError:
    return ApplicationError(code, message, details={"field": field, **details})


@transaction.atomic
def applicant_signup(
    *,
    username: str,
    password: str,
    email: str,
    category_code: str,
    managing_org_id: int,
    ip_address: str | None = None,
) -> Partner:
    """Create a registering company's account (R1 self-registration, step 1).

    Makes a partner org (its root; the name is the username until the application gives
    the company name), the admin user with the ``partner_applicant`` role (a password
    they chose: no forced change) and a draft ``Partner`` from a self-application,
    handled by ``managing_org`` (an active province or city of the operator).
    """
    username = (username or "").strip()
    email = (email or "").strip()
    if not USERNAME_RE.match(username):
        raise _field_error(
            "username_invalid",
            _("Use 3 to 150 letters, digits or . _ @ - for the username (no spaces)."),
            "username",
        )
    user_model = get_user_model()
    if user_model.objects.filter(username__iexact=username).exists():
        raise _field_error(
            "username_taken", _("The username %(u)s is taken.") % {"u": username}, "username"
        )
    try:
        validate_email(email)
    except ValidationError:
        raise _field_error("email_invalid", _("Enter a valid e-mail address."), "email") from None
    category = PartnerCategory.objects.filter(code=category_code, is_active=True).first()
    if category is None:
        raise _field_error("category_unknown", _("Choose a partner category."), "category")
    try:
        managing_org = OrgUnit.objects.filter(
            pk=int(managing_org_id), kind__in=MANAGING_ORG_KINDS, is_active=True
        ).first()
    except (TypeError, ValueError):
        managing_org = None
    if managing_org is None:
        raise _field_error(
            "managing_org_invalid",
            _("Choose the province or city company that handles your application."),
            "managing_org",
        )
    try:
        validate_password(password, user=user_model(username=username, email=email))
    except ValidationError as exc:
        raise ApplicationError(
            "password_invalid",
            " ".join(exc.messages),
            details={"field": "password", "messages": list(exc.messages)},
        ) from None

    org = org_unit_create(
        actor=None, code=_registration_org_code(), name=username, kind="partner", parent=None
    )
    user = user_create(
        actor=None,
        username=username,
        display_name=username,
        org=org,
        password=password,
        role_codes=(APPLICANT_ROLE,),
        email=email,
        must_change_password=False,
    )
    partner = Partner.objects.create(
        org=org,
        category=category,
        status=Partner.Status.DRAFT,
        managing_org=managing_org,
        admin_user=user,
        source=Partner.Source.SELF,
        admin_email=email,
    )
    audit_event_create(
        actor=user,
        action="partner.applicant_signed_up",
        target=partner,
        changes={
            "username": username,
            "email": email,
            "category": category.code,
            "managing_org": managing_org.code,
            "org": org.code,
        },
        ip_address=ip_address,
    )
    return partner


# --------------------------------------------------------------------------------------
# Application form
# --------------------------------------------------------------------------------------


def _application_locked(partner_id: int, actor) -> Partner:
    """The actor's own application, row-locked; "not found" for anyone else's."""
    own = partner_of_user(actor)
    if own is None or own.pk != partner_id or not actor.has_perm(REGISTER_PERMISSION):
        raise NotFound()
    return (
        Partner.objects.select_for_update(of=("self",))
        .select_related("category", "org", "managing_org", "admin_user")
        .get(pk=partner_id)
    )


def _require_editable(partner: Partner) -> None:
    if partner.status == Partner.Status.SUBMITTED:
        raise ApplicationError(
            "application_under_review",
            _("The application is under review: it cannot be changed until it is decided."),
            status=409,
        )
    if partner.status not in EDITABLE_STATUSES:
        raise ApplicationError(
            "application_closed",
            _("This registration has been decided; changes go through a change request."),
            status=409,
        )


def _text(data: dict[str, Any], field: str) -> str:
    return str(data.get(field) or "").strip()


def _capital(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise _field_error(
            "capital_invalid", _("Enter the registered capital in yuan."), "registered_capital"
        ) from None
    if amount < 0 or amount >= Decimal("1e14"):
        raise _field_error(
            "capital_invalid", _("Enter the registered capital in yuan."), "registered_capital"
        )
    return amount


def _uscc_values(data: dict[str, Any], partner: Partner) -> dict[str, Any]:
    """``uscc`` and ``uscc_override_reason`` from the form, with the USCC rules applied.

    A code that fails its check character is accepted only with the override box ticked
    and a reason (a rare real code: R1); the reason is kept and audited.
    """
    uscc = _text(data, "uscc").upper().replace(" ", "")
    if not uscc:
        return {"uscc": None, "uscc_override_reason": ""}
    reason = ""
    if not uscc_is_valid(uscc):
        reason = _text(data, "uscc_override_reason")
        if not data.get("uscc_override"):
            raise _field_error(
                "uscc_invalid",
                _(
                    "%(uscc)s is not a valid unified social credit code (18 characters, "
                    "GB 32100-2015). If the code on your business licence really is this "
                    "one, tick “the code is correct” and give a reason."
                )
                % {"uscc": uscc},
                "uscc",
            )
        if len(uscc) > 18:
            raise _field_error(
                "uscc_invalid", _("A unified social credit code has 18 characters."), "uscc"
            )
        if not reason:
            raise _field_error(
                "uscc_override_reason_required",
                _("Give the reason for accepting a code that fails its check."),
                "uscc_override_reason",
            )
    refusal = uscc_refusal(uscc=uscc, partner=partner)
    if refusal is not None:
        raise refusal
    return {"uscc": uscc, "uscc_override_reason": reason}


def _profile_values(data: dict[str, Any], partner: Partner) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in Partner.PROFILE_FIELDS:
        if field in ("uscc", "registered_capital") or field not in data:
            continue
        values[field] = _text(data, field)
    if "registered_capital" in data:
        values["registered_capital"] = _capital(data.get("registered_capital"))
    if values.get("admin_email"):
        try:
            validate_email(values["admin_email"])
        except ValidationError:
            raise _field_error(
                "email_invalid", _("Enter a valid e-mail address."), "admin_email"
            ) from None
    if "uscc" in data:
        values.update(_uscc_values(data, partner))
    for field, value in values.items():
        limit = getattr(Partner._meta.get_field(field), "max_length", None)
        if limit and isinstance(value, str) and len(value) > limit:
            raise _field_error(
                "value_too_long",
                _("At most %(n)d characters.") % {"n": limit},
                field,
            )
    return values


@transaction.atomic
def application_update(*, partner_id: int, actor, data: dict[str, Any]) -> Partner:
    """Save the application form (R1: pending applications are editable).

    Only a draft or rejected application changes; fields missing from ``data`` are kept;
    an incomplete form may be saved (submission checks completeness). The USCC rules
    (check character or an audited override, no duplicate, not blacklisted) refuse the
    whole save.
    """
    partner = _application_locked(partner_id, actor)
    _require_editable(partner)
    values = _profile_values(data, partner)
    changes = field_changes(partner, values)
    if not changes:
        return partner
    for field, value in values.items():
        setattr(partner, field, value)
    try:
        with transaction.atomic():
            partner.save(update_fields=[*values, "updated_at"])
    except IntegrityError:
        # Another application took the USCC between the check and the write.
        raise _field_error(
            "uscc_duplicate",
            _("A partner or application with this unified social credit code already exists."),
            "uscc",
        ) from None
    audit_event_create(
        actor=actor,
        action="partner.application_updated",
        target=partner,
        changes=changes,
        org_path=partner.managing_org.path,
    )
    if partner.uscc_override_reason and ("uscc" in changes or "uscc_override_reason" in changes):
        audit_event_create(
            actor=actor,
            action="partner.uscc_override",
            target=partner,
            changes={"uscc": partner.uscc, "reason": partner.uscc_override_reason},
        )
    if "company_name" in changes and partner.company_name:
        org_unit_update(actor=actor, org=partner.org, name=partner.company_name)
    return partner


# --------------------------------------------------------------------------------------
# Documents
# --------------------------------------------------------------------------------------


@transaction.atomic
def application_document_add(
    *,
    partner_id: int,
    actor,
    requirement_id: int,
    uploaded_file,
    number: str = "",
    expires_on: date | None = None,
) -> Qualification:
    """Upload the document of one checklist line (R1: documents before submitting).

    The file's type must be one the line allows (checked by name, then by content in
    ``attachment_create``); a line with an expiry needs a future expiry date. A new
    document supersedes the line's current one (kept, no longer current). A refusal
    writes neither a row nor a file.
    """
    partner = _application_locked(partner_id, actor)
    _require_editable(partner)
    requirement = QualificationRequirement.objects.filter(
        pk=requirement_id, category_id=partner.category_id
    ).first()
    if requirement is None:
        raise NotFound()
    if uploaded_file is None:
        raise _field_error("document_missing", _("Choose a file to upload."), "file")
    allowed = [str(ext).lower() for ext in requirement.allowed_types]
    if allowed and document_extension(getattr(uploaded_file, "name", "")) not in allowed:
        raise _field_error(
            "document_type_not_allowed",
            _("“%(document)s” must be a file of type: %(types)s.")
            % {"document": requirement.label, "types": document_types_label(requirement)},
            "file",
        )
    number = (number or "").strip()[:100]
    if requirement.has_expiry:
        if expires_on is None:
            raise _field_error(
                "expiry_required",
                _("Enter the expiry date of “%(document)s”.") % {"document": requirement.label},
                "expires_on",
            )
        if expires_on <= timezone.localdate():
            raise _field_error(
                "document_expired",
                _("“%(document)s” has expired: upload a valid one.")
                % {"document": requirement.label},
                "expires_on",
            )
    else:
        expires_on = None

    previous = list(
        Qualification.objects.select_for_update()
        .filter(partner=partner, requirement=requirement, is_current=True)
        .order_by("pk")
    )
    qualification = Qualification.objects.create(
        partner=partner,
        requirement=requirement,
        name=requirement.name,
        number=number,
        expires_on=expires_on,
        mandatory=requirement.mandatory,
        is_current=True,
    )
    Qualification.objects.filter(pk__in=[old.pk for old in previous]).update(
        is_current=False, replaced_by=qualification, updated_at=timezone.now()
    )
    audit_event_create(
        actor=actor,
        action="partner.application_document_added",
        target=partner,
        changes={
            "requirement": requirement.code,
            "qualification": qualification.pk,
            "number": number,
            "expires_on": str(expires_on) if expires_on else None,
            "replaces": [old.pk for old in previous],
        },
    )
    # Last: a refused file raises here and rolls the rows above back.
    attachment_create(
        owner=qualification, uploaded_file=uploaded_file, actor=actor, purpose="registration"
    )
    return qualification


@transaction.atomic
def application_document_remove(*, partner_id: int, actor, qualification_id: int) -> Qualification:
    """Take a document off a draft or rejected application. The row and its file stay
    for the history; it is no longer current, so the line needs a new document."""
    partner = _application_locked(partner_id, actor)
    _require_editable(partner)
    qualification = (
        Qualification.objects.select_for_update()
        .filter(pk=qualification_id, partner=partner, is_current=True)
        .first()
    )
    if qualification is None:
        raise NotFound()
    qualification.is_current = False
    qualification.save(update_fields=["is_current", "updated_at"])
    audit_event_create(
        actor=actor,
        action="partner.application_document_removed",
        target=partner,
        changes={
            "qualification": qualification.pk,
            "requirement": qualification.requirement.code if qualification.requirement else "",
            "is_current": [True, False],
        },
    )
    return qualification


# --------------------------------------------------------------------------------------
# Submission
# --------------------------------------------------------------------------------------


def _snapshot(partner: Partner) -> dict[str, Any]:
    """The profile as strings plus the current documents (a ``PartnerProfileVersion``)."""
    data: dict[str, Any] = {
        field: "" if getattr(partner, field) is None else str(getattr(partner, field))
        for field in Partner.PROFILE_FIELDS
    }
    data["category"] = partner.category.code
    data["uscc_override_reason"] = partner.uscc_override_reason
    qualification_type = ContentType.objects.get_for_model(Qualification)
    documents = []
    for qualification in (
        Qualification.objects.filter(partner=partner, is_current=True)
        .select_related("requirement")
        .order_by("requirement__order", "pk")
    ):
        files = Attachment.objects.filter(
            owner_type=qualification_type, owner_id=str(qualification.pk)
        ).order_by("pk")
        documents.append(
            {
                "qualification": qualification.pk,
                "requirement": qualification.requirement.code if qualification.requirement else "",
                "name": qualification.name,
                "number": qualification.number,
                "expires_on": str(qualification.expires_on or ""),
                "files": [
                    {"name": file.original_name, "sha256": file.sha256, "id": str(file.public_id)}
                    for file in files
                ],
            }
        )
    data["documents"] = documents
    return data


def _version_save(*, partner: Partner, reason: str, actor) -> PartnerProfileVersion:
    last = PartnerProfileVersion.objects.filter(partner=partner).aggregate(n=Max("number"))["n"]
    return PartnerProfileVersion.objects.create(
        partner=partner,
        number=(last or 0) + 1,
        reason=reason,
        data=_snapshot(partner),
        created_by=actor,
    )


@transaction.atomic
def application_submit(*, partner_id: int, actor) -> Partner:
    """Submit the application for review (first time) or resubmit a rejected one.

    Refused, listing every problem at once, unless complete: every field of the form,
    every mandatory checklist line with a current, unexpired document, the registered
    capital at least the category's minimum, the USCC rules (check character or
    override, no duplicate, not blacklisted). Saves a profile version and starts (or
    restarts, as a new round) the ``partner_application`` approval at the managing org.
    """
    partner = _application_locked(partner_id, actor)
    _require_editable(partner)
    problems = application_problems(partner=partner)
    if problems:
        raise ApplicationError(
            "application_incomplete",
            _("The application cannot be submitted yet: %(problems)s")
            % {"problems": " ".join(problem["message"] for problem in problems)},
            details={"problems": problems},
        )
    instance = workflow_instance_for(target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW)
    resubmission = instance is not None
    if instance is not None and instance.status not in (
        WorkflowInstance.Status.REJECTED,
        WorkflowInstance.Status.WITHDRAWN,
    ):
        # An approved review is final: the partner exists already.
        raise ApplicationError(
            "application_not_resubmittable",
            _(
                "This application's review was ended (%(status)s) and cannot be restarted. "
                "Contact the operator company handling it."
            )
            % {"status": instance.get_status_display()},
            status=409,
        )
    old = partner.transition_to(Partner.Status.SUBMITTED)
    partner.submitted_at = timezone.now()
    partner.save(update_fields=["status", "submitted_at", "updated_at"])
    reason = (
        PartnerProfileVersion.Reason.RESUBMITTED
        if resubmission
        else PartnerProfileVersion.Reason.SUBMITTED
    )
    version = _version_save(partner=partner, reason=reason, actor=actor)
    audit_event_create(
        actor=actor,
        action="partner.application_resubmitted"
        if resubmission
        else "partner.application_submitted",
        target=partner,
        changes={"status": [old, partner.status], "version": version.number},
        org_path=partner.managing_org.path,
    )
    if instance is None:
        workflow_submit(
            target=partner,
            definition_code=PARTNER_APPLICATION_WORKFLOW,
            actor=actor,
            org=partner.managing_org,
        )
    else:
        workflow_resubmit(instance_id=instance.pk, actor=actor)
    notify(
        recipients=[actor],
        event="partners.application_received",
        context={"company": partner.company_name, "version": version.number},
        link=reverse("partners:application"),
    )
    return partner
