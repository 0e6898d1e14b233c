"""Reads of the incentive analysis and reports (R4 commission query and statistics,
marketing volume tracking).

- A run's analysis (staff of the run's city or above holding ``view_settlementrun``):
  totals per reason, channel and city, verdict pages and one record's explanation, read
  from the run's artefact files (``prm.incentives.artefacts``) and completed with the
  development records of the page from the database in one query.
- A promoter's own statements and verdicts (``promoter_of_user``): only their rows, ever.
- Reports over the user's subtree: development volume against targets, payout history,
  failure reasons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from prm.core.exceptions import NotFound
from prm.core.scoping import scope_by_org, scope_by_path, scope_org_ids
from prm.incentives import artefacts
from prm.incentives.models import (
    Channel,
    DevelopmentTarget,
    Product,
    Recommendation,
    SettlementRun,
    SettlementStatement,
)
from prm.incentives.reasons import (
    QUALIFIED,
    REASON_CODES,
    reason_codes_of,
    reason_label,
    verdict_explain,
    window_of,
)
from prm.incentives.selectors import promoter_of_user, runs_visible

# Runs whose result files and statements exist.
RESULT_STATUSES = (
    SettlementRun.Status.COMPUTED,
    SettlementRun.Status.SUBMITTED,
    SettlementRun.Status.APPROVED,
)
VIEW_RUNS = "incentives.view_settlementrun"
VIEW_NUMBERS = "incentives.view_recommendation"
_ZERO = Decimal("0.00")


def msisdn_display(msisdn: str, *, full: bool) -> str:
    """A subscriber number, all digits but the last 4 masked unless ``full``."""
    msisdn = str(msisdn or "")
    if full or len(msisdn) <= 4:
        return msisdn
    return "*" * (len(msisdn) - 4) + msisdn[-4:]


def may_see_numbers(*, user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.has_perm(VIEW_NUMBERS))


# --- A run's analysis ---------------------------------------------------------------------


def run_for_analysis(*, user, number: str) -> SettlementRun:
    """A run with results that the user may analyse; NotFound otherwise (outside the
    scope, no permission, or not computed yet)."""
    run = (
        runs_visible(user=user)
        .select_related("org")
        .filter(number=number, status__in=RESULT_STATUSES)
        .first()
    )
    if run is None:
        raise NotFound()
    return run


def run_directory(run: SettlementRun) -> Path:
    return Path(run.artefact_dir) if run.artefact_dir else Path("/nonexistent")


@dataclass
class RunAnalysis:
    totals: artefacts.RunTotals
    reasons: list[dict]  # [{code, label, count}] qualified first, then failing reasons
    channels: list[dict]
    cities: list[dict]


def run_analysis(*, run: SettlementRun) -> RunAnalysis:
    """The run's totals per reason (a record failing several rules counts in each, plus
    "qualified"), per channel and per city (of the promoters at the time of the run)."""
    directory = run_directory(run)
    totals = artefacts.run_totals(directory=directory)
    reasons = [{"code": QUALIFIED, "label": reason_label(QUALIFIED), "count": totals.qualified}]
    reasons += [
        {"code": code, "label": reason_label(code), "count": totals.reasons[code]}
        for code in REASON_CODES
    ]
    channels = artefacts.channel_totals(directory=directory, totals=totals)
    cities = artefacts.city_totals(directory=directory, totals=totals)
    for row in (*channels, *cities):
        row["failed"] = row["records"] - row["qualified"]
    return RunAnalysis(totals=totals, reasons=reasons, channels=channels, cities=cities)


def _recommendation_details(record_ids: list[int]) -> dict[int, dict]:
    """The development records behind verdict rows, in one query."""
    if not record_ids:
        return {}
    rows = Recommendation.objects.filter(pk__in=record_ids).values(
        "pk",
        "number",
        "msisdn",
        "recommended_at",
        "confirmed_at",
        "status",
        "product__code",
        "product__name",
        "product__monthly_fee",
    )
    return {row["pk"]: row for row in rows}


def _verdict_out(row: dict, detail: dict | None, *, full_numbers: bool) -> dict:
    """A verdict row with its development record's facts, its reasons' labels and each
    reason in words."""
    codes = reason_codes_of(row["reasons"])
    detail = detail or {}
    out = {
        **row,
        "msisdn": msisdn_display(row["msisdn"], full=full_numbers),
        "number": detail.get("number", ""),
        "recommended_at": detail.get("recommended_at"),
        "confirmed_at": detail.get("confirmed_at"),
        "product_name": detail.get("product__name", ""),
        "monthly_fee": detail.get("product__monthly_fee"),
        "reason_codes": codes,
        "reason_labels": [reason_label(code) for code in codes],
        "window_start": None,
        "window_end": None,
    }
    if out["recommended_at"] is not None:
        out["window_start"], out["window_end"] = window_of(out["recommended_at"])
    facts = {
        "recommended_at": out["recommended_at"],
        "confirmed_at": out["confirmed_at"],
        "monthly_fee": out["monthly_fee"],
        "product": out["product_name"] or row["product_code"],
    }
    out["explanations"] = [
        {"code": code, "label": reason_label(code), "text": text}
        for code, text in zip(
            codes or [QUALIFIED], verdict_explain(row["reasons"], facts), strict=True
        )
    ]
    return out


def verdict_page_for(
    *,
    user,
    run: SettlementRun,
    filters: artefacts.VerdictFilters,
    after: int | None = None,
) -> tuple[list[dict], int | None]:
    """One page of the run's verdicts, each completed with its development record (the
    page's records in one query) and its reasons in words; subscriber numbers masked
    unless the user may see them."""
    page = artefacts.verdict_page(directory=run_directory(run), filters=filters, after=after)
    details = _recommendation_details([row["record_id"] for row in page.rows])
    full = may_see_numbers(user=user)
    rows = [
        _verdict_out(row, details.get(row["record_id"]), full_numbers=full) for row in page.rows
    ]
    return rows, page.next_after


def verdict_explanation(
    *, user, run: SettlementRun, record_id: int, promoter_id: int | None = None
) -> dict:
    """One record's verdict with its window and each failing reason in words; NotFound
    when the record is not in the run (or, with ``promoter_id``, not that promoter's)."""
    row = artefacts.verdict_get(
        directory=run_directory(run), record_id=record_id, promoter_id=promoter_id
    )
    if row is None:
        raise NotFound()
    detail = _recommendation_details([record_id]).get(record_id)
    return _verdict_out(row, detail, full_numbers=may_see_numbers(user=user))


# --- A promoter's own statements -----------------------------------------------------------


def my_statements(*, user) -> QuerySet[SettlementStatement]:
    """The signed-in promoter's statements: of approved runs, and of computed or
    submitted runs (provisional: the figures may still change); newest period first."""
    promoter = promoter_of_user(user=user)
    if promoter is None:
        return SettlementStatement.objects.none()
    return (
        SettlementStatement.objects.filter(promoter=promoter, run__status__in=RESULT_STATUSES)
        .select_related("run")
        .order_by("-run__period", "-run__pk")
    )


def my_statement_get(*, user, number: str) -> SettlementStatement:
    """The promoter's own statement in run ``number``; NotFound for anybody else's run."""
    statement = my_statements(user=user).filter(run__number=number).first()
    if statement is None:
        raise NotFound()
    return statement


def is_provisional(run: SettlementRun) -> bool:
    return run.status != SettlementRun.Status.APPROVED


# --- Reports -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilters:
    month_from: date | None = None  # first day of a month
    month_to: date | None = None
    city_id: int | None = None
    channel_id: int | None = None

    @property
    def period_from(self) -> str | None:
        return self.month_from.strftime("%Y-%m") if self.month_from else None

    @property
    def period_to(self) -> str | None:
        return self.month_to.strftime("%Y-%m") if self.month_to else None


def _month_start(month: date) -> datetime:
    return timezone.make_aware(datetime(month.year, month.month, 1))


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def report_allowed(*, user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and not user.is_partner_user
        and user.has_perm(VIEW_RUNS)
    )


def report_cities(*, user):
    """The cities a report may be narrowed to (the user's subtree)."""
    from django.apps import apps

    org_unit = apps.get_model("accounts", "OrgUnit")
    if not report_allowed(user=user):
        return org_unit.objects.none()
    return scope_by_path(org_unit.objects.filter(kind="city"), user=user, path_field="path")


def report_channels(*, user) -> QuerySet[Channel]:
    if not report_allowed(user=user):
        return Channel.objects.none()
    return scope_by_org(Channel.objects.all(), user=user).order_by("code")


def _approved_runs(*, user, filters: ReportFilters) -> QuerySet[SettlementRun]:
    if not report_allowed(user=user):
        return SettlementRun.objects.none()
    runs = runs_visible(user=user).filter(status=SettlementRun.Status.APPROVED)
    if filters.period_from:
        runs = runs.filter(period__gte=filters.period_from)
    if filters.period_to:
        runs = runs.filter(period__lte=filters.period_to)
    if filters.city_id:
        runs = runs.filter(org_id=filters.city_id)
    return runs


VOLUME_GROUPS = ("promoter", "channel", "product", "month")


@dataclass
class VolumeRow:
    key: object
    code: str
    name: str
    recorded: int = 0
    confirmed: int = 0
    qualified: int | None = 0
    target: int | None = None

    @property
    def achieved_percent(self) -> Decimal | None:
        if not self.target or self.qualified is None:
            return None
        return (Decimal(self.qualified) * 100 / self.target).quantize(Decimal("0.1"))


@dataclass
class VolumeReport:
    group: str
    rows: list[VolumeRow] = field(default_factory=list)

    def total(self, name: str) -> int | None:
        values = [getattr(row, name) for row in self.rows if getattr(row, name) is not None]
        return sum(values) if values else None


_RECORD_KEYS = {
    "promoter": ("promoter_id", "promoter__work_id", "promoter__name"),
    "channel": ("channel_id", "channel__code", "channel__name"),
    "product": ("product_id", "product__code", "product__name"),
}
_STATEMENT_KEYS = {
    "promoter": ("promoter_id", "promoter__work_id", "promoter__name"),
    "channel": ("promoter__channel_id", "promoter__channel__code", "promoter__channel__name"),
    "month": ("run__period", "run__period", "run__period"),
}
_TARGET_KEYS = {
    "channel": ("channel_id", "channel__code", "channel__name"),
    "product": ("product_id", "product__code", "product__name"),
}


def volume_report(*, user, filters: ReportFilters, group: str = "channel") -> VolumeReport:
    """Development volume by promoter, channel, product or month (R4 marketing: targets
    and volume tracking).

    - recorded / confirmed: the development records of the months (by the month of the
      recommendation), counted in the database (``confirmed`` = the subscriber replied);
    - qualified: records that earned a rebate in the approved runs of the months (by the
      run's period, i.e. the month their window closed): from the runs' statements per
      promoter, channel (the promoter's channel) and month; per product from the runs'
      verdict files;
    - target: the sum of the development targets of the months — the channel-wide ones
      (no product) per channel and month, the product ones per product; none per promoter.
    """
    if group not in VOLUME_GROUPS:
        raise NotFound()
    report = VolumeReport(group=group)
    if not report_allowed(user=user):
        return report
    rows: dict[object, VolumeRow] = {}

    def row_for(key, code, name) -> VolumeRow:
        if key not in rows:
            rows[key] = VolumeRow(key=key, code=str(code or ""), name=str(name or ""))
        return rows[key]

    # Recorded and confirmed (one GROUP BY query).
    records = scope_by_org(Recommendation.objects.all(), user=user)
    if filters.month_from:
        records = records.filter(recommended_at__gte=_month_start(filters.month_from))
    if filters.month_to:
        records = records.filter(recommended_at__lt=_month_start(_next_month(filters.month_to)))
    if filters.city_id:
        records = records.filter(org_id__in=_city_subtree(filters.city_id))
    if filters.channel_id:
        records = records.filter(channel_id=filters.channel_id)
    if group == "month":
        grouped = records.annotate(key=TruncMonth("recommended_at")).values("key")
        counted = grouped.annotate(
            recorded=Count("pk"), confirmed=Count("pk", filter=Q(confirmed_at__isnull=False))
        ).order_by()
        for item in counted:
            label = item["key"].strftime("%Y-%m")
            row = row_for(label, label, label)
            row.recorded, row.confirmed = item["recorded"], item["confirmed"]
    else:
        key, code, name = _RECORD_KEYS[group]
        counted = (
            records.values(key, code, name)
            .annotate(
                recorded=Count("pk"),
                confirmed=Count("pk", filter=Q(confirmed_at__isnull=False)),
            )
            .order_by()
        )
        for item in counted:
            row = row_for(item[key], item[code], item[name])
            row.recorded, row.confirmed = item["recorded"], item["confirmed"]

    # Qualified, from the approved runs.
    runs = _approved_runs(user=user, filters=filters)
    if group == "product":
        directories = [run_directory(run) for run in runs.only("artefact_dir")]
        by_code = artefacts.runs_qualified_by_product(
            directories=directories, channel_id=filters.channel_id
        )
        if by_code:
            for product in Product.objects.filter(code__in=list(by_code)).only("code", "name"):
                row_for(product.pk, product.code, product.name).qualified = by_code[product.code]
    else:
        key, code, name = _STATEMENT_KEYS[group]
        statements = SettlementStatement.objects.filter(run__in=runs)
        if filters.channel_id:
            statements = statements.filter(promoter__channel_id=filters.channel_id)
        for item in (
            statements.values(key, code, name).annotate(qualified=Sum("qualified")).order_by()
        ):
            row_for(item[key], item[code], item[name]).qualified = int(item["qualified"] or 0)

    # Targets.
    if group != "promoter":
        targets = DevelopmentTarget.objects.filter(channel__org_id__in=scope_org_ids(user=user))
        if filters.month_from:
            targets = targets.filter(month__gte=filters.month_from)
        if filters.month_to:
            targets = targets.filter(month__lte=filters.month_to)
        if filters.city_id:
            targets = targets.filter(channel__org_id__in=_city_subtree(filters.city_id))
        if filters.channel_id:
            targets = targets.filter(channel_id=filters.channel_id)
        if group == "month":
            for item in (
                targets.filter(product__isnull=True)
                .values("month")
                .annotate(total=Sum("target"))
                .order_by()
            ):
                label = item["month"].strftime("%Y-%m")
                row_for(label, label, label).target = int(item["total"])
        else:
            key, code, name = _TARGET_KEYS.get(group, _TARGET_KEYS["channel"])
            targets = targets.filter(product__isnull=(group == "channel"))
            for item in targets.values(key, code, name).annotate(total=Sum("target")).order_by():
                row_for(item[key], item[code], item[name]).target = int(item["total"])
        for row in rows.values():
            if row.target is None:
                row.target = 0
    report.rows = sorted(
        rows.values(), key=lambda row: (row.code == "", row.code, row.name, str(row.key))
    )
    return report


def _city_subtree(city_id: int):
    from django.apps import apps

    org_unit = apps.get_model("accounts", "OrgUnit")
    city = org_unit.objects.filter(pk=city_id).values_list("path", flat=True)
    return org_unit.objects.filter(path__startswith=city.first() or "/none/").values("pk")


@dataclass
class PayoutRow:
    number: str
    period: str
    city: str
    statements: int
    gross_amount: Decimal
    clawback_amount: Decimal
    payable_amount: Decimal
    promoters_paid: int


def payout_report(*, user, filters: ReportFilters) -> list[PayoutRow]:
    """Payout history: per approved run (period, city) the gross amount, clawbacks,
    payable amount and the number of promoters paid (payable > 0), from the statements
    (of one channel's promoters when filtered), newest period first."""
    runs = _approved_runs(user=user, filters=filters)
    statements = SettlementStatement.objects.filter(run__in=runs)
    if filters.channel_id:
        statements = statements.filter(promoter__channel_id=filters.channel_id)
    grouped = (
        statements.values("run_id", "run__number", "run__period", "run__org__name")
        .annotate(
            statements=Count("pk"),
            gross=Sum("gross_amount"),
            clawback=Sum("clawback_amount"),
            payable=Sum("payable_amount"),
            paid=Count("pk", filter=Q(payable_amount__gt=0)),
        )
        .order_by("-run__period", "run__org__name", "run__number")
    )
    return [
        PayoutRow(
            number=item["run__number"],
            period=item["run__period"],
            city=item["run__org__name"],
            statements=item["statements"],
            gross_amount=Decimal(item["gross"] or 0).quantize(_ZERO),
            clawback_amount=Decimal(item["clawback"] or 0).quantize(_ZERO),
            payable_amount=Decimal(item["payable"] or 0).quantize(_ZERO),
            promoters_paid=item["paid"],
        )
        for item in grouped
    ]


@dataclass
class FailureReasonRow:
    code: str
    label: str
    count: int
    percent: Decimal | None  # of the records settled


@dataclass
class FailureReasonReport:
    records: int
    rows: list[FailureReasonRow]


def failure_reason_report(*, user, filters: ReportFilters) -> FailureReasonReport:
    """The failing reasons over the approved runs in scope, most frequent first: the sum
    of the runs' ``summary.reasons``; for one channel, counted from the runs' verdict
    files over the promoters of that channel at the time of each run."""
    runs = _approved_runs(user=user, filters=filters)
    counts: dict[str, int] = dict.fromkeys(REASON_CODES, 0)
    if filters.channel_id:
        directories = [run_directory(run) for run in runs.only("artefact_dir")]
        records, found = artefacts.runs_reason_records(
            directories=directories, channel_id=filters.channel_id
        )
        counts.update(found)
    else:
        records = 0
        for summary in runs.values_list("summary", flat=True):
            summary = summary or {}
            records += int(summary.get("records") or 0)
            for code, count in (summary.get("reasons") or {}).items():
                if code in counts:
                    counts[code] += int(count)
    rows = [
        FailureReasonRow(
            code=code,
            label=reason_label(code),
            count=count,
            percent=(Decimal(count) * 100 / records).quantize(Decimal("0.1")) if records else None,
        )
        for code, count in counts.items()
    ]
    rows.sort(key=lambda row: (-row.count, REASON_CODES.index(row.code)))
    return FailureReasonReport(records=records, rows=rows)
