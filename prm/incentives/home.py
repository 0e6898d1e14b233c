"""The incentives module's cards on the home pages (registered with core's dashboard):
for staff reading settlement runs, the runs waiting for approval and the figures of the
latest run; for a promoter, this month's recommendations and their last statement."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from prm.core.dashboard import HomePanel, home_panel_register
from prm.incentives.models import Recommendation, SettlementRun
from prm.incentives.selectors import promoter_of_user, runs_visible
from prm.incentives.selectors_reports import RESULT_STATUSES, my_statements, report_allowed

STAFF_VIEWS = ("management", "audit", "admin")


def _url(name: str, **kwargs) -> str:
    """A page of another concern, or no link while it is not installed."""
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def _staff_figures(user) -> list[tuple[str, object, str]]:
    if not report_allowed(user=user):
        return []
    runs = runs_visible(user=user)
    counts = runs.aggregate(
        submitted=Count("pk", filter=Q(status=SettlementRun.Status.SUBMITTED)),
        computed=Count("pk", filter=Q(status=SettlementRun.Status.COMPUTED)),
    )
    run_list = _url("incentives:run_list")
    figures: list[tuple[str, object, str]] = [
        (_("Settlement runs awaiting approval"), counts["submitted"], run_list),
        (_("Settlement runs computed, not submitted"), counts["computed"], run_list),
    ]
    last = (
        runs.filter(status__in=RESULT_STATUSES)
        .select_related("org")
        .order_by("-period", "-finished_at", "-pk")
        .first()
    )
    if last is not None:
        analysis = reverse("incentives:run_analysis", kwargs={"number": last.number})
        names = {"period": last.period, "city": last.org.name}
        figures += [
            (_("Last run %(period)s %(city)s: records") % names, last.records, analysis),
            (_("Last run %(period)s %(city)s: qualified") % names, last.qualified, analysis),
            (_("Last run %(period)s %(city)s: payable (yuan)") % names, last.payable_amount,
             analysis),
        ]  # fmt: skip
    return figures


def _promoter_figures(user) -> list[tuple[str, object, str]]:
    promoter = promoter_of_user(user=user)
    if promoter is None:
        return []
    today = timezone.localdate()
    month_start = timezone.make_aware(datetime(today.year, today.month, 1))
    counts = Recommendation.objects.filter(
        promoter=promoter, recommended_at__gte=month_start
    ).aggregate(recorded=Count("pk"), confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)))
    recommendations = _url("incentives:recommendation_mine")
    figures: list[tuple[str, object, str]] = [
        (_("My recommendations this month"), counts["recorded"], recommendations),
        (_("Confirmed by the subscriber this month"), counts["confirmed"], recommendations),
    ]
    statement = my_statements(user=user).first()
    if statement is not None:
        run = statement.run
        label = (
            _("Last statement %(period)s (provisional): payable (yuan)")
            if run.status != SettlementRun.Status.APPROVED
            else _("Last statement %(period)s: payable (yuan)")
        ) % {"period": run.period}
        figures.append(
            (label, statement.payable_amount, reverse("incentives:my_statement",
                                                      kwargs={"number": run.number}))
        )  # fmt: skip
    return figures


home_panel_register(
    HomePanel(
        key="incentives_runs",
        title=gettext_lazy("Incentive settlements"),
        views=STAFF_VIEWS,
        figures=_staff_figures,
        icon="cash-coin",
        order=30,
    ),
    HomePanel(
        key="incentives_promoter",
        title=gettext_lazy("My rebates"),
        views=("promoter",),
        figures=_promoter_figures,
        icon="cash-coin",
        order=10,
    ),
)
