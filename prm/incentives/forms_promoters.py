"""Forms of the promoter pages. They parse input; the rules (number of the operator, one
live registration per number, channel of the city, bank account) live in the services."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from prm.incentives.models import Channel, Promoter
from prm.incentives.selectors import channels_visible
from prm.incentives.selectors_promoters import (
    registration_channels,
    registration_city,
    registration_outlets,
    seat_sync_orgs,
)
from prm.incentives.services.promoters import kinds_of_path

EMPTY = [("", "—")]


def _style(form: forms.BaseForm) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


def channel_choices(city) -> list[tuple[str, str]]:
    return EMPTY + [
        (channel.code, f"{channel.code} {channel.name}")
        for channel in registration_channels(city=city)
    ]


def outlet_choices(city) -> list[tuple[str, str]]:
    return EMPTY + [
        (outlet.code, f"{outlet.channel.name} / {outlet.code} {outlet.name}")
        for outlet in registration_outlets(city=city)
    ]


class _ChannelOutletFields(forms.Form):
    """Channel and outlet as codes, offered for one city (the service checks the city)."""

    channel = forms.CharField(label=_("Channel"), required=False, max_length=30)
    outlet = forms.CharField(label=_("Outlet"), required=False, max_length=30)

    def _offer_channels(self, city) -> None:
        self.fields["channel"].widget = forms.Select(choices=channel_choices(city))
        self.fields["outlet"].widget = forms.Select(choices=outlet_choices(city))
        self.fields["channel"].help_text = _("Optional: where the promoter works.")


class RegistrationForm(_ChannelOutletFields):
    """The intranet and internet registration forms (``path``) with the kinds of that path
    and the cities ``cities`` (the internet: all; the intranet: the registrant's)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    msisdn = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        help_text=_("The promoter's own number; it must be one of our subscribers' numbers."),
    )
    kind = forms.ChoiceField(label=_("Promoter type"))
    city = forms.ChoiceField(label=_("City"))
    bank_name = forms.CharField(label=_("Bank"), max_length=100)
    bank_account = forms.CharField(
        label=_("Bank account"),
        max_length=40,
        help_text=_("12 to 30 digits; rebates are paid to it."),
    )
    email = forms.EmailField(label=_("E-mail"), required=False)

    field_order = [
        "name",
        "msisdn",
        "kind",
        "city",
        "channel",
        "outlet",
        "bank_name",
        "bank_account",
        "email",
    ]

    def __init__(self, *args, path: str, cities, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.order_fields(self.field_order)
        self.fields["kind"].choices = EMPTY + [
            (kind, Promoter.Kind(kind).label) for kind in kinds_of_path(path)
        ]
        self.fields["city"].choices = EMPTY + [(city.code, city.name) for city in cities]
        code = self.data.get("city") if self.is_bound else self.initial.get("city")
        city = registration_city(code=code or "", user=user)
        self._offer_channels(city)
        _style(self)
        self.fields["city"].widget.attrs.update({"data-testid": "register-city"})


class RegistrationOptionsForm(_ChannelOutletFields):
    """The channel and outlet selects for one city (re-rendered when the city changes)."""

    def __init__(self, *args, city, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._offer_channels(city)
        _style(self)


class PromoterFilterForm(forms.Form):
    q = forms.CharField(label=_("Name, number or work ID"), required=False, max_length=100)
    kind = forms.ChoiceField(label=_("Promoter type"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    channel = forms.ModelChoiceField(
        label=_("Channel"), queryset=Channel.objects.none(), required=False, to_field_name="code"
    )

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", _("All"))] + list(Promoter.Kind.choices)
        self.fields["status"].choices = [("", _("All"))] + list(Promoter.Status.choices)
        self.fields["channel"].queryset = channels_visible(user=user).order_by("code")
        self.fields["channel"].empty_label = _("All")
        _style(self)


class PromoterEditForm(_ChannelOutletFields):
    bank_name = forms.CharField(label=_("Bank"), max_length=100)
    bank_account = forms.CharField(label=_("Bank account"), max_length=40)

    def __init__(self, *args, city, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._offer_channels(city)
        _style(self)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, max_length=500)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _style(self)


class SeatSyncForm(forms.Form):
    org = forms.ChoiceField(label=_("City or province"))
    upload = forms.FileField(
        label=_("Seat file (optional)"),
        required=False,
        help_text=_(
            "CSV (UTF-8) or JSON with seat_number, name, msisdn, status (active/inactive) "
            "and city_code. Without a file the configured call-centre feed is read."
        ),
    )

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["org"].choices = [
            (org.code, f"{org.name} ({org.code})") for org in seat_sync_orgs(user=user)
        ]
        _style(self)
