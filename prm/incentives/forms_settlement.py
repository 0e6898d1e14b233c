"""Forms of the settlement runs and adjustments (they only parse input; the rules live in
``services/settlement.py``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.accounts.models import OrgUnit
from prm.incentives.models import SettlementRun
from prm.incentives.selectors_settlement import cities_visible, runs_approved_for


def _style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class _CityField(forms.ModelChoiceField):
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{obj.name} ({obj.code})"


class _RunField(forms.ModelChoiceField):
    def label_from_instance(self, obj: SettlementRun) -> str:
        return f"{obj.number} · {obj.org.name} · {obj.period}"


class RunFilterForm(forms.Form):
    period = forms.CharField(
        label=_("Period"),
        required=False,
        max_length=7,
        widget=forms.TextInput(attrs={"placeholder": "YYYY-MM"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All"))] + list(SettlementRun.Status.choices),
    )
    city = _CityField(label=_("City"), required=False, queryset=OrgUnit.objects.none())

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["city"].queryset = cities_visible(user=user)
        self.fields["city"].empty_label = _("All")
        _style(self)


class RunStartForm(forms.Form):
    city = _CityField(label=_("City"), queryset=OrgUnit.objects.none())
    period = forms.CharField(
        label=_("Period"),
        max_length=7,
        help_text=_(
            "The month whose observation windows closed (YYYY-MM). The run of the 15th "
            "settles the previous month."
        ),
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cities = cities_visible(user=user)
        self.fields["city"].queryset = cities
        if cities.count() == 1:
            self.fields["city"].initial = cities.first()
        _style(self)


class AdjustmentFilterForm(forms.Form):
    q = forms.CharField(label=_("Promoter (work ID or name)"), required=False, max_length=100)
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All")), ("pending", _("Not paid yet")), ("applied", _("Paid"))],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class AdjustmentForm(forms.Form):
    work_id = forms.CharField(label=_("Promoter's work ID"), max_length=20)
    amount = forms.DecimalField(
        label=_("Amount (yuan)"),
        max_digits=14,
        decimal_places=2,
        help_text=_("Positive: paid to the promoter; negative: taken back. Not zero."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    corrects_run = _RunField(
        label=_("Corrects the settlement"), queryset=SettlementRun.objects.none()
    )

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["corrects_run"].queryset = runs_approved_for(user=user)
        _style(self)
