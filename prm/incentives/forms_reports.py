"""Filters of the run analysis, the promoter's statement pages and the reports."""

from __future__ import annotations

import re
from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.incentives.artefacts import VerdictFilters
from prm.incentives.reasons import QUALIFIED, REASON_CODES, reason_label
from prm.incentives.selectors_reports import (
    VOLUME_GROUPS,
    ReportFilters,
    report_channels,
    report_cities,
)

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_SELECT = {"class": "form-select form-select-sm"}
_INPUT = {"class": "form-control form-control-sm"}


def _reason_choices():
    return [("", _("All records")), (QUALIFIED, _("Qualified"))] + [
        (code, reason_label(code)) for code in REASON_CODES
    ]


class VerdictFilterForm(forms.Form):
    """The verdict list of a run: by reason, channel, city, promoter; ``after`` is the
    keyset cursor (the last record id of the previous page)."""

    reason = forms.ChoiceField(label=_("Reason"), required=False, widget=forms.Select(_SELECT))
    channel = forms.IntegerField(label=_("Channel"), required=False, min_value=1)
    city = forms.IntegerField(label=_("City"), required=False, min_value=1)
    promoter = forms.IntegerField(label=_("Promoter"), required=False, min_value=1)
    after = forms.IntegerField(required=False, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].choices = _reason_choices()

    def filters(self, *, promoter_id: int | None = None) -> VerdictFilters:
        data = self.cleaned_data if self.is_valid() else {}
        return VerdictFilters(
            reason=data.get("reason") or None,
            channel_id=data.get("channel"),
            city_id=data.get("city"),
            promoter_id=promoter_id if promoter_id is not None else data.get("promoter"),
        )

    def cursor(self) -> int | None:
        return self.cleaned_data.get("after") if self.is_valid() else None


class MyVerdictFilterForm(forms.Form):
    """A promoter's records in one run: all, or only those that earned nothing."""

    unpaid = forms.BooleanField(label=_("Only records without rebate"), required=False)
    after = forms.IntegerField(required=False, min_value=0)


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "class": "form-control form-control-sm"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        match = _MONTH.match(value.strip())
        if match is None:
            raise forms.ValidationError(_("Enter a month as YYYY-MM."), code="invalid_month")
        return date(int(match.group(1)), int(match.group(2)), 1)


class ReportFilterForm(forms.Form):
    """Month range, city and channel of a report (the user's subtree only)."""

    month_from = MonthField(label=_("From month"), required=False)
    month_to = MonthField(label=_("To month"), required=False)
    city = forms.ModelChoiceField(
        label=_("City"), queryset=None, required=False, widget=forms.Select(_SELECT)
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=None, required=False, widget=forms.Select(_SELECT)
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["city"].queryset = report_cities(user=user).order_by("path")
        self.fields["channel"].queryset = report_channels(user=user)

    def clean(self):
        data = super().clean()
        start, end = data.get("month_from"), data.get("month_to")
        if start and end and start > end:
            self.add_error("month_to", _("The end month is before the start month."))
        return data

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            month_from=data.get("month_from"),
            month_to=data.get("month_to"),
            city_id=data["city"].pk if data.get("city") else None,
            channel_id=data["channel"].pk if data.get("channel") else None,
        )


GROUP_LABELS = {
    "promoter": _("Promoter"),
    "channel": _("Channel"),
    "product": _("Product"),
    "month": _("Month"),
}


class VolumeReportForm(ReportFilterForm):
    group = forms.ChoiceField(
        label=_("By"),
        required=False,
        # Channel first: the report's default (a missing or blank ``group``).
        choices=[("channel", GROUP_LABELS["channel"])]
        + [(group, GROUP_LABELS[group]) for group in VOLUME_GROUPS if group != "channel"],
        widget=forms.Select(_SELECT),
    )

    field_order = ("group", "month_from", "month_to", "city", "channel")

    def selected_group(self) -> str:
        return (self.cleaned_data.get("group") if self.is_valid() else None) or "channel"
