"""API: the run analysis, the promoter's statements and the reports (/api/v1/incentives/…).

Staff endpoints need ``incentives.view_settlementrun`` (token scope ``incentives.read``)
and see the runs of their subtree only (another city's run answers 404). ``/my/…`` is
the signed-in promoter's own data. Subscriber numbers are masked (all but the last 4
digits) for callers without ``incentives.view_recommendation``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from prm.api import ErrorOut, require_permission
from prm.core.exceptions import ApplicationError, NotFound
from prm.incentives import artefacts
from prm.incentives.reasons import QUALIFIED, REASON_CODES
from prm.incentives.selectors import promoter_of_user
from prm.incentives.selectors_reports import (
    VOLUME_GROUPS,
    ReportFilters,
    failure_reason_report,
    is_provisional,
    my_statements,
    payout_report,
    report_allowed,
    report_channels,
    report_cities,
    run_analysis,
    run_for_analysis,
    verdict_explanation,
    verdict_page_for,
    volume_report,
)

router = Router(tags=["incentives"])

READ_SCOPE = "incentives.read"
VIEW_RUNS = "incentives.view_settlementrun"
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
REASON_PATTERN = "^(" + "|".join((QUALIFIED, *REASON_CODES)) + ")$"


class ReasonCountOut(Schema):
    code: str
    label: str
    count: int


class GroupTotalOut(Schema):
    code: str | None = Field(None, description="Channel code (channels only)")
    name: str | None
    records: int
    qualified: int
    failed: int
    amount: Decimal


class RunAnalysisOut(Schema):
    number: str
    period: str
    city: str
    status: str
    rule_version: str
    records: int
    qualified: int
    failed: int
    amount: Decimal
    clawback_amount: Decimal
    reasons: list[ReasonCountOut] = Field(
        description="'qualified' first, then every reason code (a record failing several "
        "rules counts under each)"
    )
    channels: list[GroupTotalOut]
    cities: list[GroupTotalOut]


class VerdictOut(Schema):
    record_id: int
    number: str = Field(description="The development record's public number")
    promoter_work_id: str | None
    promoter_name: str | None
    channel_code: str | None
    city_name: str | None
    msisdn: str = Field(description="Masked unless the caller may view recommendations")
    product_code: str
    period: str
    qualified: bool
    reasons: list[str]
    amount: Decimal


class VerdictPageOut(Schema):
    items: list[VerdictOut]
    next_after: int | None = Field(
        description="Pass as ``after`` for the next page; null on the last page"
    )


class ExplanationOut(Schema):
    code: str
    label: str
    text: str


class VerdictDetailOut(VerdictOut):
    recommended_at: datetime | None
    confirmed_at: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    explanations: list[ExplanationOut]


class VerdictQuery(Schema):
    reason: str | None = Field(None, pattern=REASON_PATTERN, description="Code or 'qualified'")
    channel: str | None = Field(None, description="Channel code")
    promoter: str | None = Field(None, description="Promoter work ID")
    qualified: bool | None = None
    after: int | None = Field(None, ge=0, description="Last record_id of the previous page")


class StatementOut(Schema):
    run: str
    period: str
    status: str
    provisional: bool
    records: int
    qualified: int
    gross_amount: Decimal
    clawback_amount: Decimal
    carried_in: Decimal
    adjustment_amount: Decimal
    net_amount: Decimal
    payable_amount: Decimal
    carry_forward: Decimal


class ReportQuery(Schema):
    month_from: str | None = Field(None, pattern=MONTH_PATTERN, description="YYYY-MM")
    month_to: str | None = Field(None, pattern=MONTH_PATTERN, description="YYYY-MM")
    city: str | None = Field(None, description="City org code")
    channel: str | None = Field(None, description="Channel code")


class VolumeQuery(ReportQuery):
    group: str = Field("channel", pattern="^(" + "|".join(VOLUME_GROUPS) + ")$")


class VolumeRowOut(Schema):
    code: str
    name: str
    recorded: int
    confirmed: int
    qualified: int | None
    target: int | None
    achieved_percent: Decimal | None


class PayoutRowOut(Schema):
    run: str
    period: str
    city: str
    statements: int
    gross_amount: Decimal
    clawback_amount: Decimal
    payable_amount: Decimal
    promoters_paid: int


class FailureReasonOut(Schema):
    code: str
    label: str
    count: int
    percent: Decimal | None


class FailureReasonsOut(Schema):
    records: int
    reasons: list[FailureReasonOut]


def _require_staff(request: HttpRequest) -> None:
    require_permission(request, VIEW_RUNS, scope=READ_SCOPE)
    if not report_allowed(user=request.user):
        raise PermissionDenied


def _verdict_out(row: dict) -> dict:
    return {
        "record_id": row["record_id"],
        "number": row["number"],
        "promoter_work_id": row["work_id"],
        "promoter_name": row["promoter_name"],
        "channel_code": row["channel_code"],
        "city_name": row["city_name"],
        "msisdn": row["msisdn"],
        "product_code": row["product_code"],
        "period": row["period"],
        "qualified": row["qualified"],
        "reasons": row["reason_codes"],
        "amount": row["amount"],
    }


def _group_out(rows: list[dict]) -> list[dict]:
    return [
        {
            "code": row["code"],
            "name": row["name"],
            "records": row["records"],
            "qualified": row["qualified"],
            "failed": row["failed"],
            "amount": row["amount"],
        }
        for row in rows
    ]


@router.get(
    "/runs/{number}/analysis",
    response={200: RunAnalysisOut, **ERRORS},
    summary="A computed run's totals per reason, channel and city",
)
def run_analysis_get(request, number: str):
    _require_staff(request)
    run = run_for_analysis(user=request.user, number=number)
    analysis = run_analysis(run=run)
    totals = analysis.totals
    return {
        "number": run.number,
        "period": run.period,
        "city": run.org.name,
        "status": run.status,
        "rule_version": run.rule_version,
        "records": totals.records,
        "qualified": totals.qualified,
        "failed": totals.failed,
        "amount": totals.amount,
        "clawback_amount": totals.clawback_amount,
        "reasons": analysis.reasons,
        "channels": _group_out(analysis.channels),
        "cities": _group_out(analysis.cities),
    }


@router.get(
    "/runs/{number}/verdicts",
    response={200: VerdictPageOut, **ERRORS},
    summary="A page of a run's verdicts (50, by record_id; keyset: pass next_after as after)",
)
def run_verdicts(request, number: str, filters: Query[VerdictQuery]):
    _require_staff(request)
    run = run_for_analysis(user=request.user, number=number)
    promoter_id = None
    if filters.promoter:
        from prm.incentives.models import Promoter

        promoter_id = (
            Promoter.objects.filter(work_id=filters.promoter).values_list("pk", flat=True).first()
        )
        if promoter_id is None:
            return {"items": [], "next_after": None}
    rows, next_after = verdict_page_for(
        user=request.user,
        run=run,
        filters=artefacts.VerdictFilters(
            reason=filters.reason,
            channel_code=filters.channel,
            promoter_id=promoter_id,
            qualified=filters.qualified,
        ),
        after=filters.after,
    )
    return {"items": [_verdict_out(row) for row in rows], "next_after": next_after}


@router.get(
    "/runs/{number}/verdicts/{record_id}",
    response={200: VerdictDetailOut, **ERRORS},
    summary="One record's verdict, its window and each reason in words",
)
def run_verdict(request, number: str, record_id: int):
    _require_staff(request)
    run = run_for_analysis(user=request.user, number=number)
    record = verdict_explanation(user=request.user, run=run, record_id=record_id)
    return {
        **_verdict_out(record),
        "recommended_at": record["recommended_at"],
        "confirmed_at": record["confirmed_at"],
        "window_start": record["window_start"],
        "window_end": record["window_end"],
        "explanations": record["explanations"],
    }


@router.get(
    "/my/statements",
    response={200: list[StatementOut], **ERRORS},
    summary="The signed-in promoter's statements (provisional until the run is approved)",
)
def my_statement_list(request):
    if promoter_of_user(user=request.user) is None:
        raise ApplicationError("not_a_promoter", _("Only a promoter has statements."), status=403)
    return [
        {
            "run": statement.run.number,
            "period": statement.run.period,
            "status": statement.run.status,
            "provisional": is_provisional(statement.run),
            "records": statement.records,
            "qualified": statement.qualified,
            "gross_amount": statement.gross_amount,
            "clawback_amount": statement.clawback_amount,
            "carried_in": statement.carried_in,
            "adjustment_amount": statement.adjustment_amount,
            "net_amount": statement.net_amount,
            "payable_amount": statement.payable_amount,
            "carry_forward": statement.carry_forward,
        }
        for statement in my_statements(user=request.user)
    ]


def _month(value: str | None) -> date | None:
    if not value:
        return None
    year, month = value.split("-")
    return date(int(year), int(month), 1)


def _report_filters(request: HttpRequest, query: ReportQuery) -> ReportFilters:
    city_id = channel_id = None
    if query.city:
        city_id = (
            report_cities(user=request.user)
            .filter(code=query.city)
            .values_list("pk", flat=True)
            .first()
        )
        if city_id is None:
            raise NotFound(_("No such city in your scope."))
    if query.channel:
        channel_id = (
            report_channels(user=request.user)
            .filter(code=query.channel)
            .values_list("pk", flat=True)
            .first()
        )
        if channel_id is None:
            raise NotFound(_("No such channel in your scope."))
    month_from, month_to = _month(query.month_from), _month(query.month_to)
    if month_from and month_to and month_from > month_to:
        raise ApplicationError(
            "month_range", _("The end month is before the start month."), status=400
        )
    return ReportFilters(
        month_from=month_from, month_to=month_to, city_id=city_id, channel_id=channel_id
    )


@router.get(
    "/reports/volume",
    response={200: list[VolumeRowOut], **ERRORS},
    summary="Development volume by promoter, channel, product or month against targets",
)
def report_volume(request, query: Query[VolumeQuery]):
    _require_staff(request)
    report = volume_report(
        user=request.user, filters=_report_filters(request, query), group=query.group
    )
    return [
        {
            "code": row.code,
            "name": row.name,
            "recorded": row.recorded,
            "confirmed": row.confirmed,
            "qualified": row.qualified,
            "target": row.target,
            "achieved_percent": row.achieved_percent,
        }
        for row in report.rows
    ]


@router.get(
    "/reports/payouts",
    response={200: list[PayoutRowOut], **ERRORS},
    summary="Approved runs: gross, clawbacks, payable and promoters paid",
)
def report_payouts(request, query: Query[ReportQuery]):
    _require_staff(request)
    rows = payout_report(user=request.user, filters=_report_filters(request, query))
    return [
        {
            "run": row.number,
            "period": row.period,
            "city": row.city,
            "statements": row.statements,
            "gross_amount": row.gross_amount,
            "clawback_amount": row.clawback_amount,
            "payable_amount": row.payable_amount,
            "promoters_paid": row.promoters_paid,
        }
        for row in rows
    ]


@router.get(
    "/reports/failure-reasons",
    response={200: FailureReasonsOut, **ERRORS},
    summary="Failing reasons over the approved runs, most frequent first",
)
def report_failure_reasons(request, query: Query[ReportQuery]):
    _require_staff(request)
    report = failure_reason_report(user=request.user, filters=_report_filters(request, query))
    return {
        "records": report.records,
        "reasons": [
            {"code": row.code, "label": row.label, "count": row.count, "percent": row.percent}
            for row in report.rows
        ],
    }
