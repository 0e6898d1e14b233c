"""Pages of the incentive analysis and reports (R4 commission query and statistics).

- ``/incentives/settlement/runs/<number>/analysis/``: a run's totals per reason, channel and city
  (ECharts), the records of a reason (htmx) and one record's explanation — staff of the
  run's city or above holding ``view_settlementrun``; a run outside the scope is 404.
- ``/incentives/my/statements/``: the signed-in promoter's own statements, records and
  reasons; anybody else's run or record is 404.
- ``/incentives/reports/…``: development volume against targets, payout history and
  failure reasons over the user's subtree, each exportable as xlsx or csv.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.core.exceptions import ApplicationError, NotFound
from prm.core.imports import CONTENT_TYPES, FORMATS, table_write
from prm.core.pages import is_htmx_partial
from prm.incentives import artefacts
from prm.incentives.forms_reports import (
    GROUP_LABELS,
    MyVerdictFilterForm,
    ReportFilterForm,
    VerdictFilterForm,
    VolumeReportForm,
)
from prm.incentives.reasons import reason_label
from prm.incentives.selectors import promoter_of_user
from prm.incentives.selectors_reports import (
    ReportFilters,
    failure_reason_report,
    is_provisional,
    my_statement_get,
    my_statements,
    payout_report,
    report_allowed,
    run_analysis,
    run_for_analysis,
    verdict_explanation,
    verdict_page_for,
    volume_report,
)

CHART_TOP = 15  # channels drawn in the chart (the table lists them all)


def _require_staff(request: HttpRequest) -> None:
    """Operator staff holding ``view_settlementrun`` (the run/scope check follows)."""
    if not report_allowed(user=request.user):
        raise PermissionDenied


def _require_promoter(request: HttpRequest):
    promoter = promoter_of_user(user=request.user)
    if promoter is None:
        raise PermissionDenied
    return promoter


def _run(request: HttpRequest, number: str):
    """A run the user may analyse; 404 for one outside their scope or without results."""
    try:
        return run_for_analysis(user=request.user, number=number)
    except NotFound as error:
        raise Http404 from error


def _own_statement(request: HttpRequest, number: str):
    """The promoter's own statement in run ``number``; 404 for anybody else's."""
    try:
        return my_statement_get(user=request.user, number=number)
    except NotFound as error:
        raise Http404 from error


def _url_or_empty(name: str, **kwargs) -> str:
    """A page of another concern that may not be installed yet."""
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in ("format", *names):
        query.pop(name, None)
    return query.urlencode()


# --- Charts (ECharts options) --------------------------------------------------------------


def _bar_option(
    *, categories: list[str], series: dict[str, list], horizontal: bool = False, stack=False
) -> dict:
    category_axis = {"type": "category", "data": categories, "axisLabel": {"interval": 0}}
    value_axis = {"type": "value", "minInterval": 1}
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"top": 0},
        "grid": {"left": 12, "right": 24, "top": 32, "bottom": 12, "containLabel": True},
        "xAxis": value_axis if horizontal else {**category_axis, "axisLabel": {"rotate": 30}},
        "yAxis": {**category_axis, "inverse": True} if horizontal else value_axis,
        "series": [
            {
                "name": name,
                "type": "bar",
                "data": data,
                "barMaxWidth": 28,
                **({"stack": "total"} if stack else {}),
            }
            for name, data in series.items()
        ],
    }


def _reasons_chart(reasons: list[dict]) -> dict:
    return _bar_option(
        categories=[row["label"] for row in reasons],
        series={_("Records"): [row["count"] for row in reasons]},
        horizontal=True,
    )


def _groups_chart(rows: list[dict], *, unknown: str) -> dict:
    rows = rows[:CHART_TOP]
    return _bar_option(
        categories=[row["name"] or unknown for row in rows],
        series={
            _("Qualified"): [row["qualified"] for row in rows],
            _("Not qualified"): [row["failed"] for row in rows],
        },
        stack=True,
    )


# --- A run's analysis -------------------------------------------------------------------------


@login_required
def run_analysis_page(request: HttpRequest, number: str) -> HttpResponse:
    """A computed run in figures: reasons, channels, cities; the records of a reason."""
    _require_staff(request)
    run = _run(request, number)
    context: dict = {
        "run": run,
        "run_url": _url_or_empty("incentives:run_detail", number=run.number),
        "form": VerdictFilterForm(request.GET or None),
    }
    try:
        analysis = run_analysis(run=run)
    except ApplicationError as error:
        context["error"] = error.message
        return render(request, "incentives/reports/run_analysis.html", context, status=409)
    context.update(
        analysis=analysis,
        reasons_chart=_reasons_chart(analysis.reasons),
        # The page's click handler maps a bar (same order) to its reason code.
        reason_codes=[row["code"] for row in analysis.reasons],
        channels_chart=_groups_chart(analysis.channels, unknown=_("No channel")),
        cities_chart=_groups_chart(analysis.cities, unknown=_("No city")),
    )
    if request.GET:
        context.update(_records_context(request, run, context["form"]))
    return render(request, "incentives/reports/run_analysis.html", context)


def _records_context(request: HttpRequest, run, form: VerdictFilterForm) -> dict:
    if not form.is_valid():
        return {"records_loaded": True, "rows": [], "next_after": None}
    rows, next_after = verdict_page_for(
        user=request.user, run=run, filters=form.filters(), after=form.cursor()
    )
    reason = form.cleaned_data.get("reason") or ""
    return {
        "records_loaded": True,
        "rows": rows,
        "next_after": next_after,
        "is_first_page": form.cursor() is None,
        "records_query": _query_without(request, "after"),
        "reason_title": reason_label(reason) if reason else _("All records"),
    }


@login_required
def run_records(request: HttpRequest, number: str) -> HttpResponse:
    """The run's records of a reason / channel / city / promoter, 50 a page (keyset)."""
    _require_staff(request)
    run = _run(request, number)
    form = VerdictFilterForm(request.GET)
    context = {"run": run, "form": form}
    status = 200 if form.is_valid() else 400
    try:
        context.update(_records_context(request, run, form))
    except ApplicationError as error:
        context.update(error=error.message, rows=[], records_loaded=True)
        status = 409
    template = (
        "incentives/reports/_records.html"
        if is_htmx_partial(request)
        else "incentives/reports/run_records.html"
    )
    return render(request, template, context, status=status)


@login_required
def run_record(request: HttpRequest, number: str, record_id: int) -> HttpResponse:
    """One record of the run: its facts, its window, its verdict and why."""
    _require_staff(request)
    run = _run(request, number)
    try:
        record = verdict_explanation(user=request.user, run=run, record_id=record_id)
    except NotFound as error:
        raise Http404 from error
    except ApplicationError as error:
        return render(
            request,
            "incentives/reports/record.html",
            {"run": run, "error": error.message},
            status=error.status,
        )
    return render(
        request,
        "incentives/reports/record.html",
        {
            "run": run,
            "record": record,
            "back_url": reverse("incentives:run_analysis", kwargs={"number": run.number}),
        },
    )


# --- A promoter's own statements ------------------------------------------------------------


@login_required
def my_statement_list(request: HttpRequest) -> HttpResponse:
    """The promoter's statements, newest first; unapproved ones marked provisional."""
    _require_promoter(request)
    statements = list(my_statements(user=request.user))
    return render(
        request,
        "incentives/reports/my_statements.html",
        {"statements": [(s, is_provisional(s.run)) for s in statements]},
    )


@login_required
def my_statement_detail(request: HttpRequest, number: str) -> HttpResponse:
    """The promoter's statement in one run and their records with verdicts and reasons."""
    promoter = _require_promoter(request)
    statement = _own_statement(request, number)
    form = MyVerdictFilterForm(request.GET or None)
    unpaid = form.is_valid() and form.cleaned_data.get("unpaid")
    after = form.cleaned_data.get("after") if form.is_valid() else None
    context: dict = {
        "statement": statement,
        "run": statement.run,
        "provisional": is_provisional(statement.run),
        "form": form,
    }
    try:
        rows, next_after = verdict_page_for(
            user=request.user,
            run=statement.run,
            filters=artefacts.VerdictFilters(
                promoter_id=promoter.pk, qualified=False if unpaid else None
            ),
            after=after,
        )
        clawbacks = artefacts.promoter_clawbacks(
            directory=statement.run.artefact_dir, promoter_id=promoter.pk
        )
    except ApplicationError as error:
        context["error"] = error.message
        return render(request, "incentives/reports/my_statement.html", context, status=409)
    context.update(
        rows=rows,
        next_after=next_after,
        is_first_page=after is None,
        clawbacks=clawbacks,
        records_query=_query_without(request, "after"),
    )
    return render(request, "incentives/reports/my_statement.html", context)


@login_required
def my_record(request: HttpRequest, number: str, record_id: int) -> HttpResponse:
    """One of the promoter's own records in a run and why it earned what it did."""
    promoter = _require_promoter(request)
    statement = _own_statement(request, number)
    try:
        record = verdict_explanation(
            user=request.user, run=statement.run, record_id=record_id, promoter_id=promoter.pk
        )
    except NotFound as error:
        raise Http404 from error
    except ApplicationError as error:
        return render(
            request,
            "incentives/reports/record.html",
            {"run": statement.run, "error": error.message},
            status=error.status,
        )
    return render(
        request,
        "incentives/reports/record.html",
        {
            "run": statement.run,
            "record": record,
            "provisional": is_provisional(statement.run),
            "back_url": reverse("incentives:my_statement", kwargs={"number": number}),
        },
    )


# --- Reports ------------------------------------------------------------------------------------


def _export(name: str, headers: list[str], rows: list[list], fmt: str) -> HttpResponse:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(
        table_write([str(header) for header in headers], rows, fmt),
        content_type=CONTENT_TYPES[fmt],
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    return response


def _report_form(request: HttpRequest, form_class=ReportFilterForm):
    form = form_class(request.GET or None, user=request.user)
    filters = form.filters() if form.is_bound and form.is_valid() else ReportFilters()
    fmt = request.GET.get("format", "")
    export = fmt if fmt in FORMATS and (not form.is_bound or form.is_valid()) else ""
    return form, filters, export


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    _require_staff(request)
    return render(request, "incentives/reports/index.html", {})


@login_required
def report_volume(request: HttpRequest) -> HttpResponse:
    """Development volume by promoter / channel / product / month against targets."""
    _require_staff(request)
    form, filters, export = _report_form(request, VolumeReportForm)
    group = form.selected_group() if form.is_bound else "channel"
    report = volume_report(user=request.user, filters=filters, group=group)
    has_target = group != "promoter"
    headers = [
        str(GROUP_LABELS[group]),
        _("Name"),
        _("Recorded"),
        _("Confirmed"),
        _("Qualified"),
    ]
    if has_target:
        headers += [_("Target"), _("Achieved (%)")]
    if export:
        table = []
        for row in report.rows:
            line = [row.code, row.name, row.recorded, row.confirmed, row.qualified]
            if has_target:
                line += [row.target, "" if row.achieved_percent is None else row.achieved_percent]
            table.append(line)
        return _export(f"incentive-volume-{group}", headers, table, export)
    labels = [row.code if group == "month" else (row.name or row.code) for row in report.rows]
    series = {
        _("Recorded"): [row.recorded for row in report.rows],
        _("Confirmed"): [row.confirmed for row in report.rows],
        _("Qualified"): [row.qualified for row in report.rows],
    }
    chart = _bar_option(categories=labels, series=series)
    if has_target:
        chart["series"].append(
            {
                "name": _("Target"),
                "type": "line",
                "data": [row.target for row in report.rows],
                "symbol": "diamond",
            }
        )
    return render(
        request,
        "incentives/reports/volume.html",
        {
            "form": form,
            "report": report,
            "group": group,
            "group_label": GROUP_LABELS[group],
            "has_target": has_target,
            "totals": {
                name: report.total(name)
                for name in ("recorded", "confirmed", "qualified", "target")
            },
            "chart": chart,
            "query": _query_without(request),
            "tab": "volume",
        },
    )


@login_required
def report_payouts(request: HttpRequest) -> HttpResponse:
    """Approved runs: period, city, gross, clawbacks, payable, promoters paid."""
    _require_staff(request)
    form, filters, export = _report_form(request)
    rows = payout_report(user=request.user, filters=filters)
    headers = [
        _("Run"),
        _("Period"),
        _("City"),
        _("Statements"),
        _("Gross amount"),
        _("Clawbacks"),
        _("Payable"),
        _("Promoters paid"),
    ]
    if export:
        table = [
            [
                row.number,
                row.period,
                row.city,
                row.statements,
                row.gross_amount,
                row.clawback_amount,
                row.payable_amount,
                row.promoters_paid,
            ]
            for row in rows
        ]
        return _export("incentive-payouts", headers, table, export)
    chronological = list(reversed(rows))
    chart = _bar_option(
        categories=[f"{row.period} {row.city}" for row in chronological],
        series={
            _("Payable"): [str(row.payable_amount) for row in chronological],
            _("Clawbacks"): [str(row.clawback_amount) for row in chronological],
        },
    )
    totals = {
        "statements": sum(row.statements for row in rows),
        "gross_amount": sum(row.gross_amount for row in rows),
        "clawback_amount": sum(row.clawback_amount for row in rows),
        "payable_amount": sum(row.payable_amount for row in rows),
        "promoters_paid": sum(row.promoters_paid for row in rows),
    }
    return render(
        request,
        "incentives/reports/payouts.html",
        {
            "form": form,
            "rows": rows,
            "totals": totals,
            "chart": chart,
            "query": _query_without(request),
            "tab": "payouts",
        },
    )


@login_required
def report_failure_reasons(request: HttpRequest) -> HttpResponse:
    """The failing reasons over the approved runs, most frequent first."""
    _require_staff(request)
    form, filters, export = _report_form(request)
    try:
        report = failure_reason_report(user=request.user, filters=filters)
    except ApplicationError as error:
        return render(
            request,
            "incentives/reports/failure_reasons.html",
            {"form": form, "error": error.message, "tab": "failure_reasons"},
            status=error.status,
        )
    headers = [_("Reason code"), _("Reason"), _("Records"), _("Share of records (%)")]
    if export:
        table = [
            [row.code, row.label, row.count, "" if row.percent is None else row.percent]
            for row in report.rows
        ]
        return _export("incentive-failure-reasons", headers, table, export)
    shown = [row for row in report.rows if row.count]
    chart = _bar_option(
        categories=[row.label for row in shown],
        series={_("Records"): [row.count for row in shown]},
        horizontal=True,
    )
    return render(
        request,
        "incentives/reports/failure_reasons.html",
        {
            "form": form,
            "report": report,
            "chart": chart,
            "query": _query_without(request),
            "tab": "failure_reasons",
        },
    )
