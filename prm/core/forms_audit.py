"""The audit log's search form, shared by the page, the CSV export and the API."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def day_start(day: date) -> datetime:
    """Midnight (local time) at the start of ``day``."""
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_filters(
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    since: date | None = None,
    until: date | None = None,
) -> dict:
    """The filters of ``prm.core.audit.audit_event_list``; ``until`` is inclusive."""
    return {
        "actor": (actor or "").strip(),
        "action": (action or "").strip(),
        "target": (target or "").strip(),
        "since": day_start(since) if since else None,
        "until": day_start(until + timedelta(days=1)) if until else None,
    }


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=80)
    target = forms.CharField(label=_("Object"), required=False, max_length=255)
    since = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].widget.attrs["placeholder"] = _("Username")
        self.fields["action"].widget.attrs["placeholder"] = _("e.g. user.updated")
        self.fields["target"].widget.attrs["placeholder"] = _("Name or username")
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data

    def filters(self) -> dict:
        """The selector's filters; an invalid form filters on nothing it could not read."""
        if not self.is_bound:
            return audit_filters()
        if not self.is_valid():
            data = {name: self.cleaned_data.get(name) for name in self.fields}
            return audit_filters(**{k: v for k, v in data.items() if v})
        return audit_filters(**self.cleaned_data)
