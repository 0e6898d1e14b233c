"""The partners module's cards on the home pages (registered with core's dashboard)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.core.dashboard import HomePanel, home_panel_register
from prm.partners.models import Agreement, ChangeRequest, Partner, Qualification
from prm.partners.selectors import partner_of_user, partners_visible

STAFF_VIEWS = ("management", "admin", "audit", "operations", "account_manager")


def _staff_figures(user) -> list[tuple[str, int, str]]:
    if user.is_partner_user or not user.has_perm("partners.view_partner"):
        return []
    partners = partners_visible(user)
    counts = partners.aggregate(
        active=Count("pk", filter=Q(status=Partner.Status.ACTIVE)),
        in_review=Count("pk", filter=Q(status=Partner.Status.SUBMITTED)),
        exiting=Count("pk", filter=Q(status=Partner.Status.EXITING)),
        suspended=Count("pk", filter=Q(status=Partner.Status.ACTIVE, business_suspended=True)),
    )
    today = timezone.localdate()
    expiring = Qualification.objects.filter(
        partner__in=partners.filter(status=Partner.Status.ACTIVE).values("pk"),
        is_current=True,
        expires_on__gte=today,
        expires_on__lte=today + timedelta(days=30),
    ).count()
    agreements = Agreement.objects.filter(
        partner__in=partners.values("pk"), status=Agreement.Status.EXPIRING
    ).count()
    registry = reverse("partners:partner_list")
    return [
        (_("Active partners"), counts["active"], f"{registry}?status=active"),
        (_("Applications under review"), counts["in_review"], reverse("partners:review_queue")),
        (_("Qualifications expiring within 30 days"), expiring, ""),
        (_("Partners with new business suspended"), counts["suspended"], ""),
        (_("Agreements expiring"), agreements, reverse("partners:agreement_list")),
        (_("Partners exiting"), counts["exiting"], reverse("partners:exit_list")),
    ]


def _partner_figures(user) -> list[tuple[str, int, str]]:
    partner = partner_of_user(user)
    if partner is None or partner.is_application:
        return []
    today = timezone.localdate()
    expiring = partner.qualifications.filter(
        is_current=True, expires_on__lte=today + timedelta(days=30)
    ).count()
    changes = partner.change_requests.filter(status=ChangeRequest.Status.SUBMITTED).count()
    codes = partner.business_codes.filter(status="active").count()
    return [
        (_("Qualifications expiring within 30 days or expired"), expiring,
         reverse("partners:my_profile")),
        (_("Change requests under review"), changes, reverse("partners:change_request_list")),
        (_("Active business codes"), codes, reverse("partners:code_list")),
    ]  # fmt: skip


home_panel_register(
    HomePanel(
        key="partners_staff",
        title=gettext_lazy("Partners"),
        views=STAFF_VIEWS,
        figures=_staff_figures,
        icon="buildings",
        order=10,
    ),
    HomePanel(
        key="partners_own",
        title=gettext_lazy("My company"),
        views=("partner",),
        figures=_partner_figures,
        icon="building",
        order=10,
    ),
)
