"""Forms of the registry, change requests and qualifications (the business rules live in
``prm.partners.services.profile``; the forms only parse)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.core.attachments import ACCEPT_ATTRIBUTE
from prm.partners.models import ChangeRequest, Partner, QualificationRequirement
from prm.partners.services.profile import REQUIRED_PROFILE_FIELDS

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


def _filters(form: forms.Form) -> dict:
    """The given filters; a value the form refuses (e.g. an org outside the user's
    scope) is passed on as it is, so that it matches nothing instead of everything."""
    if not form.is_bound:
        return {}
    if form.is_valid():
        return {key: value for key, value in form.cleaned_data.items() if value}
    values = {key: value for key, value in form.cleaned_data.items() if value}
    values.update({name: form.data.get(name) for name in form.errors if form.data.get(name)})
    return values


class PartnerFilterForm(BootstrapMixin, forms.Form):
    """The registry's filters (the same keys as the API's ``PartnerFilters``)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False)
    category = forms.ChoiceField(label=_("Category"), required=False)
    source = forms.ChoiceField(label=_("Introduction source"), required=False)
    tier = forms.ChoiceField(label=_("Tier"), required=False)
    managing_org = forms.ChoiceField(label=_("Managing organisation"), required=False)

    def __init__(self, *args, categories, orgs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Name, partner code or USCC")
        self.fields["status"].choices = [("", _("All statuses")), *Partner.Status.choices]
        self.fields["category"].choices = [("", _("All categories"))] + [
            (category.code, category.label) for category in categories
        ]
        self.fields["source"].choices = [("", _("All sources")), *Partner.Source.choices]
        self.fields["tier"].choices = [("", _("All tiers")), *Partner.Tier.choices]
        self.fields["managing_org"].choices = [("", _("All organisations"))] + [
            (org.code, f"{INDENT * org.depth}{org.name}") for org in orgs
        ]
        self._style()

    def filters(self) -> dict:
        return _filters(self)


class ChangeRequestFilterForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All statuses")), *ChangeRequest.Status.choices]
        self._style()

    def filters(self) -> dict:
        return _filters(self)


class ChangeRequestForm(BootstrapMixin, forms.Form):
    """The partner's profile fields, filled with the current values, and a reason."""

    reason = forms.CharField(
        label=_("Reason for the change"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )

    def __init__(self, *args, partner: Partner, **kwargs):
        super().__init__(*args, **kwargs)
        fields = {}
        for name in Partner.PROFILE_FIELDS:
            model_field = Partner._meta.get_field(name)
            field = model_field.formfield()
            field.required = name in REQUIRED_PROFILE_FIELDS
            field.initial = getattr(partner, name)
            if name in ("business_scope", "address"):
                field.widget = forms.Textarea(attrs={"rows": 2})
            fields[name] = field
        fields["reason"] = self.fields.pop("reason")
        self.fields = fields
        self._style()

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in Partner.PROFILE_FIELDS}


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class QualificationForm(BootstrapMixin, forms.Form):
    requirement = forms.ModelChoiceField(
        label=_("Checklist item"),
        queryset=QualificationRequirement.objects.none(),
        required=False,
        empty_label=_("(none: another certificate)"),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use the checklist item's name."),
    )
    number = forms.CharField(label=_("Certificate number"), max_length=100, required=False)
    issuer = forms.CharField(label=_("Issued by"), max_length=200, required=False)
    issued_on = forms.DateField(label=_("Issued on"), required=False, widget=_DateInput())
    expires_on = forms.DateField(label=_("Expires on"), required=False, widget=_DateInput())
    attachment = forms.FileField(label=_("Scan of the certificate"))

    def __init__(self, *args, requirements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requirement"].queryset = requirements
        self.fields["requirement"].label_from_instance = lambda item: item.label
        self.fields["attachment"].widget.attrs["accept"] = ACCEPT_ATTRIBUTE
        self._style()


class QualificationRenewForm(BootstrapMixin, forms.Form):
    number = forms.CharField(label=_("Certificate number"), max_length=100, required=False)
    issuer = forms.CharField(label=_("Issued by"), max_length=200, required=False)
    issued_on = forms.DateField(label=_("Issued on"), required=False, widget=_DateInput())
    expires_on = forms.DateField(label=_("New expiry date"), widget=_DateInput())
    attachment = forms.FileField(label=_("Scan of the renewed certificate"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attachment"].widget.attrs["accept"] = ACCEPT_ATTRIBUTE
        self._style()
