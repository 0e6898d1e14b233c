"""Forms of recommendations: the promoter's phone-friendly entry form and the list filters
(the business rules live in the service)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.incentives.models import Recommendation
from prm.incentives.selectors_recommendations import recommendation_fee_label


def _style(form: forms.BaseForm, *, large: bool = False) -> None:
    """Bootstrap 5 classes on every widget (large ones on the promoter's phone form)."""
    for field in form.fields.values():
        widget = field.widget
        base = "form-select" if isinstance(widget, forms.Select) else "form-control"
        widget.attrs.setdefault("class", f"{base} {base}-lg" if large else base)


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return recommendation_fee_label(obj)


class RecommendationForm(forms.Form):
    """A subscriber's number and the product recommended to them."""

    msisdn = forms.CharField(
        label=_("Subscriber's mobile number"),
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "inputmode": "tel",
                "autocomplete": "off",
                "placeholder": "138 0013 8000",
                "autofocus": True,
            }
        ),
        help_text=_("The subscriber receives an SMS and confirms by replying to it."),
    )
    product_code = ProductChoiceField(
        label=_("Product"),
        queryset=None,
        to_field_name="code",
        empty_label=_("Choose a product"),
    )

    def __init__(self, *args, products, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product_code"].queryset = products
        _style(self, large=True)

    def service_arguments(self) -> dict[str, Any]:
        return {
            "msisdn": self.cleaned_data["msisdn"],
            "product_code": self.cleaned_data["product_code"].code,
        }


class MonthField(forms.DateField):
    """A calendar month (``YYYY-MM``, the value of ``<input type="month">``)."""

    widget = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("input_formats", ["%Y-%m", "%Y-%m-%d"])
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)


STATUS_CHOICES = [("", _("All statuses")), *Recommendation.Status.choices]


class _FilterForm(forms.Form):
    def filters(self) -> dict[str, Any]:
        """The valid filter values (an invalid one is left out, the list is not refused)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {key: value for key, value in self.cleaned_data.items() if value}


class MyRecommendationFilterForm(_FilterForm):
    month = MonthField(label=_("Month"))
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class RecommendationFilterForm(_FilterForm):
    month = MonthField(label=_("Month"))
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)
    city = forms.ModelChoiceField(
        label=_("City"), queryset=None, required=False, empty_label=_("All cities")
    )
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=None, required=False, empty_label=_("All channels")
    )
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=None,
        required=False,
        to_field_name="code",
        empty_label=_("All products"),
    )
    promoter = forms.CharField(
        label=_("Promoter"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("Work ID or name")}),
    )
    msisdn = forms.CharField(label=_("Subscriber number"), required=False, max_length=11)

    def __init__(self, *args, cities, channels, products, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["city"].queryset = cities
        self.fields["channel"].queryset = channels
        self.fields["product"].queryset = products
        _style(self)
