"""Forms of partner self-registration (the business rules live in the services)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from prm.partners.models import Partner
from prm.partners.selectors_registration import signup_categories, signup_managing_orgs
from prm.partners.services.registration import USERNAME_RE


def _bootstrap(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class SignupForm(forms.Form):
    username = forms.CharField(
        label=_("Admin account (username)"),
        max_length=150,
        validators=[
            RegexValidator(
                USERNAME_RE,
                _("Use 3 to 150 letters, digits or . _ @ - for the username (no spaces)."),
            )
        ],
        help_text=_(
            "Remember it: with the company name and the admin e-mail it lets you query "
            "the progress of your registration."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password_confirm = forms.CharField(
        label=_("Password (again)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    email = forms.EmailField(
        label=_("Admin e-mail"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    category = forms.ModelChoiceField(
        label=_("Partner category"), queryset=signup_categories(), to_field_name="code"
    )
    managing_org = forms.ModelChoiceField(
        label=_("Province or city company handling your application"),
        queryset=signup_managing_orgs(),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = signup_categories()
        self.fields["category"].label_from_instance = lambda category: category.label
        self.fields["managing_org"].queryset = signup_managing_orgs()
        self.fields["password"].help_text = " ".join(password_validators_help_texts())
        _bootstrap(self)

    def clean(self):
        cleaned = super().clean()
        password, confirm = cleaned.get("password"), cleaned.get("password_confirm")
        if password and confirm and password != confirm:
            self.add_error("password_confirm", _("The two passwords differ."))
        return cleaned


class ApplicationForm(forms.Form):
    """The application (R1): company data. An incomplete draft may be saved."""

    company_name = forms.CharField(label=_("Company name"), max_length=200, required=False)
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=30,
        required=False,
        help_text=_("18 characters, as on the business licence."),
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    uscc_override = forms.BooleanField(
        label=_("The code is correct although it fails the check"),
        required=False,
    )
    uscc_override_reason = forms.CharField(
        label=_("Reason for accepting the code"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    legal_representative = forms.CharField(
        label=_("Legal representative"), max_length=100, required=False
    )
    registered_capital = forms.DecimalField(
        label=_("Registered capital (yuan)"),
        required=False,
        min_value=0,
        max_digits=16,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    contact_name = forms.CharField(label=_("Contact person"), max_length=100, required=False)
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        max_length=30,
        required=False,
        validators=[
            RegexValidator(
                r"^\+?[0-9][0-9 -]{5,28}$", _("Enter a phone number (digits, spaces, -).")
            )
        ],
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    admin_email = forms.EmailField(label=_("Admin e-mail"), required=False)
    bank_name = forms.CharField(label=_("Bank"), max_length=100, required=False)
    bank_account = forms.CharField(label=_("Bank account"), max_length=40, required=False)
    business_scope = forms.CharField(
        label=_("Business scope"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    @staticmethod
    def initial_for(partner: Partner) -> dict:
        initial = {field: getattr(partner, field) for field in Partner.PROFILE_FIELDS}
        initial["uscc"] = partner.uscc or ""
        initial["uscc_override"] = bool(partner.uscc_override_reason)
        initial["uscc_override_reason"] = partner.uscc_override_reason
        return initial


class DocumentForm(forms.Form):
    """One checklist line's document: the file, its certificate number and expiry."""

    file = forms.FileField(label=_("File"))
    number = forms.CharField(label=_("Certificate number"), max_length=100, required=False)
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class RegistrationStatusForm(forms.Form):
    company_name = forms.CharField(label=_("Company name"), max_length=200)
    admin_username = forms.CharField(label=_("Admin account (username)"), max_length=150)
    admin_email = forms.EmailField(label=_("Admin e-mail"))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _bootstrap(self)
