"""Forms of channels, outlets and development targets (they parse input; the rules live
in ``prm.incentives.services.channels``)."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.incentives.models import Channel
from prm.incentives.selectors_channels import (
    channel_filter_org_choices,
    channel_org_choices,
    channel_partner_choices,
    channels_active_for_choice,
)
from prm.incentives.selectors_products import product_choices

INDENT = "\u3000"  # an ideographic space: indents the org tree in a <select>


class BootstrapMixin:
    def _style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


def form_filters(form: forms.Form) -> dict:
    """The given filters; a value the form refuses (a code outside the user's scope) is
    passed on as it is, so that it matches nothing instead of everything."""
    if not form.is_bound:
        return {}
    if form.is_valid():
        return {key: value for key, value in form.cleaned_data.items() if value}
    values = {key: value for key, value in form.cleaned_data.items() if value}
    values.update({name: form.data.get(name) for name in form.errors if form.data.get(name)})
    return values


class _OrgChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{INDENT * obj.depth}{obj.name} ({obj.code})"


class _PartnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.company_name} ({obj.code})"


class ChannelFilterForm(BootstrapMixin, forms.Form):
    """The channel list's filters (the same keys as the API's ``ChannelFilters``)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Channel type"), required=False)
    org = forms.ChoiceField(label=_("Organisation"), required=False)
    active = forms.ChoiceField(label=_("State"), required=False)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Code or name")
        self.fields["kind"].choices = [("", _("All types")), *Channel.Kind.choices]
        self.fields["org"].choices = [("", _("All organisations"))] + [
            (org.code, f"{INDENT * org.depth}{org.name}")
            for org in channel_filter_org_choices(user=user)
        ]
        self.fields["active"].choices = [
            ("", _("Active and inactive")),
            ("1", _("Active")),
            ("0", _("Inactive")),
        ]
        self._style()

    def filters(self) -> dict:
        return form_filters(self)


class ChannelForm(BootstrapMixin, forms.Form):
    """Basic info and parameters of a channel; the code only when creating."""

    code = forms.CharField(label=_("Channel code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Channel type"), choices=Channel.Kind.choices)
    org = _OrgChoiceField(label=_("Managing operator node"), queryset=None)
    partner = _PartnerChoiceField(
        label=_("Partner"),
        queryset=None,
        required=False,
        help_text=_("The partner that runs the channel, if any."),
    )
    contact_name = forms.CharField(label=_("Contact"), max_length=100, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=20, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    rebate_share_percent = forms.DecimalField(
        label=_("Rebate share (%)"),
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
        initial=100,
        help_text=_("Share of each rebate paid to the channel's promoters."),
    )
    monthly_quota = forms.IntegerField(label=_("Monthly development quota"), min_value=0, initial=0)

    def __init__(self, *args, user, with_code: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_code:
            del self.fields["code"]
        self.fields["org"].queryset = channel_org_choices(user=user)
        self.fields["partner"].queryset = channel_partner_choices(user=user)
        self._style()


class OutletForm(BootstrapMixin, forms.Form):
    code = forms.CharField(label=_("Outlet code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=200)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)

    def __init__(self, *args, with_code: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_code:
            del self.fields["code"]
        self._style()


def parse_month(value: str) -> date:
    """``YYYY-MM`` (or an ISO date) → the first day of that month."""
    text = str(value or "").strip()
    try:
        if len(text) == 7:
            year, month = text.split("-")
            return date(int(year), int(month), 1)
        return date.fromisoformat(text[:10]).replace(day=1)
    except ValueError:
        raise forms.ValidationError(_("Give the month as YYYY-MM.")) from None


class MonthField(forms.CharField):
    widget = forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"})

    def to_python(self, value):
        value = super().to_python(value)
        return parse_month(value) if value else None

    def prepare_value(self, value):
        return value.strftime("%Y-%m") if isinstance(value, date) else value


class _ChannelChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.code} {obj.name}"


class TargetForm(BootstrapMixin, forms.Form):
    month = MonthField(label=_("Month"))
    channel = _ChannelChoiceField(label=_("Channel"), queryset=None, to_field_name="code")
    product = _ChannelChoiceField(
        label=_("Product"),
        queryset=None,
        required=False,
        to_field_name="code",
        empty_label=_("All products"),
    )
    target = forms.IntegerField(label=_("Target"), min_value=0)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["channel"].queryset = channels_active_for_choice(user=user)
        self.fields["product"].queryset = product_choices().order_by("code")
        self._style()


class TargetFilterForm(BootstrapMixin, forms.Form):
    month_from = MonthField(label=_("From month"), required=False)
    month_to = MonthField(label=_("To month"), required=False)
    channel = forms.CharField(label=_("Channel code"), required=False, max_length=30)
    product = forms.CharField(label=_("Product code"), required=False, max_length=30)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}
