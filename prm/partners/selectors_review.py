"""Reads of the introduction review (R1 引入): the review queue, expert pool, panels,
the draw's eligibility and its reproduction, and the introduction-source report.

Scoping: applications through :func:`prm.partners.selectors.partners_visible` (operator
staff: partners managed in their subtree); experts by the org of the expert's user;
a panel is visible to the experts drawn for it and to reviewing staff who see the
partner. Anything else is "not found".
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.core.exceptions import NotFound
from prm.core.models import WorkflowInstance, WorkflowStep, WorkflowTask
from prm.core.scoping import scope_by_path
from prm.core.workflow import workflow_instance_for
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.models import (
    Expert,
    ExpertConflict,
    ExpertPanel,
    ExpertScore,
    Partner,
    PartnerCategory,
)
from prm.partners.selectors import partner_get_for, partners_visible

# Steps of the application workflow (order in PARTNER_APPLICATION definition).
STEP_PROVINCE_CHECK = 1
STEP_EXPERT_PANEL = 2
STEP_DECISION = 3

# Why an expert is left out of a draw (eligibility table on the review page and tests).
EXCLUSION_REASONS = {
    "inactive": _("Inactive"),
    "domain": _("Other domain"),
    "same_uscc": _("Same organisation (USCC)"),
    "same_name": _("Same organisation (name)"),
    "conflict_uscc": _("Declared conflict (USCC)"),
    "conflict_name": _("Declared conflict (company name)"),
}

# Used when a category has no review criteria configured.
DEFAULT_CRITERIA = [
    {"code": "overall", "name": "综合评价", "name_en": "Overall assessment", "max_score": 100}
]


# --- Matching -----------------------------------------------------------------------


def company_name_key(name: str | None) -> str:
    """A company name made comparable: NFKC (full-width brackets and letters become
    ASCII), no white space, case-folded."""
    text = unicodedata.normalize("NFKC", name or "")
    return "".join(text.split()).casefold()


def uscc_key(code: str | None) -> str:
    return "".join((code or "").split()).upper()


@dataclass(frozen=True)
class DrawCandidate:
    """An expert of the pool as the draw sees them for one application."""

    expert: Expert
    reason: str  # "" when eligible, else a key of EXCLUSION_REASONS

    @property
    def is_eligible(self) -> bool:
        return not self.reason

    @property
    def reason_label(self) -> str:
        return str(EXCLUSION_REASONS.get(self.reason, ""))


def expert_draw_candidates(*, partner: Partner) -> list[DrawCandidate]:
    """Every expert of the pool with why they may not review ``partner`` (R1: random
    draw from the pool excluding experts with a conflict of interest).

    Excluded: inactive experts (or disabled users); experts without the category's
    domain; experts from the applicant's own organisation (same USCC or same name);
    experts who declared a conflict with the applicant (USCC or company name).
    """
    domain = partner.category.expert_domain
    applicant_uscc = uscc_key(partner.uscc)
    applicant_name = company_name_key(partner.company_name)
    experts = Expert.objects.select_related("user").prefetch_related(
        Prefetch("conflicts", queryset=ExpertConflict.objects.order_by("pk"))
    )
    candidates = []
    for expert in experts.order_by("pk"):
        candidates.append(
            DrawCandidate(
                expert=expert,
                reason=_exclusion(expert, domain, applicant_uscc, applicant_name),
            )
        )
    return candidates


def _exclusion(expert: Expert, domain: str, applicant_uscc: str, applicant_name: str) -> str:
    if not expert.is_active or not expert.user.is_active:
        return "inactive"
    if domain not in (expert.domains or []):
        return "domain"
    if applicant_uscc and uscc_key(expert.organisation_uscc) == applicant_uscc:
        return "same_uscc"
    if applicant_name and company_name_key(expert.organisation) == applicant_name:
        return "same_name"
    for conflict in expert.conflicts.all():
        if applicant_uscc and uscc_key(conflict.company_uscc) == applicant_uscc:
            return "conflict_uscc"
        if applicant_name and company_name_key(conflict.company_name) == applicant_name:
            return "conflict_name"
    return ""


def expert_eligible_ids(*, partner: Partner) -> list[int]:
    """The ids of the experts the draw may pick for ``partner``, ascending."""
    return sorted(c.expert.pk for c in expert_draw_candidates(partner=partner) if c.is_eligible)


def expert_panel_size_for(category: PartnerCategory) -> int:
    return category.panel_size or settings.PRM_EXPERT_PANEL_SIZE


def expert_panel_redraw(*, seed: str, eligible_ids: list[int], size: int) -> list[int]:
    """The experts a draw picks: ``random.Random(seed).sample(sorted ids, size)``.

    Pure: anyone holding the stored seed and eligible ids gets the same experts, in the
    same order (the draw is reproducible and can be audited).
    """
    return random.Random(seed).sample(sorted(eligible_ids), size)


def expert_panel_drawn_ids(panel: ExpertPanel) -> list[int]:
    """The panel's experts in the order they were drawn (score rows are created so)."""
    return list(panel.scores.order_by("pk").values_list("expert_id", flat=True))


def expert_panel_redraw_check(panel: ExpertPanel) -> bool:
    """Whether repeating the panel's draw from its stored seed and eligible ids gives
    exactly the experts on the panel."""
    redrawn = expert_panel_redraw(
        seed=panel.seed, eligible_ids=list(panel.eligible_ids), size=panel.size
    )
    return redrawn == expert_panel_drawn_ids(panel)


# --- Applications in review -----------------------------------------------------------


def application_review_queue(
    *, user, status: str = Partner.Status.SUBMITTED, category: str = ""
) -> QuerySet[Partner]:
    """Applications the user may see, by default those under review, oldest first."""
    applications = partners_visible(user).filter(status__in=Partner.APPLICATION_STATUSES)
    if status in Partner.APPLICATION_STATUSES:
        applications = applications.filter(status=status)
    if category:
        applications = applications.filter(category__code=category)
    return applications.order_by("submitted_at", "pk")


def application_review_get(*, user, partner_id) -> Partner:
    """One application (or partner) the user may see, or :class:`NotFound`."""
    return partner_get_for(user=user, pk=partner_id)


def application_workflow(partner: Partner):
    """The partner's application workflow instance (``None`` before the first submit)."""
    return workflow_instance_for(target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW)


def expert_panel_for_round(*, partner: Partner, round_number: int) -> ExpertPanel | None:
    return (
        ExpertPanel.objects.filter(partner=partner, round=round_number)
        .prefetch_related(
            Prefetch(
                "scores",
                queryset=ExpertScore.objects.select_related("expert__user").order_by("pk"),
            )
        )
        .first()
    )


def expert_panels_of(*, partner: Partner) -> QuerySet[ExpertPanel]:
    """Every panel of the application, latest round first (the review history)."""
    return (
        ExpertPanel.objects.filter(partner=partner)
        .select_related("drawn_by")
        .prefetch_related(
            Prefetch(
                "scores",
                queryset=ExpertScore.objects.select_related("expert__user").order_by("pk"),
            )
        )
        .order_by("-round")
    )


# --- Panels for experts ---------------------------------------------------------------


def expert_of_user(user) -> Expert | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Expert.objects.filter(user=user).first()


def expert_panels_for_expert(*, user) -> QuerySet[ExpertPanel]:
    """The panels the user was drawn for ("My reviews"), newest first."""
    expert = expert_of_user(user)
    if expert is None or not user.is_active:
        return ExpertPanel.objects.none()
    return (
        ExpertPanel.objects.filter(scores__expert=expert)
        .select_related("partner", "partner__category")
        .order_by("-created_at", "-pk")
        .distinct()
    )


def expert_panel_get_for(*, user, panel_id) -> ExpertPanel:
    """A panel the user is drawn for, or whose application they review (staff with
    ``partners.review_partner`` who see the partner). Else :class:`NotFound`."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise NotFound()
    try:
        panel = (
            ExpertPanel.objects.select_related("partner", "partner__category", "drawn_by")
            .filter(pk=panel_id)
            .first()
        )
    except (TypeError, ValueError):
        panel = None
    if panel is None:
        raise NotFound()
    if panel.scores.filter(expert__user=user).exists():
        return panel
    if (
        user.has_perm("partners.review_partner")
        and partners_visible(user).filter(pk=panel.partner_id).exists()
    ):
        return panel
    raise NotFound()


def expert_panel_score_of(*, panel: ExpertPanel, user) -> ExpertScore | None:
    return panel.scores.filter(expert__user=user).select_related("expert").first()


def partner_ids_for_expert(user) -> list[int]:
    """Applications the user reviews as a drawn expert (for document visibility)."""
    expert = expert_of_user(user)
    if expert is None:
        return []
    return list(
        ExpertPanel.objects.filter(scores__expert=expert)
        .values_list("partner_id", flat=True)
        .distinct()
    )


# --- Expert pool ----------------------------------------------------------------------


def expert_list(*, user, query: str = "", domain: str = "", active: str = "") -> QuerySet[Expert]:
    """Experts whose user belongs to the user's org subtree."""
    experts = scope_by_path(
        Expert.objects.select_related("user", "user__org"), user=user, path_field="user__org__path"
    )
    if query:
        experts = experts.filter(
            Q(user__display_name__icontains=query)
            | Q(user__username__icontains=query)
            | Q(organisation__icontains=query)
        )
    if active in ("1", "0"):
        experts = experts.filter(is_active=active == "1")
    experts = experts.order_by("user__display_name", "pk")
    if domain:
        # JSON "contains" is not available on SQLite: filter the (small) pool in Python.
        ids = [expert.pk for expert in experts if domain in (expert.domains or [])]
        experts = experts.filter(pk__in=ids)
    return experts


def expert_get_for(*, user, expert_id) -> Expert:
    try:
        expert = expert_list(user=user).filter(pk=expert_id).first()
    except (TypeError, ValueError):
        expert = None
    if expert is None:
        raise NotFound()
    return expert


def expert_domain_choices() -> list[tuple[str, str]]:
    """The review domains in use: each category's expert domain, labelled by category."""
    labels: dict[str, list[str]] = {}
    for category in PartnerCategory.objects.order_by("code"):
        labels.setdefault(category.expert_domain, []).append(category.label)
    return [(domain, " / ".join(names)) for domain, names in labels.items()]


# --- Introduction sources report ------------------------------------------------------


@dataclass(frozen=True)
class SourceReportRow:
    source: str
    source_label: str
    category: str
    category_label: str
    counts: dict[str, int]
    total: int


def partner_source_report(
    *, user, date_from: date | None = None, date_to: date | None = None
) -> tuple[list[SourceReportRow], dict[str, int]]:
    """Applications and partners the user sees, created in ``[date_from, date_to]``
    (local dates, inclusive), counted by introduction source × category × status (R1
    introduction sources: recorded and reported). Returns the rows and the totals per
    status (key ``"total"`` for all)."""
    partners = partners_visible(user)
    zone = timezone.get_current_timezone()
    if date_from:
        partners = partners.filter(created_at__gte=datetime.combine(date_from, time.min, zone))
    if date_to:
        partners = partners.filter(created_at__lte=datetime.combine(date_to, time.max, zone))
    counted = Counter(partners.values_list("source", "category_id", "status"))
    categories = {category.pk: category for category in PartnerCategory.objects.all()}
    sources = dict(Partner.Source.choices)
    statuses = Partner.Status.values
    grouped: dict[tuple[str, int], dict[str, int]] = {}
    for (source, category_id, status), count in counted.items():
        grouped.setdefault((source, category_id), dict.fromkeys(statuses, 0))[status] += count
    source_order = {value: index for index, value in enumerate(Partner.Source.values)}
    rows = []
    for (source, category_id), counts in sorted(
        grouped.items(),
        key=lambda item: (source_order.get(item[0][0], 99), categories[item[0][1]].code),
    ):
        category = categories[category_id]
        rows.append(
            SourceReportRow(
                source=source,
                source_label=str(sources.get(source, source)),
                category=category.code,
                category_label=category.label,
                counts=counts,
                total=sum(counts.values()),
            )
        )
    totals = {status: sum(row.counts[status] for row in rows) for status in statuses}
    totals["total"] = sum(row.total for row in rows)
    return rows, totals


# --- Review queue rows ----------------------------------------------------------------


@dataclass(frozen=True)
class ReviewRow:
    """An application in the queue with its workflow position and panel."""

    partner: Partner
    instance: WorkflowInstance | None
    step_name: str
    panel: ExpertPanel | None
    is_my_task: bool


def application_step_names() -> dict[int, str]:
    return dict(
        WorkflowStep.objects.filter(definition__code=PARTNER_APPLICATION_WORKFLOW).values_list(
            "order", "name"
        )
    )


def application_review_rows(*, user, partners) -> list[ReviewRow]:
    """Queue rows for a page of applications (a fixed number of queries)."""
    partners = list(partners)
    target_type = ContentType.objects.get_for_model(Partner)
    instances = {
        instance.target_id: instance
        for instance in WorkflowInstance.objects.filter(
            definition__code=PARTNER_APPLICATION_WORKFLOW,
            target_type=target_type,
            target_id__in=[str(partner.pk) for partner in partners],
        )
    }
    panels = {
        (panel.partner_id, panel.round): panel
        for panel in ExpertPanel.objects.filter(partner__in=partners)
    }
    my_tasks = set(
        WorkflowTask.objects.filter(
            instance__in=list(instances.values()),
            assignee=user,
            status=WorkflowTask.Status.PENDING,
        ).values_list("instance_id", "round", "step__order")
    )
    steps = application_step_names()
    rows = []
    for partner in partners:
        instance = instances.get(str(partner.pk))
        in_progress = (
            instance is not None and instance.status == WorkflowInstance.Status.IN_PROGRESS
        )
        rows.append(
            ReviewRow(
                partner=partner,
                instance=instance,
                step_name=str(steps.get(instance.current_step, "")) if in_progress else "",
                panel=panels.get((partner.pk, instance.round)) if instance else None,
                is_my_task=in_progress
                and (instance.pk, instance.round, instance.current_step) in my_tasks,
            )
        )
    return rows


def partner_recommendations_by(*, user, limit: int = 20) -> list[Partner]:
    """The latest recommendations the user recorded (that they still see)."""
    return list(
        partners_visible(user).filter(recommended_by=user).order_by("-created_at", "-pk")[:limit]
    )
