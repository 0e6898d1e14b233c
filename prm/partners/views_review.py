"""Pages of the introduction review (R1 引入): the review queue and application page,
expert panels and scoring ("My reviews"), the expert pool, recommendations and the
introduction-source report."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from prm.core.attachments import attachment_list_for, attachment_owner_registration
from prm.core.exceptions import ApplicationError, NotFound
from prm.core.forms import form_add_application_error
from prm.core.imports import CONTENT_TYPES, FORMATS, table_write
from prm.core.workflow import workflow_document_context
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.forms_review import (
    ApproveForm,
    ConflictForm,
    ExpertCreateForm,
    ExpertEditForm,
    PanelDrawForm,
    RecommendForm,
    RejectForm,
    ScoreForm,
    SourceReportForm,
    criterion_label,
)
from prm.partners.models import Partner
from prm.partners.selectors import partner_categories, partner_get_for, partner_of_user
from prm.partners.selectors_review import (
    EXCLUSION_REASONS,
    STEP_DECISION,
    STEP_EXPERT_PANEL,
    application_review_queue,
    application_review_rows,
    application_step_names,
    application_workflow,
    expert_draw_candidates,
    expert_get_for,
    expert_list,
    expert_of_user,
    expert_panel_drawn_ids,
    expert_panel_for_round,
    expert_panel_get_for,
    expert_panel_redraw_check,
    expert_panel_score_of,
    expert_panel_size_for,
    expert_panels_for_expert,
    expert_panels_of,
    partner_recommendations_by,
    partner_source_report,
)
from prm.partners.services.review import (
    application_review_approve,
    application_review_reject,
    expert_conflict_declare,
    expert_conflict_remove,
    expert_create,
    expert_panel_draw,
    expert_score_submit,
    expert_update,
    partner_recommend,
)

# The applicant's own application page (registration), else the home page.
APPLICANT_PAGE_NAMES = ("partners:application", "home")


def _require(request: HttpRequest, permission: str) -> None:
    """Operator staff holding ``permission``; partner users never see review pages."""
    if request.user.is_partner_user or not request.user.has_perm(permission):
        raise PermissionDenied


def _visible_partner(request: HttpRequest, partner_id: int) -> Partner:
    try:
        return partner_get_for(user=request.user, pk=partner_id)
    except NotFound as exc:
        raise Http404 from exc


# --- Review queue and application page ------------------------------------------------


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.review_partner")
    status = request.GET.get("status", Partner.Status.SUBMITTED)
    if status not in (*Partner.APPLICATION_STATUSES, "all"):
        status = Partner.Status.SUBMITTED
    category = request.GET.get("category", "")
    applications = application_review_queue(user=request.user, status=status, category=category)
    page = Paginator(applications, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/review/queue.html",
        {
            "page": page,
            "rows": application_review_rows(user=request.user, partners=page.object_list),
            "status": status,
            "statuses": [
                (value, label)
                for value, label in Partner.Status.choices
                if value in Partner.APPLICATION_STATUSES
            ],
            "category": category,
            "categories": partner_categories(active_only=False),
        },
    )


@login_required
def review_open(request: HttpRequest, partner_id: int) -> HttpResponse:
    """The workflow's link for a document: reviewers go to the review page, the
    applicant to their own application pages."""
    own = partner_of_user(request.user)
    if own is not None:
        if own.pk != partner_id:
            raise Http404
        for name in APPLICANT_PAGE_NAMES:
            try:
                return redirect(reverse(name))
            except NoReverseMatch:
                continue
    return redirect("partners:review_detail", partner_id=partner_id)


def _documents(partner: Partner, user) -> list[dict]:
    """The application's qualification documents with the attachments the user may see."""
    with_files = attachment_owner_registration("partners.qualification") is not None
    return [
        {
            "qualification": qualification,
            "attachments": list(attachment_list_for(owner=qualification, user=user))
            if with_files
            else [],
        }
        for qualification in partner.qualifications.filter(is_current=True).select_related(
            "requirement"
        )
    ]


def _partner_attachments(partner: Partner, user) -> list:
    if attachment_owner_registration("partners.partner") is None:
        return []
    return list(attachment_list_for(owner=partner, user=user))


def _criteria_rows(panel) -> list[dict]:
    return [
        {
            "code": criterion.get("code"),
            "label": criterion_label(criterion),
            "max_score": criterion.get("max_score"),
        }
        for criterion in (panel.criteria if panel else [])
    ]


@login_required
def review_detail(request: HttpRequest, partner_id: int) -> HttpResponse:
    _require(request, "partners.review_partner")
    partner = _visible_partner(request, partner_id)
    workflow = workflow_document_context(
        target=partner, definition_code=PARTNER_APPLICATION_WORKFLOW, user=request.user
    )
    instance = workflow["workflow_instance"]
    in_progress = instance is not None and instance.status == "in_progress"
    is_task_holder = in_progress and "approve" in workflow["workflow_actions"]
    panel = (
        expert_panel_for_round(partner=partner, round_number=instance.round) if instance else None
    )
    at_panel_step = in_progress and instance.current_step == STEP_EXPERT_PANEL
    panel_needed = in_progress and instance.current_step in (STEP_EXPERT_PANEL, STEP_DECISION)
    candidates = expert_draw_candidates(partner=partner) if at_panel_step else []
    excluded: dict[str, int] = {}
    for candidate in candidates:
        if not candidate.is_eligible:
            excluded[candidate.reason] = excluded.get(candidate.reason, 0) + 1
    default_size = expert_panel_size_for(partner.category)
    return render(
        request,
        "partners/review/detail.html",
        {
            "partner": partner,
            "documents": _documents(partner, request.user),
            "partner_attachments": _partner_attachments(partner, request.user),
            "versions": partner.versions.all()[:10],
            "step_names": application_step_names(),
            "current_step": instance.current_step if in_progress else None,
            "panel": panel,
            "panel_criteria": _criteria_rows(panel),
            "panel_reproducible": expert_panel_redraw_check(panel) if panel else None,
            "past_panels": [
                other
                for other in expert_panels_of(partner=partner)
                if other.pk != getattr(panel, "pk", None)
            ],
            "eligible_count": sum(1 for candidate in candidates if candidate.is_eligible),
            "excluded": [(str(EXCLUSION_REASONS[key]), count) for key, count in excluded.items()],
            "default_size": default_size,
            "is_task_holder": is_task_holder,
            "can_draw": is_task_holder and at_panel_step and panel is None,
            "can_approve": is_task_holder
            and (not panel_needed or (panel is not None and panel.completed_at is not None)),
            "panel_blocks_approval": is_task_holder
            and panel_needed
            and (panel is None or panel.completed_at is None),
            "approve_form": ApproveForm(),
            "reject_form": RejectForm(),
            "draw_form": PanelDrawForm(default_size=default_size),
            "delegate_actions": ["delegate"] if "delegate" in workflow["workflow_actions"] else [],
            **workflow,
        },
    )


def _back_to_review(partner_id: int) -> HttpResponse:
    return redirect("partners:review_detail", partner_id=partner_id)


@login_required
@require_POST
def review_approve(request: HttpRequest, partner_id: int) -> HttpResponse:
    _require(request, "partners.review_partner")
    _visible_partner(request, partner_id)
    form = ApproveForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        application_review_approve(partner_id=partner_id, actor=request.user, comment=comment)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Approved."))
    return _back_to_review(partner_id)


@login_required
@require_POST
def review_reject(request: HttpRequest, partner_id: int) -> HttpResponse:
    _require(request, "partners.review_partner")
    _visible_partner(request, partner_id)
    form = RejectForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reasons for returning the application."))
        return _back_to_review(partner_id)
    try:
        application_review_reject(
            partner_id=partner_id, actor=request.user, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The application was returned to the applicant."))
    return _back_to_review(partner_id)


@login_required
@require_POST
def review_panel_draw(request: HttpRequest, partner_id: int) -> HttpResponse:
    _require(request, "partners.review_partner")
    partner = _visible_partner(request, partner_id)
    form = PanelDrawForm(request.POST, default_size=expert_panel_size_for(partner.category))
    if not form.is_valid():
        messages.error(request, _("The panel size must be at least 1."))
        return _back_to_review(partner_id)
    try:
        panel = expert_panel_draw(
            partner_id=partner_id, actor=request.user, size=form.cleaned_data["size"]
        )
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request, _("%(size)s experts were drawn and notified.") % {"size": panel.size}
        )
    return _back_to_review(partner_id)


# --- Expert panels ----------------------------------------------------------------------


@login_required
def my_reviews(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.view_expertpanel")
    expert = expert_of_user(request.user)
    panels = list(expert_panels_for_expert(user=request.user))
    mine = {
        score.panel_id: score
        for score in (expert.scores.filter(panel__in=panels) if expert is not None else [])
    }
    return render(
        request,
        "partners/review/my_reviews.html",
        {
            "expert": expert,
            "rows": [{"panel": panel, "score": mine.get(panel.pk)} for panel in panels],
            "conflicts": expert.conflicts.order_by("-created_at") if expert else [],
            "conflict_form": ConflictForm(),
        },
    )


@login_required
@require_POST
def my_conflict_declare(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.view_expertpanel")
    expert = expert_of_user(request.user)
    if expert is None:
        raise Http404
    form = ConflictForm(request.POST)
    if form.is_valid():
        try:
            expert_conflict_declare(actor=request.user, expert_id=expert.pk, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The conflict of interest was recorded."))
    else:
        messages.error(request, _("Give the company and the reason."))
    return redirect("partners:my_reviews")


@login_required
def review_panel(request: HttpRequest, panel_id: int) -> HttpResponse:
    """A panel: the expert's score form (drawn experts) and, once complete (or for
    reviewing staff), every expert's scores with the mean and spread."""
    try:
        panel = expert_panel_get_for(user=request.user, panel_id=panel_id)
    except NotFound as exc:
        raise Http404 from exc
    partner = panel.partner
    my_score = expert_panel_score_of(panel=panel, user=request.user)
    instance = application_workflow(partner)
    is_open = (
        instance is not None
        and instance.status == "in_progress"
        and instance.round == panel.round
        and instance.current_step == STEP_EXPERT_PANEL
    )
    can_score = my_score is not None and my_score.submitted_at is None and is_open
    form = ScoreForm(request.POST or None, criteria=panel.criteria)
    if request.method == "POST":
        if not can_score:
            raise PermissionDenied
        if form.is_valid():
            try:
                expert_score_submit(
                    panel_id=panel.pk,
                    actor=request.user,
                    scores=form.scores(),
                    comment=form.cleaned_data["comment"],
                )
            except ApplicationError as exc:
                form_add_application_error(form, exc)
            else:
                messages.success(request, _("Your scores were submitted."))
                return redirect("partners:review_panel", panel_id=panel.pk)
    is_reviewer = my_score is None  # staff reading the panel of an application they review
    show_all = is_reviewer or panel.completed_at is not None
    scores = list(panel.scores.select_related("expert__user").order_by("pk"))
    return render(
        request,
        "partners/review/panel.html",
        {
            "panel": panel,
            "partner": partner,
            "documents": _documents(partner, request.user),
            "criteria": _criteria_rows(panel),
            "my_score": my_score,
            "can_score": can_score,
            "is_open": is_open,
            "form": form,
            "show_all": show_all,
            "scores": scores
            if show_all
            else [s for s in scores if s.pk == getattr(my_score, "pk", None)],
            "is_reviewer": is_reviewer,
            "drawn_ids": expert_panel_drawn_ids(panel) if is_reviewer else [],
            "panel_reproducible": expert_panel_redraw_check(panel) if is_reviewer else None,
        },
    )


# --- Expert pool ----------------------------------------------------------------------


@login_required
def expert_list_view(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.manage_expert")
    query = request.GET.get("q", "").strip()
    domain = request.GET.get("domain", "")
    active = request.GET.get("active", "")
    experts = expert_list(user=request.user, query=query, domain=domain, active=active)
    page = Paginator(experts.prefetch_related("conflicts"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "partners/review/expert_list.html",
        {
            "page": page,
            "q": query,
            "domain": domain,
            "active": active,
            "domains": ExpertEditForm().fields["domains"].choices,
        },
    )


@login_required
def expert_create_view(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.manage_expert")
    form = ExpertCreateForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        org = data.pop("org")
        try:
            expert = expert_create(actor=request.user, org_id=org.pk if org else None, **data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(
                request, _("%(name)s was added to the expert pool.") % {"name": expert}
            )
            return redirect("partners:expert_edit", expert_id=expert.pk)
    return render(request, "partners/review/expert_form.html", {"form": form, "expert": None})


@login_required
def expert_edit_view(request: HttpRequest, expert_id: int) -> HttpResponse:
    _require(request, "partners.manage_expert")
    try:
        expert = expert_get_for(user=request.user, expert_id=expert_id)
    except NotFound as exc:
        raise Http404 from exc
    initial = {
        "domains": expert.domains,
        "organisation": expert.organisation,
        "organisation_uscc": expert.organisation_uscc,
        "title": expert.title,
        "is_active": expert.is_active,
    }
    form = ExpertEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            expert_update(actor=request.user, expert_id=expert.pk, **form.cleaned_data)
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(request, _("The expert was saved."))
            return redirect("partners:expert_edit", expert_id=expert.pk)
    return render(
        request,
        "partners/review/expert_form.html",
        {
            "form": form,
            "expert": expert,
            "conflicts": expert.conflicts.order_by("-created_at"),
            "conflict_form": ConflictForm(),
        },
    )


@login_required
@require_POST
def expert_conflict_add(request: HttpRequest, expert_id: int) -> HttpResponse:
    _require(request, "partners.manage_expert")
    try:
        expert = expert_get_for(user=request.user, expert_id=expert_id)
    except NotFound as exc:
        raise Http404 from exc
    form = ConflictForm(request.POST)
    if form.is_valid():
        try:
            expert_conflict_declare(actor=request.user, expert_id=expert.pk, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The conflict of interest was recorded."))
    else:
        messages.error(request, _("Give the company and the reason."))
    return redirect("partners:expert_edit", expert_id=expert.pk)


@login_required
@require_POST
def expert_conflict_delete(request: HttpRequest, expert_id: int, conflict_id: int) -> HttpResponse:
    _require(request, "partners.manage_expert")
    try:
        expert = expert_get_for(user=request.user, expert_id=expert_id)
        if not expert.conflicts.filter(pk=conflict_id).exists():
            raise NotFound()
        expert_conflict_remove(actor=request.user, conflict_id=conflict_id)
    except NotFound as exc:
        raise Http404 from exc
    messages.success(request, _("The declared conflict was removed."))
    return redirect("partners:expert_edit", expert_id=expert.pk)


# --- Introduction sources -------------------------------------------------------------


@login_required
def recommend(request: HttpRequest) -> HttpResponse:
    _require(request, "partners.recommend_partner")
    form = RecommendForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            partner = partner_recommend(
                actor=request.user,
                company_name=data["company_name"],
                username=data["username"],
                email=data["email"],
                category_code=data["category"],
                managing_org_id=data["managing_org"].pk,
                note=data["note"],
            )
        except ApplicationError as exc:
            form_add_application_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "%(company)s was recorded. The account %(username)s was created and its "
                    "initial password e-mailed to the company."
                )
                % {"company": partner.company_name, "username": partner.admin_user.username},
            )
            return redirect("partners:recommend")
    return render(
        request,
        "partners/review/recommend.html",
        {"form": form, "recent": partner_recommendations_by(user=request.user)},
    )


@login_required
def source_report(request: HttpRequest) -> HttpResponse:
    """Applications by introduction source × category × status over a date range, as a
    page or a csv/xlsx download (``?format=``)."""
    _require(request, "partners.view_partner")
    form = SourceReportForm(request.GET or None)
    date_from = date_to = None
    if form.is_bound and form.is_valid():
        date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    rows, totals = partner_source_report(user=request.user, date_from=date_from, date_to=date_to)
    statuses = Partner.Status.choices
    fmt = request.GET.get("format", "")
    if fmt in FORMATS and (not form.is_bound or form.is_valid()):
        headers = [
            _("Source"),
            _("Category"),
            *[str(label) for _value, label in statuses],
            _("Total"),
        ]
        table = [
            [
                row.source_label,
                row.category_label,
                *[row.counts[v] for v, _l in statuses],
                row.total,
            ]
            for row in rows
        ]
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = HttpResponse(
            table_write([str(header) for header in headers], table, fmt),
            content_type=CONTENT_TYPES[fmt],
        )
        response["Content-Disposition"] = f'attachment; filename="partner-sources-{stamp}.{fmt}"'
        return response
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "partners/review/source_report.html",
        {
            "form": form,
            "rows": [
                {"row": row, "cells": [row.counts[value] for value, _label in statuses]}
                for row in rows
            ],
            "statuses": statuses,
            "totals": [totals[value] for value, _label in statuses],
            "grand_total": totals["total"],
            "query": query.urlencode(),
        },
    )
