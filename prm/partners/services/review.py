"""The introduction review of partner applications (R1 引入) and the expert pool.

An application goes through the workflow ``partner_application`` (registered in
``prm.partners.setup_review``): 1 province department check → 2 expert panel review →
3 decision (呈批决策), each by a partner manager of the province. At step 2 a panel is
drawn at random from the expert pool (专家库) among the experts of the category's
domain without a conflict of interest; each drawn expert scores the category's
criteria; the panel's result is the mean of the totals with the spread shown. Step 2
(and the decision) can only be approved once the panel of the current round is
complete. Approval makes the applicant an active partner with a code
``P-<year>-<6 digits>``; rejection returns reasons, and the applicant edits and
resubmits (a new round with a new panel; the history stays in the workflow rounds,
profile versions and panels).

Introduction sources (R1): self-application (registration), HQ recommendation and
province/city recommendation (:func:`partner_recommend`).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.accounts.models import OrgUnit, Role, User
from prm.accounts.services import (
    org_unit_create,
    password_generate,
    user_create,
    user_provision,
    user_update,
)
from prm.core import notifications
from prm.core.audit import audit_event_create, field_changes
from prm.core.exceptions import ApplicationError, Forbidden, NotFound
from prm.core.models import SiteFlag, WorkflowAction, WorkflowInstance, WorkflowTask
from prm.core.scoping import path_in_scope
from prm.core.workflow import workflow_approve, workflow_available_actions, workflow_reject
from prm.partners.models import (
    Expert,
    ExpertConflict,
    ExpertPanel,
    ExpertScore,
    Partner,
    PartnerCategory,
    PartnerProfileVersion,
)
from prm.partners.selectors import partner_get_for
from prm.partners.selectors_review import (
    DEFAULT_CRITERIA,
    STEP_DECISION,
    STEP_EXPERT_PANEL,
    application_workflow,
    expert_eligible_ids,
    expert_get_for,
    expert_list,
    expert_of_user,
    expert_panel_redraw,
    expert_panel_size_for,
    uscc_key,
)

logger = logging.getLogger(__name__)

PARTNER_CODE_PREFIX = "P"
USERNAME_PATTERN = re.compile(r"^[\w.@+-]{3,150}\Z")
USCC_FORMAT = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}\Z")
TWO_PLACES = Decimal("0.01")

# --- Notification events --------------------------------------------------------------

notifications.notification_event_register(
    "partners.application_approved",
    subject=gettext_lazy("Partner registration approved: %(company)s"),
    body=gettext_lazy(
        "The registration of %(company)s has been approved. Your partner code is "
        "%(code)s. Sign in as %(username)s: your account now has full partner access."
    ),
)
notifications.notification_event_register(
    "partners.application_returned",
    subject=gettext_lazy("Partner registration returned for changes: %(company)s"),
    body=gettext_lazy(
        "The registration of %(company)s was returned for changes. Reasons: %(reasons)s. "
        "Correct the application and submit it again."
    ),
)
notifications.notification_event_register(
    "partners.expert_drawn",
    subject=gettext_lazy("Review requested: %(company)s"),
    body=gettext_lazy(
        "You have been drawn for the expert panel reviewing the partner application of "
        "%(company)s (%(category)s). Please score it under “My reviews”."
    ),
)
notifications.notification_event_register(
    "partners.panel_completed",
    subject=gettext_lazy("Expert panel complete: %(company)s"),
    body=gettext_lazy(
        "All %(size)s experts have scored the application of %(company)s. "
        "Mean score %(mean)s, spread %(spread)s."
    ),
)
notifications.notification_event_register(
    "partners.recommended_account",
    subject=gettext_lazy("Your partner registration account"),
    body=gettext_lazy(
        "%(company)s has been recommended as a partner by %(organisation)s. Sign in to PRM "
        "as %(username)s with the initial password %(password)s, change it, then fill in "
        "and submit the registration application."
    ),
)


def _notify(**kwargs) -> None:
    """Notify after commit; a failure is logged and never undoes the committed change."""
    try:
        notifications.notify(**kwargs)
    except Exception:  # noqa: BLE001
        logger.exception("partners review notification %s failed", kwargs.get("event"))


def _notify_on_commit(**kwargs) -> None:
    transaction.on_commit(partial(_notify, **kwargs))


def _url(name: str, **kwargs) -> str:
    return reverse(name, kwargs=kwargs or None)


def _lock_partner(partner_id) -> Partner:
    partner = (
        Partner.objects.select_for_update(of=("self",))
        .select_related("category", "managing_org", "org", "admin_user")
        .filter(pk=partner_id)
        .first()
    )
    if partner is None:
        raise NotFound()
    return partner


def _require_perm(actor, permission: str) -> None:
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or actor.is_partner_user
        or not actor.has_perm(permission)
    ):
        raise Forbidden()


def _in_review(partner: Partner) -> WorkflowInstance:
    instance = application_workflow(partner)
    if instance is None or instance.status != WorkflowInstance.Status.IN_PROGRESS:
        raise ApplicationError(
            "not_in_review", _("This application is not under review."), status=409
        )
    return instance


def _complete_panel(partner: Partner, round_number: int) -> ExpertPanel:
    panel = ExpertPanel.objects.filter(partner=partner, round=round_number).first()
    if panel is None:
        raise ApplicationError(
            "panel_not_drawn",
            _("Draw the expert panel before approving this step."),
            status=409,
        )
    if panel.completed_at is None:
        missing = panel.scores.filter(submitted_at__isnull=True).count()
        raise ApplicationError(
            "panel_incomplete",
            _("The expert panel is not complete: %(missing)s of %(size)s experts have not scored.")
            % {"missing": missing, "size": panel.size},
            details={"missing": missing, "size": panel.size},
            status=409,
        )
    return panel


def _profile_data(partner: Partner) -> dict[str, str]:
    return {field: str(getattr(partner, field) or "") for field in Partner.PROFILE_FIELDS}


def _profile_version_create(*, partner: Partner, reason: str, actor) -> PartnerProfileVersion:
    last = (
        PartnerProfileVersion.objects.filter(partner=partner)
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    return PartnerProfileVersion.objects.create(
        partner=partner,
        number=(last or 0) + 1,
        reason=reason,
        data=_profile_data(partner),
        created_by=actor,
    )


# --- Staff actions on the review ------------------------------------------------------


@transaction.atomic
def application_review_approve(*, partner_id, actor, comment: str = "") -> WorkflowInstance:
    """Approve the actor's pending step of the application.

    The expert panel step and the decision are refused until the panel of the current
    round is complete (every drawn expert has scored). Use this, not the generic
    approval action, for this workflow.
    """
    _require_perm(actor, "partners.review_partner")
    partner = partner_get_for(user=actor, pk=partner_id)
    partner = _lock_partner(partner.pk)
    instance = _in_review(partner)
    if instance.current_step in (STEP_EXPERT_PANEL, STEP_DECISION):
        _complete_panel(partner, instance.round)
    return workflow_approve(instance_id=instance.pk, actor=actor, comment=comment or "")


@transaction.atomic
def application_review_reject(*, partner_id, actor, reason: str) -> WorkflowInstance:
    """Return the application to the applicant with reasons (any step)."""
    _require_perm(actor, "partners.review_partner")
    partner = partner_get_for(user=actor, pk=partner_id)
    partner = _lock_partner(partner.pk)
    instance = _in_review(partner)
    return workflow_reject(instance_id=instance.pk, actor=actor, reason=reason or "")


# --- Workflow callbacks (inside the engine's transaction) ------------------------------


def partner_application_before_approve(*, instance: WorkflowInstance, actor, step) -> None:
    """No approval of the expert-panel step or the decision without a complete panel of
    the current round — whichever page or endpoint the approver uses."""
    if step.order in (STEP_EXPERT_PANEL, STEP_DECISION):
        _complete_panel(Partner.objects.get(pk=int(instance.target_id)), instance.round)


def _partner_of(instance: WorkflowInstance) -> Partner:
    return _lock_partner(int(instance.target_id))


def partner_application_on_submitted(*, instance, actor) -> None:
    """Submission or resubmission: the application is under review. The registration
    service normally moved the partner already; a resubmission made on the approvals
    page arrives here with the partner still ``rejected``."""
    partner = _partner_of(instance)
    if partner.status == Partner.Status.SUBMITTED:
        return
    old = partner.transition_to(Partner.Status.SUBMITTED)
    partner.submitted_at = timezone.now()
    partner.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="partner.submitted",
        target=partner,
        changes={"status": [old, partner.status], "round": instance.round},
    )


def partner_application_on_rejected(*, instance, actor) -> None:
    """Rejection: the application returns to the applicant with the reasons."""
    partner = _partner_of(instance)
    rejection = (
        WorkflowAction.objects.filter(
            instance=instance, round=instance.round, kind=WorkflowAction.Kind.REJECT
        )
        .order_by("-pk")
        .first()
    )
    reasons = rejection.comment if rejection is not None else ""
    now = timezone.now()
    old = partner.transition_to(Partner.Status.REJECTED)
    partner.rejection_reasons = reasons
    partner.decided_at = now
    partner.save(update_fields=["status", "rejection_reasons", "decided_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="partner.rejected",
        target=partner,
        changes={"status": [old, partner.status], "reasons": reasons, "round": instance.round},
    )
    _notify_on_commit(
        recipients=[partner.admin_user],
        event="partners.application_returned",
        context={"company": str(partner), "reasons": reasons},
        channels=("inbox",),
    )


def partner_application_on_withdrawn(*, instance, actor) -> None:
    """The applicant took the application back: a draft again (a returned application
    stays ``rejected``: the partner's status map has no way back to draft from there)."""
    partner = _partner_of(instance)
    if partner.status != Partner.Status.SUBMITTED:
        return
    old = partner.transition_to(Partner.Status.DRAFT)
    partner.save(update_fields=["status", "updated_at"])
    audit_event_create(
        actor=actor,
        action="partner.withdrawn",
        target=partner,
        changes={"status": [old, partner.status]},
    )


def partner_application_approve(*, instance, actor) -> Partner:
    """Final approval (呈批决策): the applicant becomes an active partner.

    Refused (and the whole approval rolled back) unless the current round's expert
    panel is complete, so the decision cannot skip the expert review even when the
    panel step was approved elsewhere. Assigns the partner code, makes the applicant's
    users partner admins, records the approved profile version, tells the admin by
    e-mail and inbox, and publishes the admission notice (公示).
    """
    partner = _partner_of(instance)
    panel = _complete_panel(partner, instance.round)
    now = timezone.now()
    old = partner.transition_to(Partner.Status.ACTIVE)
    partner.code = partner.code or partner_code_next()
    partner.approved_at = now
    partner.decided_at = now
    old_reasons = partner.rejection_reasons
    partner.rejection_reasons = ""
    partner.save(
        update_fields=[
            "status",
            "code",
            "approved_at",
            "decided_at",
            "rejection_reasons",
            "updated_at",
        ]
    )
    promoted = _applicants_promote(partner=partner, actor=actor)
    version = _profile_version_create(
        partner=partner, reason=PartnerProfileVersion.Reason.APPROVED, actor=actor
    )
    audit_event_create(
        actor=actor,
        action="partner.approved",
        target=partner,
        changes={
            "status": [old, partner.status],
            "code": partner.code,
            "rejection_reasons": [old_reasons, ""],
            "panel_mean_score": str(panel.mean_score),
            "profile_version": version.number,
            "promoted_users": promoted,
        },
    )
    _notify_on_commit(
        recipients=[partner.admin_user],
        event="partners.application_approved",
        context={
            "company": str(partner),
            "code": partner.code,
            "username": partner.admin_user.username,
        },
        link=_url("home"),
    )
    _admission_notice_create(partner=partner, actor=actor)
    return partner


def _admission_notice_create(*, partner: Partner, actor) -> None:
    from prm.portal.services.notices import public_notice_create

    # The notice is a published text: written in the platform's default language.
    with translation.override(settings.LANGUAGE_CODE):
        title = _("Admission: %(company)s") % {"company": partner.company_name}
        body = _(
            "%(company)s (USCC %(uscc)s) has been admitted as a partner in the category "
            "%(category)s with the partner code %(code)s."
        ) % {
            "company": partner.company_name,
            "uscc": partner.uscc or "—",
            "category": partner.category.label,
            "code": partner.code,
        }
    public_notice_create(
        kind="admission",
        title=title,
        body=body,
        org=partner.managing_org,
        actor=actor,
        partner=partner,
    )


def _applicants_promote(*, partner: Partner, actor) -> list[str]:
    """Replace the role ``partner_applicant`` by ``partner_admin`` for the partner's
    users. A system change (the reviewer's scope does not include the partner's tree,
    so the console's ``user_update`` would refuse): audited as ``user.updated``."""
    applicant_role = Role.objects.select_related("group").get(code="partner_applicant")
    admin_role = Role.objects.select_related("group").get(code="partner_admin")
    users = (
        User.objects.select_for_update()
        .filter(org__path__startswith=partner.org.path, groups=applicant_role.group)
        .order_by("pk")
    )
    promoted = []
    for user in users:
        old_codes = sorted(Role.objects.filter(group__user=user).values_list("code", flat=True))
        user.groups.remove(applicant_role.group)
        user.groups.add(admin_role.group)
        new_codes = sorted(Role.objects.filter(group__user=user).values_list("code", flat=True))
        audit_event_create(
            actor=actor,
            action="user.updated",
            target=user,
            changes={"roles": [old_codes, new_codes], "reason": "partner_approved"},
        )
        promoted.append(user.username)
    return promoted


def partner_code_next() -> str:
    """The next partner code of the current year, ``P-<year>-<6 digits>``.

    Race-safe: a per-year sequence row is locked (``select_for_update``) while the
    next number is taken as one more than both the sequence and the highest code of
    the year already stored (codes made by imports or demo data count too).
    """
    year = timezone.localdate().year
    prefix = f"{PARTNER_CODE_PREFIX}-{year}-"
    key = f"partners.partner_code.{year}"
    SiteFlag.objects.get_or_create(key=key, defaults={"value": "0"})
    sequence = SiteFlag.objects.select_for_update().get(key=key)
    last_code = (
        Partner.objects.filter(code__regex=rf"^{PARTNER_CODE_PREFIX}-{year}-[0-9]{{6}}$")
        .order_by("-code")
        .values_list("code", flat=True)
        .first()
    )
    last = max(int(sequence.value or 0), int(last_code[len(prefix) :]) if last_code else 0)
    number = last + 1
    if number > 999_999:
        raise ApplicationError(
            "partner_code_exhausted", _("No partner code is left for %(year)s.") % {"year": year}
        )
    sequence.value = str(number)
    sequence.save(update_fields=["value", "updated_at"])
    return f"{prefix}{number:06d}"


# --- Expert panel ---------------------------------------------------------------------


@transaction.atomic
def expert_panel_draw(
    *, partner_id, actor, size: int | None = None, seed: str | None = None
) -> ExpertPanel:
    """Draw the expert panel of the application's current round (R1 joint review).

    Allowed to the holder of the pending "expert panel review" task. Eligible experts
    (see :func:`prm.partners.selectors_review.expert_draw_candidates`) are sorted by id
    and ``random.Random(seed).sample`` picks ``size`` of them (default: the category's
    panel size, else ``PRM_EXPERT_PANEL_SIZE``). The seed (random unless given), the
    eligible ids and the criteria are stored, so the draw can be repeated and checked.
    Too few eligible experts: refused, nothing written.
    """
    _require_perm(actor, "partners.review_partner")
    partner = partner_get_for(user=actor, pk=partner_id)
    partner = _lock_partner(partner.pk)
    instance = _in_review(partner)
    if instance.current_step != STEP_EXPERT_PANEL:
        raise ApplicationError(
            "not_panel_step",
            _("The expert panel is drawn at the expert panel review step."),
            status=409,
        )
    if "approve" not in workflow_available_actions(instance=instance, user=actor):
        raise ApplicationError(
            "not_your_task", _("You have no pending review task on this application."), status=403
        )
    if ExpertPanel.objects.filter(partner=partner, round=instance.round).exists():
        raise ApplicationError(
            "panel_already_drawn",
            _("The expert panel of this round has already been drawn."),
            status=409,
        )
    size = expert_panel_size_for(partner.category) if size is None else size
    if not isinstance(size, int) or size < 1:
        raise ApplicationError(
            "panel_size_invalid",
            _("The panel size must be at least 1."),
            details={"field": "size"},
        )
    eligible = expert_eligible_ids(partner=partner)
    if len(eligible) < size:
        raise ApplicationError(
            "expert_pool_too_small",
            _(
                "Only %(eligible)s experts of the domain “%(domain)s” are eligible (active, "
                "no conflict of interest); the panel needs %(size)s. Add experts to the pool "
                "or a smaller panel."
            )
            % {"eligible": len(eligible), "domain": partner.category.expert_domain, "size": size},
            details={"eligible": len(eligible), "size": size},
            status=409,
        )
    seed = (seed or "").strip() or secrets.token_hex(16)
    drawn = expert_panel_redraw(seed=seed, eligible_ids=eligible, size=size)
    criteria = [dict(criterion) for criterion in (partner.category.review_criteria or [])]
    panel = ExpertPanel.objects.create(
        partner=partner,
        round=instance.round,
        seed=seed,
        size=size,
        eligible_ids=eligible,
        criteria=criteria or [dict(criterion) for criterion in DEFAULT_CRITERIA],
        drawn_by=actor,
    )
    # Created in draw order: the score rows' order is the drawn order.
    for expert_id in drawn:
        ExpertScore.objects.create(panel=panel, expert_id=expert_id)
    audit_event_create(
        actor=actor,
        action="expert_panel.drawn",
        target=panel,
        changes={
            "partner": partner.pk,
            "round": panel.round,
            "seed": seed,
            "size": size,
            "eligible_ids": eligible,
            "drawn_ids": drawn,
        },
    )
    experts = Expert.objects.select_related("user").filter(pk__in=drawn)
    _notify_on_commit(
        recipients=[expert.user for expert in experts],
        event="partners.expert_drawn",
        context={"company": str(partner), "category": partner.category.label},
        link=_url("partners:review_panel", panel_id=panel.pk),
    )
    return panel


def _criterion_max(criterion: Mapping[str, Any]) -> Decimal:
    try:
        return Decimal(str(criterion.get("max_score", 0)))
    except InvalidOperation:
        return Decimal("0")


def _score_value(raw: Any, *, code: str, maximum: Decimal) -> Decimal:
    message = _("Give a score from 0 to %(max)s (at most two decimals) for “%(code)s”.") % {
        "max": format(maximum.normalize(), "f"),
        "code": code,
    }
    if raw is None or isinstance(raw, bool) or str(raw).strip() == "":
        raise ApplicationError(
            "score_missing", message, details={"field": f"score_{code}", "criterion": code}
        )
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        value = None
    if (
        value is None
        or not value.is_finite()
        or value < 0
        or value > maximum
        or value.as_tuple().exponent < -2
    ):
        raise ApplicationError(
            "score_out_of_range", message, details={"field": f"score_{code}", "criterion": code}
        )
    return value.quantize(TWO_PLACES)


@transaction.atomic
def expert_score_submit(
    *, panel_id, actor, scores: Mapping[str, Any], comment: str = ""
) -> ExpertScore:
    """An expert of the panel scores each criterion (0 … its maximum) once, with a comment.

    When the last expert has scored, the panel's result is stored: the mean of the
    experts' totals and the spread (highest total − lowest), both to two places.
    """
    if (
        actor is None
        or not getattr(actor, "is_authenticated", False)
        or not actor.has_perm("partners.view_expertpanel")
    ):
        raise Forbidden()
    panel = (
        ExpertPanel.objects.select_for_update(of=("self",))
        .select_related("partner", "partner__category")
        .filter(pk=panel_id)
        .first()
    )
    score = (
        ExpertScore.objects.select_for_update(of=("self",))
        .filter(panel=panel, expert__user=actor)
        .first()
        if panel is not None
        else None
    )
    if score is None:
        raise NotFound()
    instance = application_workflow(panel.partner)
    if (
        instance is None
        or instance.status != WorkflowInstance.Status.IN_PROGRESS
        or instance.round != panel.round
        or instance.current_step != STEP_EXPERT_PANEL
    ):
        raise ApplicationError("panel_closed", _("This panel no longer takes scores."), status=409)
    if score.submitted_at is not None:
        raise ApplicationError(
            "score_already_submitted", _("You have already scored this application."), status=409
        )
    criteria = panel.criteria or []
    known = {str(criterion.get("code")) for criterion in criteria}
    unknown = sorted(set(map(str, scores)) - known)
    if unknown:
        raise ApplicationError(
            "score_unknown_criterion",
            _("Unknown criterion: %(codes)s.") % {"codes": ", ".join(unknown)},
        )
    values = {
        str(criterion["code"]): _score_value(
            scores.get(str(criterion["code"])),
            code=str(criterion["code"]),
            maximum=_criterion_max(criterion),
        )
        for criterion in criteria
    }
    now = timezone.now()
    score.scores = {code: str(value) for code, value in values.items()}
    score.total = sum(values.values(), Decimal("0")).quantize(TWO_PLACES)
    score.comment = (comment or "").strip()
    score.submitted_at = now
    score.save(update_fields=["scores", "total", "comment", "submitted_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="expert_score.submitted",
        target=score,
        changes={"panel": panel.pk, "scores": score.scores, "total": str(score.total)},
    )
    totals = list(
        ExpertScore.objects.filter(panel=panel, submitted_at__isnull=False).values_list(
            "total", flat=True
        )
    )
    if len(totals) == panel.scores.count():
        _panel_complete(panel=panel, totals=totals, actor=actor, now=now, instance=instance)
    return score


def _panel_complete(*, panel: ExpertPanel, totals, actor, now, instance) -> None:
    mean = (sum(totals, Decimal("0")) / len(totals)).quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    spread = (max(totals) - min(totals)).quantize(TWO_PLACES)
    panel.mean_score = mean
    panel.spread = spread
    panel.completed_at = now
    panel.save(update_fields=["mean_score", "spread", "completed_at", "updated_at"])
    audit_event_create(
        actor=actor,
        action="expert_panel.completed",
        target=panel,
        changes={"mean_score": str(mean), "spread": str(spread), "totals": totals},
    )
    holders = [
        task.assignee
        for task in instance.tasks.filter(
            status=WorkflowTask.Status.PENDING, round=instance.round, step__order=STEP_EXPERT_PANEL
        ).select_related("assignee")
    ]
    _notify_on_commit(
        recipients=holders,
        event="partners.panel_completed",
        context={
            "company": str(panel.partner),
            "size": panel.size,
            "mean": mean,
            "spread": spread,
        },
        link=_url("partners:review_detail", partner_id=panel.partner_id),
    )


# --- Expert pool ----------------------------------------------------------------------


def _clean_domains(domains) -> list[str]:
    cleaned = []
    for domain in domains or []:
        domain = str(domain).strip()
        if domain and domain not in cleaned:
            cleaned.append(domain)
    if not cleaned:
        raise ApplicationError(
            "expert_domains_required",
            _("Choose at least one review domain."),
            details={"field": "domains"},
        )
    return cleaned


def _clean_uscc(value: str, *, field: str, required: bool = False) -> str:
    value = uscc_key(value)
    if not value and not required:
        return ""
    if not USCC_FORMAT.match(value):
        raise ApplicationError(
            "uscc_invalid",
            _("A unified social credit code has 18 characters (digits and capital letters)."),
            details={"field": field},
        )
    return value


def _expert_values(
    *, domains, organisation: str, organisation_uscc: str, title: str
) -> dict[str, Any]:
    organisation = (organisation or "").strip()
    if not organisation:
        raise ApplicationError(
            "expert_organisation_required",
            _("The expert's organisation is required."),
            details={"field": "organisation"},
        )
    return {
        "domains": _clean_domains(domains),
        "organisation": organisation[:200],
        "organisation_uscc": _clean_uscc(organisation_uscc, field="organisation_uscc"),
        "title": (title or "").strip()[:100],
    }


@transaction.atomic
def expert_create(
    *,
    actor,
    username: str,
    domains,
    organisation: str,
    organisation_uscc: str = "",
    title: str = "",
    display_name: str = "",
    email: str = "",
    mobile: str = "",
    org_id=None,
) -> Expert:
    """Add someone to the expert pool (专家库).

    An existing operator user of the actor's subtree gets the role ``expert``; otherwise
    a new user is created in ``org_id`` (in the actor's subtree) with the role and an
    initial password e-mailed to them, to be changed at first sign-in.
    """
    _require_perm(actor, "partners.manage_expert")
    values = _expert_values(
        domains=domains,
        organisation=organisation,
        organisation_uscc=organisation_uscc,
        title=title,
    )
    username = (username or "").strip()
    if not USERNAME_PATTERN.match(username):
        raise ApplicationError(
            "username_invalid",
            _("A username has 3 to 150 letters, digits or the characters . @ + - _."),
            details={"field": "username"},
        )
    user = User.objects.select_related("org").filter(username=username).first()
    if user is not None:
        if not path_in_scope(user=actor, path=user.org.path) or user.is_partner_user:
            raise ApplicationError(
                "expert_user_out_of_scope",
                _("The user %(username)s is not an operator user of your organisation.")
                % {"username": username},
                details={"field": "username"},
            )
        if Expert.objects.filter(user=user).exists():
            raise ApplicationError(
                "expert_exists",
                _("%(username)s is already in the expert pool.") % {"username": username},
                details={"field": "username"},
            )
        codes = sorted(Role.objects.filter(group__user=user).values_list("code", flat=True))
        if "expert" not in codes:
            user_update(actor=actor, user=user, role_codes=[*codes, "expert"])
    else:
        org = OrgUnit.objects.filter(pk=org_id).first() if org_id else None
        if org is None or org.is_partner or not path_in_scope(user=actor, path=org.path):
            raise ApplicationError(
                "org_out_of_scope",
                _("Choose an org unit of your organisation for the new expert."),
                details={"field": "org"},
            )
        display_name = (display_name or "").strip()
        email = (email or "").strip()
        if not display_name:
            raise ApplicationError(
                "expert_name_required",
                _("The name is required."),
                details={"field": "display_name"},
            )
        try:
            validate_email(email)
        except ValidationError:
            raise ApplicationError(
                "email_invalid",
                _("Enter the e-mail address the initial password is sent to."),
                details={"field": "email"},
            ) from None
        user, password = user_provision(
            actor=actor,
            username=username,
            display_name=display_name,
            org=org,
            role_codes=["expert"],
            email=email,
            mobile=mobile or "",
        )
        _notify_on_commit(
            recipients=[user],
            event="core.initial_password",
            context={"username": user.username, "password": password},
            channels=("email",),
            redact=("password",),
        )
    expert = Expert.objects.create(user=user, **values)
    audit_event_create(actor=actor, action="expert.created", target=expert, changes=values)
    return expert


@transaction.atomic
def expert_update(
    *,
    actor,
    expert_id,
    domains,
    organisation: str,
    organisation_uscc: str = "",
    title: str = "",
    is_active: bool = True,
) -> Expert:
    """Change an expert's domains, organisation, title or whether they are drawn."""
    _require_perm(actor, "partners.manage_expert")
    expert = expert_get_for(user=actor, expert_id=expert_id)
    expert = Expert.objects.select_for_update(of=("self",)).select_related("user").get(pk=expert.pk)
    values = _expert_values(
        domains=domains,
        organisation=organisation,
        organisation_uscc=organisation_uscc,
        title=title,
    )
    values["is_active"] = bool(is_active)
    changes = field_changes(expert, values)
    if not changes:
        return expert
    for field, value in values.items():
        setattr(expert, field, value)
    expert.save()
    audit_event_create(actor=actor, action="expert.updated", target=expert, changes=changes)
    return expert


@transaction.atomic
def expert_conflict_declare(
    *, actor, expert_id, company_uscc: str = "", company_name: str = "", reason: str
) -> ExpertConflict:
    """Record a declared conflict of interest of an expert with a company (by USCC and/or
    name). Pool managers record it for experts of their subtree; an expert may declare
    their own."""
    own = expert_of_user(actor)
    if own is not None and str(own.pk) == str(expert_id):
        expert = own
    else:
        _require_perm(actor, "partners.manage_expert")
        expert = expert_get_for(user=actor, expert_id=expert_id)
    expert = Expert.objects.select_for_update().get(pk=expert.pk)
    company_uscc = _clean_uscc(company_uscc, field="company_uscc")
    company_name = (company_name or "").strip()[:200]
    reason = (reason or "").strip()[:300]
    if not company_uscc and not company_name:
        raise ApplicationError(
            "conflict_company_required",
            _("Give the company's USCC or its name."),
            details={"field": "company_name"},
        )
    if not reason:
        raise ApplicationError(
            "conflict_reason_required",
            _("Give the reason for the conflict of interest."),
            details={"field": "reason"},
        )
    conflict = ExpertConflict.objects.create(
        expert=expert, company_uscc=company_uscc, company_name=company_name, reason=reason
    )
    audit_event_create(
        actor=actor,
        action="expert_conflict.declared",
        target=expert,
        changes={"company_uscc": company_uscc, "company_name": company_name, "reason": reason},
    )
    return conflict


@transaction.atomic
def expert_conflict_remove(*, actor, conflict_id) -> None:
    """Remove a declared conflict recorded by mistake (pool managers)."""
    _require_perm(actor, "partners.manage_expert")
    conflict = (
        ExpertConflict.objects.select_for_update()
        .filter(pk=conflict_id, expert__in=expert_list(user=actor))
        .first()
    )
    if conflict is None:
        raise NotFound()
    audit_event_create(
        actor=actor,
        action="expert_conflict.removed",
        target=conflict.expert,
        changes={
            "company_uscc": conflict.company_uscc,
            "company_name": conflict.company_name,
            "reason": conflict.reason,
        },
    )
    conflict.delete()


# --- Introduction sources -------------------------------------------------------------


def _org_code_new() -> str:
    while True:
        code = f"REG-{secrets.token_hex(5).upper()}"
        if not OrgUnit.objects.filter(code=code).exists():
            return code


@transaction.atomic
def partner_recommend(
    *,
    actor,
    company_name: str,
    username: str,
    email: str,
    category_code: str,
    managing_org_id,
    note: str = "",
) -> Partner:
    """Record a recommendation (R1 introduction source: HQ or province/city).

    Creates the applicant's account as self-registration would (a partner org, a user
    with the role ``partner_applicant``, a draft application) marked with the source
    (HQ when the recommender sits at HQ, otherwise province/city), the recommender and
    the note; the initial password is e-mailed to the company and must be changed at
    first sign-in.
    """
    _require_perm(actor, "partners.recommend_partner")
    company_name = (company_name or "").strip()
    username = (username or "").strip()
    email = (email or "").strip()
    if not company_name:
        raise ApplicationError(
            "company_name_required",
            _("The company name is required."),
            details={"field": "company_name"},
        )
    if not USERNAME_PATTERN.match(username):
        raise ApplicationError(
            "username_invalid",
            _("A username has 3 to 150 letters, digits or the characters . @ + - _."),
            details={"field": "username"},
        )
    if User.objects.filter(username=username).exists():
        raise ApplicationError(
            "username_taken",
            _("The username %(u)s is taken.") % {"u": username},
            details={"field": "username"},
        )
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(
            "email_invalid",
            _("Enter the company's e-mail address (the initial password is sent to it)."),
            details={"field": "email"},
        ) from None
    category = PartnerCategory.objects.filter(code=category_code, is_active=True).first()
    if category is None:
        raise ApplicationError(
            "category_unknown", _("Choose a partner category."), details={"field": "category"}
        )
    managing_org = OrgUnit.objects.filter(pk=managing_org_id).first() if managing_org_id else None
    if (
        managing_org is None
        or managing_org.is_partner
        or not managing_org.is_active
        or not path_in_scope(user=actor, path=managing_org.path)
    ):
        raise ApplicationError(
            "org_out_of_scope",
            _("Choose the managing organisation among your organisation's units."),
            details={"field": "managing_org"},
        )
    if (
        Partner.objects.exclude(status=Partner.Status.EXITED)
        .filter(company_name__iexact=company_name)
        .exists()
    ):
        raise ApplicationError(
            "company_exists",
            _("%(company)s already has an application or is a partner.")
            % {"company": company_name},
            details={"field": "company_name"},
        )
    source = Partner.Source.HQ if actor.org.kind == OrgUnit.Kind.HQ else Partner.Source.REGIONAL
    org = org_unit_create(
        actor=actor, code=_org_code_new(), name=company_name[:200], kind="partner", parent=None
    )
    password = password_generate()
    user = user_create(
        actor=actor,
        username=username,
        display_name=company_name[:100],
        org=org,
        password=password,
        role_codes=["partner_applicant"],
        email=email,
        must_change_password=True,
    )
    partner = Partner.objects.create(
        org=org,
        category=category,
        status=Partner.Status.DRAFT,
        managing_org=managing_org,
        admin_user=user,
        source=source,
        recommended_by=actor,
        recommendation_note=(note or "").strip(),
        company_name=company_name[:200],
        admin_email=email,
    )
    audit_event_create(
        actor=actor,
        action="partner.recommended",
        target=partner,
        changes={
            "company_name": partner.company_name,
            "source": source,
            "category": category.code,
            "managing_org": managing_org.code,
            "admin_user": username,
            "note": partner.recommendation_note,
        },
    )
    _notify_on_commit(
        recipients=[user],
        event="partners.recommended_account",
        context={
            "company": partner.company_name,
            "organisation": actor.org.name,
            "username": username,
            "password": password,
        },
        channels=("email",),
        redact=("password",),
    )
    return partner
