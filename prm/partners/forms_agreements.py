"""Forms of agreements, business codes, exits and the blacklist (the business rules live
in the services; these only parse input)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.partners.models import Agreement, BusinessCode, ExitCase, Partner
from prm.partners.selectors import partners_visible


def _style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def _active_partners(user):
    return partners_visible(user).filter(status=Partner.Status.ACTIVE).order_by("company_name")


class _PartnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Partner) -> str:
        return f"{obj.company_name} ({obj.code})" if obj.code else obj.company_name


class AgreementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_on = forms.DateField(
        label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    ends_on = forms.DateField(
        label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    business_scope = forms.CharField(
        label=_("Business scope"), widget=forms.Textarea(attrs={"rows": 3})
    )
    settlement_model = forms.ChoiceField(
        label=_("Settlement model"), choices=Agreement.SettlementModel.choices
    )
    revenue_share_percent = forms.DecimalField(
        label=_("Partner's revenue share (%)"),
        required=False,
        max_digits=5,
        decimal_places=2,
        help_text=_("For revenue share and mixed models: above 0, at most 100."),
    )
    fixed_fee = forms.DecimalField(
        label=_("Fixed fee (yuan per month)"),
        required=False,
        max_digits=14,
        decimal_places=2,
        help_text=_("For fixed fee and mixed models: above 0."),
    )

    def __init__(self, *args, user=None, with_partner: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if with_partner:
            self.fields = {
                "partner": _PartnerChoiceField(label=_("Partner"), queryset=_active_partners(user)),
                **self.fields,
            }
        _style(self)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class BusinessCodeForm(forms.Form):
    partner = _PartnerChoiceField(label=_("Partner"), queryset=Partner.objects.none())
    code = forms.CharField(label=_("Business code"), max_length=30)
    name = forms.CharField(label=_("Business name"), max_length=200)
    service_type = forms.CharField(label=_("Service type"), max_length=50, required=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = _active_partners(user)
        _style(self)


class CodeFilterForm(forms.Form):
    q = forms.CharField(label=_("Code or name"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *BusinessCode.Status.choices],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class AgreementFilterForm(forms.Form):
    q = forms.CharField(label=_("Number, title or company"), required=False)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *Agreement.Status.choices],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class ExitFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *ExitCase.Kind.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *ExitCase.Status.choices],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class ExitApplyForm(forms.Form):
    reason = forms.CharField(
        label=_("Why does your company leave the cooperation?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class ExitStartForm(forms.Form):
    partner = _PartnerChoiceField(label=_("Partner"), queryset=Partner.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=ExitCase.Kind.choices)
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners_visible(user).filter(
            status__in=(Partner.Status.ACTIVE, Partner.Status.EXITING)
        )
        _style(self)


class BlacklistForm(forms.Form):
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=18, min_length=18)
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    reason = forms.CharField(
        label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)
