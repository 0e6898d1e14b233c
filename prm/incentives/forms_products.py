"""Forms of the product catalogue and rebate versions (the rules live in
``prm.incentives.services.products``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.incentives.forms_channels import BootstrapMixin, form_filters
from prm.incentives.models import Product


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class ProductFilterForm(BootstrapMixin, forms.Form):
    """The catalogue's filters (the same keys as the API's ``ProductFilters``)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Product type"), required=False)
    active = forms.ChoiceField(label=_("State"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Code or name")
        self.fields["kind"].choices = [("", _("All types")), *Product.Kind.choices]
        self.fields["active"].choices = [
            ("", _("Open and closed")),
            ("1", _("Open for recommendation")),
            ("0", _("Closed")),
        ]
        self._style()

    def filters(self) -> dict:
        return form_filters(self)


class ProductForm(BootstrapMixin, forms.Form):
    """A product's info; when creating, its code and (optionally) its first rebate."""

    code = forms.CharField(label=_("Product code"), max_length=30)
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Product type"), choices=Product.Kind.choices)
    monthly_fee = forms.DecimalField(
        label=_("Monthly fee (yuan)"), max_digits=14, decimal_places=2, min_value=0
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label=_("Open for recommendation"), required=False, initial=True)
    rebate = forms.DecimalField(
        label=_("Rebate per subscriber (yuan)"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("The first rebate rule; later changes are new versions."),
    )
    effective_from = forms.DateField(
        label=_("Rebate effective from"), required=False, widget=_DateInput()
    )

    def __init__(self, *args, creating: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not creating:
            for name in ("code", "rebate", "effective_from"):
                del self.fields[name]
        self._style()


class RebateVersionForm(BootstrapMixin, forms.Form):
    rebate = forms.DecimalField(
        label=_("Rebate per subscriber (yuan)"), max_digits=14, decimal_places=2, min_value=0
    )
    effective_from = forms.DateField(label=_("Effective from"), widget=_DateInput())
    note = forms.CharField(label=_("Note"), max_length=300, required=False)

    def __init__(self, *args, with_date: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not with_date:
            del self.fields["effective_from"]
        self._style()
