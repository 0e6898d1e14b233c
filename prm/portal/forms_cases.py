"""Forms of breach investigations and inquiries (the business rules live in the services)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.core.attachments import ACCEPT_ATTRIBUTE
from prm.portal.models import BreachCase, Inquiry


class _Styled:
    """Bootstrap 5 classes on every widget."""

    def _style(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several uploaded files (each checked by the attachments module in the service)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT_ATTRIBUTE}))
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class PartnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj} ({obj.code})"


class BreachCaseForm(_Styled, forms.Form):
    partner = PartnerChoiceField(label=_("Partner"), queryset=None, to_field_name="code")
    business = forms.CharField(label=_("Business concerned"), max_length=200)
    violation_type = forms.ChoiceField(
        label=_("Violation type"), choices=BreachCase.ViolationType.choices
    )
    impact = forms.ChoiceField(label=_("Impact degree"), choices=BreachCase.Impact.choices)
    affected_users = forms.IntegerField(label=_("Affected users"), min_value=0, initial=0)
    used_marketing_resources = forms.BooleanField(
        label=_("Committed with allocated marketing resources"),
        required=False,
        help_text=_("Such a violation counts double and withdraws the partner's resources."),
    )
    description = forms.CharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 5}))
    evidence = MultipleFileField(label=_("Evidence"))

    def __init__(self, *args, partners, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        self._style()


class BreachResponseForm(_Styled, forms.Form):
    body = forms.CharField(label=_("Feedback"), widget=forms.Textarea(attrs={"rows": 5}))
    evidence = MultipleFileField(label=_("Evidence"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style()


DECISION_CHOICES = [("upheld", _("Upheld")), ("not_upheld", _("Not upheld"))]


class BreachDecisionForm(_Styled, forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=DECISION_CHOICES, widget=forms.RadioSelect
    )
    reason = forms.CharField(label=_("Reasons"), widget=forms.Textarea(attrs={"rows": 4}))
    credit_deduction = forms.BooleanField(
        label=_("Credit deduction"),
        required=False,
        help_text=_("The credit module deducts points for an upheld violation."),
    )
    fine_amount = forms.DecimalField(
        label=_("Fine (yuan)"), required=False, min_value=0, max_digits=14, decimal_places=2
    )
    suspend_business_until = forms.DateField(
        label=_("No new business until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style()

    def clean(self):
        data = super().clean()
        if data.get("decision") == "not_upheld":
            # Penalties belong to an upheld case only.
            data["credit_deduction"] = False
            data["fine_amount"] = None
            data["suspend_business_until"] = None
        return data

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {
            "upheld": data["decision"] == "upheld",
            "reason": data["reason"],
            "credit_deduction": data["credit_deduction"],
            "fine_amount": data["fine_amount"],
            "suspend_business_until": data["suspend_business_until"],
        }


class CaseFilterForm(_Styled, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *BreachCase.Status.choices],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Number, partner, business")
        self._style()

    def filters(self) -> dict:
        return dict(self.cleaned_data) if self.is_valid() else {}


class InquiryForm(_Styled, forms.Form):
    topic = forms.ChoiceField(label=_("Topic"), choices=Inquiry.Topic.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 6}))
    attachments = MultipleFileField(label=_("Attachments"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class InquiryAnswerForm(_Styled, forms.Form):
    answer = forms.CharField(label=_("Answer"), widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class InquiryReopenForm(_Styled, forms.Form):
    comment = forms.CharField(
        label=_("What is still unclear?"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class InquiryFilterForm(_Styled, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), *Inquiry.Status.choices],
    )
    topic = forms.ChoiceField(
        label=_("Topic"), required=False, choices=[("", _("All topics")), *Inquiry.Topic.choices]
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Number, subject, partner")
        self._style()

    def filters(self) -> dict:
        return dict(self.cleaned_data) if self.is_valid() else {}
