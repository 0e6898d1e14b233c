"""Forms of the introduction review, the expert pool and recommendations (rules live in
``prm.partners.services.review``; these parse and present)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from prm.accounts.models import OrgUnit
from prm.accounts.selectors import org_unit_list
from prm.partners.selectors import partner_categories
from prm.partners.selectors_review import expert_domain_choices


def _style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def _operator_orgs(user):
    return org_unit_list(user=user).filter(kind__in=OrgUnit.OPERATOR_KINDS, is_active=True)


class ApproveForm(forms.Form):
    comment = forms.CharField(label=_("Comment (optional)"), required=False, max_length=2000)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reasons for returning the application"),
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class PanelDrawForm(forms.Form):
    size = forms.IntegerField(label=_("Panel size"), min_value=1, max_value=50, required=False)

    def __init__(self, *args, default_size: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["size"].initial = default_size
        self.fields["size"].widget.attrs["placeholder"] = str(default_size)
        _style(self)


def criterion_label(criterion: dict) -> str:
    language = translation.get_language() or ""
    if language.startswith("en") and criterion.get("name_en"):
        return str(criterion["name_en"])
    return str(criterion.get("name") or criterion.get("code"))


class ScoreForm(forms.Form):
    """One field per criterion of the panel (0 … max score) and a comment."""

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, criteria: list[dict], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        comment = self.fields.pop("comment")
        self.criteria = criteria
        for criterion in criteria:
            maximum = Decimal(str(criterion.get("max_score", 0)))
            self.fields[f"score_{criterion['code']}"] = forms.DecimalField(
                label=f"{criterion_label(criterion)} (0–{format(maximum.normalize(), 'f')})",
                min_value=Decimal("0"),
                max_value=maximum,
                decimal_places=2,
                max_digits=7,
                widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
            )
        self.fields["comment"] = comment
        _style(self)

    def scores(self) -> dict[str, Decimal]:
        return {
            str(criterion["code"]): self.cleaned_data[f"score_{criterion['code']}"]
            for criterion in self.criteria
        }


class _ExpertFields(forms.Form):
    domains = forms.MultipleChoiceField(
        label=_("Review domains"), choices=(), widget=forms.CheckboxSelectMultiple
    )
    organisation = forms.CharField(label=_("Organisation"), max_length=200)
    organisation_uscc = forms.CharField(
        label=_("Organisation USCC"),
        max_length=18,
        required=False,
        help_text=_("Experts are never drawn for their own organisation."),
    )
    title = forms.CharField(label=_("Title"), max_length=100, required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domains"].choices = expert_domain_choices()


class ExpertCreateForm(_ExpertFields):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        help_text=_("An existing operator user of your organisation, or a new one."),
    )
    display_name = forms.CharField(label=_("Name (new user)"), max_length=100, required=False)
    email = forms.EmailField(
        label=_("E-mail (new user)"),
        required=False,
        help_text=_("The initial password of a new user is sent to this address."),
    )
    mobile = forms.RegexField(
        label=_("Mobile number (new user)"),
        regex=r"^1\d{10}$",
        max_length=11,
        required=False,
        error_messages={"invalid": _("Enter an 11-digit mobile number starting with 1.")},
    )
    org = forms.ModelChoiceField(
        label=_("Org unit (new user)"), queryset=OrgUnit.objects.none(), required=False
    )

    field_order = ["username", "display_name", "email", "mobile", "org"]

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = _operator_orgs(user)
        self.order_fields(self.field_order)
        _style(self)


class ExpertEditForm(_ExpertFields):
    is_active = forms.BooleanField(
        label=_("Active (may be drawn)"), required=False, widget=forms.CheckboxInput
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class ConflictForm(forms.Form):
    company_uscc = forms.CharField(label=_("Company USCC"), max_length=18, required=False)
    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class RecommendForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    category = forms.ChoiceField(label=_("Partner category"), choices=())
    username = forms.CharField(
        label=_("Admin username"),
        max_length=150,
        help_text=_("The company signs in with this account to fill in its application."),
    )
    email = forms.EmailField(
        label=_("Company e-mail"), help_text=_("The initial password is sent to this address.")
    )
    managing_org = forms.ModelChoiceField(
        label=_("Managing organisation"), queryset=OrgUnit.objects.none()
    )
    note = forms.CharField(
        label=_("Recommendation note"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [
            (category.code, category.label) for category in partner_categories()
        ]
        orgs = _operator_orgs(user)
        self.fields["managing_org"].queryset = orgs
        self.fields["managing_org"].initial = orgs.filter(pk=user.org_id).first()
        _style(self)


class SourceReportForm(forms.Form):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
