"""Forms of the billing-extract import (the rules live in
``prm.incentives.services.billing``; the form only parses)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.core.exceptions import ApplicationError
from prm.incentives.services.billing import billing_month_parse


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploaded files: the month's tables, or one zip holding them."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": ".csv,.parquet,.zip", "class": "form-control"}),
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            files = [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        else:
            files = [super().clean(data, initial)] if data else []
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return files


class BillingImportForm(forms.Form):
    month = forms.CharField(
        label=_("Month"),
        max_length=7,
        help_text=_("The month of the extracts, YYYY-MM."),
        widget=forms.TextInput(
            attrs={"type": "month", "class": "form-control", "placeholder": "YYYY-MM"}
        ),
    )
    files = MultipleFileField(
        label=_("Files"),
        help_text=_(
            "subscribers, usage_monthly or usage_daily, and optionally product_changes, "
            "billing and complaints — each .csv or .parquet — or one .zip holding them."
        ),
    )

    def clean_month(self):
        try:
            return billing_month_parse(self.cleaned_data["month"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message), code=exc.code) from exc
