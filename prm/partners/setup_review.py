"""Registrations of the introduction review (imported in ``PartnersConfig.ready``): the
application workflow, menu entries; the notification events are registered by
``prm.partners.services.review`` when imported here."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from prm.core.models import WorkflowStep
from prm.core.navigation import NavItem, nav_register
from prm.core.workflow import DefinitionSpec, StepSpec, workflow_register
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.services import review

PARTNERS_SECTION = _("Partners")


def _document_url(target) -> str:
    # One address for approvers and the applicant: the page sends each to their view.
    return reverse("partners:review_open", kwargs={"partner_id": target.pk})


def _province_step(name) -> StepSpec:
    return StepSpec(
        name=name,
        approver_role="partner_manager",
        org_scope=WorkflowStep.OrgScope.LEVEL,
        org_level="province",
        deadline_hours=72,
        remind_before_hours=24,
    )


PARTNER_APPLICATION = workflow_register(
    DefinitionSpec(
        code=PARTNER_APPLICATION_WORKFLOW,
        name=_("Partner application (introduction review)"),
        steps=(
            _province_step(_("Province department check")),
            _province_step(_("Expert panel review")),
            _province_step(_("Decision")),
        ),
        on_submitted=review.partner_application_on_submitted,
        on_approved=review.partner_application_approve,
        on_rejected=review.partner_application_on_rejected,
        on_withdrawn=review.partner_application_on_withdrawn,
        document_url=_document_url,
        before_approve=review.partner_application_before_approve,
    )
)

nav_register(
    NavItem(
        key="partner_reviews",
        label=_("Application reviews"),
        url_name="partners:review_queue",
        icon="clipboard-check",
        permission="partners.review_partner",
        audience="operator",
        section=PARTNERS_SECTION,
        order=210,
    ),
    NavItem(
        key="partner_my_reviews",
        label=_("My reviews"),
        url_name="partners:my_reviews",
        icon="star-half",
        permission="partners.view_expertpanel",
        audience="operator",
        section=PARTNERS_SECTION,
        order=215,
    ),
    NavItem(
        key="partner_experts",
        label=_("Expert pool"),
        url_name="partners:expert_list",
        icon="mortarboard",
        permission="partners.manage_expert",
        audience="operator",
        section=PARTNERS_SECTION,
        order=220,
    ),
    NavItem(
        key="partner_recommend",
        label=_("Recommend a partner"),
        url_name="partners:recommend",
        icon="hand-thumbs-up",
        permission="partners.recommend_partner",
        audience="operator",
        section=PARTNERS_SECTION,
        order=225,
    ),
    NavItem(
        key="partner_source_report",
        label=_("Introduction sources"),
        url_name="partners:source_report",
        icon="bar-chart",
        permission="partners.view_partner",
        audience="operator",
        section=PARTNERS_SECTION,
        order=230,
    ),
)
