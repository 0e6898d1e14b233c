"""Forms of announcements, public notices and the knowledge base. Choice fields get
their querysets from scoped selectors (passed in by the view): an org unit or partner
outside the user's scope is an invalid choice and nothing is written. The business rules
live in the services."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.accounts.models import OrgUnit
from prm.partners.models import Partner, PartnerCategory
from prm.portal.models import Announcement, KnowledgeArticle, PublicNotice

INDENT = "\u3000"  # an ideographic space: indents the org tree in a <select>
DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]


class BootstrapMixin:
    def _style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple)):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class OrgChoiceMixin:
    def label_from_instance(self, obj: OrgUnit) -> str:
        return f"{INDENT * obj.depth}{obj.name} ({obj.code})"


class OrgChoiceField(OrgChoiceMixin, forms.ModelChoiceField):
    def __init__(self, queryset, **kwargs):
        super().__init__(queryset=queryset, to_field_name="code", **kwargs)


class OrgMultipleChoiceField(OrgChoiceMixin, forms.ModelMultipleChoiceField):
    def __init__(self, queryset, **kwargs):
        super().__init__(queryset=queryset, to_field_name="code", **kwargs)


class CategoryChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, queryset, **kwargs):
        super().__init__(
            queryset=queryset,
            to_field_name="code",
            widget=forms.CheckboxSelectMultiple,
            **kwargs,
        )

    def label_from_instance(self, obj: PartnerCategory) -> str:
        return obj.label


class PartnerChoiceField(forms.ModelChoiceField):
    def __init__(self, queryset, **kwargs):
        super().__init__(queryset=queryset, to_field_name="code", **kwargs)

    def label_from_instance(self, obj: Partner) -> str:
        return f"{obj.company_name} ({obj.code})"


# Announcements ---------------------------------------------------------------------------


class AnnouncementForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}))
    org = OrgChoiceField(queryset=OrgUnit.objects.none(), label=_("Published by"))
    audience_all = forms.BooleanField(label=_("All partners"), required=False, initial=True)
    audience_categories = CategoryChoiceField(
        queryset=PartnerCategory.objects.none(), label=_("Categories"), required=False
    )
    audience_tiers = forms.MultipleChoiceField(
        label=_("Tiers"),
        choices=Partner.Tier.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    audience_regions = OrgMultipleChoiceField(
        queryset=OrgUnit.objects.none(),
        label=_("Regions"),
        required=False,
        help_text=_("Partners managed by one of these org units or below them."),
    )
    publish_from = forms.DateTimeField(
        label=_("Visible from"), widget=DateTimeLocalInput(), input_formats=DATETIME_INPUT_FORMATS
    )
    publish_until = forms.DateTimeField(
        label=_("Visible until"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_INPUT_FORMATS,
        help_text=_("Leave empty to keep it visible until it is withdrawn."),
    )
    requires_ack = forms.BooleanField(label=_("Partners must acknowledge it"), required=False)

    def __init__(self, *args, orgs, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["org"].queryset = orgs
        self.fields["audience_regions"].queryset = orgs
        self.fields["audience_categories"].queryset = categories
        self.fields["audience_regions"].widget.attrs["size"] = 6
        if not self.is_bound and "publish_from" not in self.initial:
            self.initial["publish_from"] = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["audience_all"].help_text = _(
            "Otherwise the partners matching every kind of criterion chosen below "
            "(any of the chosen values of a kind)."
        )
        self._style()


class AnnouncementFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    since = forms.DateField(
        label=_("Published from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Published until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, with_status: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_status:
            self.fields["status"] = forms.ChoiceField(
                label=_("Status"),
                required=False,
                choices=[("", _("All statuses")), *Announcement.Status.choices],
            )
        self.fields["q"].widget.attrs["placeholder"] = _("Title or text")
        self._style()

    def filters(self) -> dict:
        return dict(self.cleaned_data) if self.is_valid() else {}


class ReplyForm(BootstrapMixin, forms.Form):
    body = forms.CharField(
        label=_("Your reply"), max_length=5000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


# Public notices --------------------------------------------------------------------------


class NoticeFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), *PublicNotice.Kind.choices],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def filters(self) -> dict:
        return dict(self.cleaned_data) if self.is_valid() else {}


class NoticeForm(BootstrapMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=PublicNotice.Kind.choices)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}))
    partner = PartnerChoiceField(
        queryset=Partner.objects.none(), label=_("Partner concerned"), required=False
    )
    only_partner = PartnerChoiceField(
        queryset=Partner.objects.none(),
        label=_("Visible only to"),
        required=False,
        help_text=_("Back-to-back: only this partner (and staff) see the notice."),
    )

    def __init__(self, *args, partners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = partners
        self.fields["only_partner"].queryset = partners
        self._style()


# Knowledge base --------------------------------------------------------------------------


class KnowledgeFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        choices=[("", _("All categories")), *KnowledgeArticle.Category.choices],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Title, summary, text or tags")
        self._style()

    def filters(self) -> dict:
        return dict(self.cleaned_data) if self.is_valid() else {}


class KnowledgeArticleForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    category = forms.ChoiceField(label=_("Category"), choices=KnowledgeArticle.Category.choices)
    summary = forms.CharField(
        label=_("Summary"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 12}))
    tags = forms.CharField(
        label=_("Tags"),
        max_length=200,
        required=False,
        help_text=_("Separated by commas or spaces."),
    )
    audience_partners = forms.BooleanField(
        label=_("Visible to partners"), required=False, initial=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReviewNoteForm(BootstrapMixin, forms.Form):
    note = forms.CharField(
        label=_("Review note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
