"""Forms of the administration console. Choice fields get their querysets from the
scoped selectors (passed in by the view), so an object outside the admin's scope is
refused as an invalid choice and nothing is written."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from prm.accounts.models import OrgUnit, Role

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
    _("Use letters, digits, hyphens and underscores only, starting with a letter or digit."),
)
USERNAME_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.@+-]*$",
    _("Use letters, digits and . @ + - _ only, starting with a letter or digit."),
)
MOBILE_VALIDATOR = RegexValidator(
    r"^1[3-9][0-9]{9}$", _("Enter an 11-digit mainland mobile number.")
)
INDENT = "\u3000"  # an ideographic space: indents the tree in a <select>
# Path segments of the console's own pages: not usable as codes or usernames.
RESERVED_NAMES = {"new", "edit"}
ACTIVE_CHOICES = [("", _("All")), ("1", _("Active")), ("0", _("Disabled"))]


def active_filter_value(raw: str | None) -> bool | None:
    return {"1": True, "0": False}.get(raw or "")


class OrgUnitChoiceField(forms.ModelChoiceField):
    """Org units by code (never by id), indented by depth."""

    def __init__(self, queryset, **kwargs):
        super().__init__(queryset=queryset, to_field_name="code", **kwargs)

    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{INDENT * obj.depth}{obj.name} ({obj.code})"


class RoleChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, queryset, **kwargs):
        super().__init__(
            queryset=queryset,
            to_field_name="code",
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )

    def label_from_instance(self, obj) -> str:
        return f"{obj.name} ({obj.get_audience_display()})"


class BootstrapMixin:
    """Bootstrap 5 classes on every widget."""

    def _style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class OrgFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *OrgUnit.Kind.choices]
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Code or name")
        self._style()

    def filters(self) -> dict:
        return self.cleaned_data if self.is_valid() else {}


class OrgUnitCreateForm(BootstrapMixin, forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40, validators=[CODE_VALIDATOR])
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrgUnit.Kind.choices)
    parent = OrgUnitChoiceField(queryset=OrgUnit.objects.none(), label=_("Parent"))

    def __init__(self, *args, parents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = parents
        self._style()

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if code.lower() in RESERVED_NAMES:
            raise forms.ValidationError(_("This code is reserved."))
        return code


class OrgUnitEditForm(BootstrapMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    parent = OrgUnitChoiceField(queryset=OrgUnit.objects.none(), label=_("Parent"))
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def __init__(self, *args, parents, can_move: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if can_move:
            self.fields["parent"].queryset = parents
        else:
            # The admin's own top node: its parent lies outside their scope.
            del self.fields["parent"]
        self._style()


class UserFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    org = forms.CharField(label=_("Org unit code"), required=False, max_length=40)
    role = forms.ChoiceField(label=_("Role"), required=False)
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES)

    def __init__(self, *args, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("All roles"))] + [(r.code, r.name) for r in roles]
        self.fields["q"].widget.attrs["placeholder"] = _("Username, name, e-mail, mobile")
        self._style()

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        data["is_active"] = active_filter_value(data.pop("active"))
        return data


class UserFormBase(BootstrapMixin, forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=100)
    email = forms.EmailField(label=_("E-mail"), required=False)
    mobile = forms.CharField(
        label=_("Mobile number"), required=False, max_length=11, validators=[MOBILE_VALIDATOR]
    )
    org = OrgUnitChoiceField(queryset=OrgUnit.objects.none(), label=_("Org unit"))
    roles = RoleChoiceField(queryset=Role.objects.none(), label=_("Roles"), required=False)

    def __init__(self, *args, orgs, roles, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs
        self.fields["roles"].queryset = roles
        self._style()

    def clean(self):
        data = super().clean()
        org, roles = data.get("org"), data.get("roles")
        if org is not None and roles:
            audience = "partner" if org.is_partner else "operator"
            wrong = [role.name for role in roles if role.audience != audience]
            if wrong:
                self.add_error(
                    "roles",
                    _("These roles cannot be given to a user of %(org)s: %(roles)s.")
                    % {"org": org.name, "roles": ", ".join(wrong)},
                )
        return data


class UserCreateForm(UserFormBase):
    username = forms.CharField(label=_("Username"), max_length=150, validators=[USERNAME_VALIDATOR])
    field_order = ["username", "display_name", "email", "mobile", "org", "roles"]

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if username.lower() in RESERVED_NAMES:
            raise forms.ValidationError(_("This username is reserved."))
        return username


class UserEditForm(UserFormBase):
    pass


class RolePermissionsForm(forms.Form):
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permissions"].choices = choices
