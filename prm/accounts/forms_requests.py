"""Form of an operator account request (the business rules live in the service)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.accounts.models import OrgUnit, Role
from prm.accounts.roles import ROLE_BY_CODE
from prm.accounts.selectors import org_unit_list, role_list


class AccountRequestForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"), required=False)
    mobile = forms.RegexField(
        label=_("Mobile number"),
        regex=r"^1\d{10}$",
        max_length=11,
        help_text=_("The initial password is sent to this number by SMS."),
        error_messages={"invalid": _("Enter an 11-digit mobile number starting with 1.")},
    )
    org = forms.ModelChoiceField(
        label=_("Org unit"), queryset=OrgUnit.objects.none(), to_field_name="code"
    )
    role_codes = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=(),
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = org_unit_list(user=user).filter(
            kind__in=OrgUnit.OPERATOR_KINDS, is_active=True
        )
        self.fields["role_codes"].choices = [
            (role.code, ROLE_BY_CODE[role.code].name if role.code in ROLE_BY_CODE else role.name)
            for role in role_list().filter(audience=Role.Audience.OPERATOR)
        ]
        for name, field in self.fields.items():
            if name != "role_codes":
                field.widget.attrs.setdefault("class", "form-control")
        self.fields["org"].widget.attrs["class"] = "form-select"
