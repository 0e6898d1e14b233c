"""Reads behind the home dashboards (R0 roles & views): counts and series, scoped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from prm.core.forms_audit import day_start
from prm.core.models import AuditEvent
from prm.core.scoping import scope_by_path

LOGIN_ACTION = "auth.login"


def day_range(*, days: int, today: date | None = None) -> list[date]:
    """The last ``days`` local days, oldest first, ending today."""
    today = today or timezone.localdate()
    return [today - timedelta(days=offset) for offset in reversed(range(days))]


def events_per_day(*, events: QuerySet[AuditEvent], days: int) -> list[int]:
    """How many of ``events`` fell on each of the last ``days`` local days (one query)."""
    span = day_range(days=days)
    rows = (
        events.filter(created_at__gte=day_start(span[0]))
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {row["day"]: row["n"] for row in rows}
    return [counts.get(day, 0) for day in span]


def login_event_list(*, user) -> QuerySet[AuditEvent]:
    """Successful sign-ins of users in the user's scope."""
    return scope_by_path(
        AuditEvent.objects.filter(action=LOGIN_ACTION), user=user, path_field="org_path"
    )


def pending_approval_count(*, user) -> int:
    from prm.core.workflow import workflow_task_list

    return workflow_task_list(user=user).count()


def logins_chart_option(*, series: dict[str, list[int]], days: int) -> dict:
    """An ECharts option: one bar series per entry of ``series`` over the last days."""
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 32, "right": 12, "top": 32, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "category", "data": [d.strftime("%m-%d") for d in day_range(days=days)]},
        "yAxis": {"type": "value", "minInterval": 1},
        "series": [
            {"name": name, "type": "bar", "data": data, "barMaxWidth": 24}
            for name, data in series.items()
        ],
    }


# --- Home panels registered by domain apps ------------------------------------------------


@dataclass(frozen=True)
class HomePanel:
    """A card on the home page of some views, drawn by its app: ``figures(user)`` returns
    ``[(label, value, url)]`` or an empty list when the card has nothing for the user."""

    key: str
    title: str
    views: tuple[str, ...]
    figures: Callable[..., list[tuple[str, int, str]]]
    icon: str = "speedometer2"
    order: int = 100


_panels: dict[str, HomePanel] = {}


def home_panel_register(*panels: HomePanel) -> None:
    for panel in panels:
        _panels[panel.key] = panel


def home_panels_for(*, user, view: str) -> list[dict]:
    """The cards of ``view`` that have figures for the user, in order."""
    cards = []
    for panel in sorted(_panels.values(), key=lambda panel: (panel.order, panel.key)):
        if view not in panel.views:
            continue
        figures = panel.figures(user)
        if figures:
            cards.append({"title": panel.title, "icon": panel.icon, "figures": figures})
    return cards
