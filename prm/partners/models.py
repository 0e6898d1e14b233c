"""Partner lifecycle (R1): categories, applications and partners, review panels,
qualifications, agreements, business codes, change requests, exit and the blacklist."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class BilingualName(models.Model):
    """Reference rows that staff maintain in both languages (zh-hans default, en)."""

    name = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        language = translation.get_language() or ""
        if language.startswith("en") and self.name_en:
            return self.name_en
        return self.name


class PartnerCategory(BaseModel, BilingualName):
    """A kind of partner (R1 list) with its own qualification checklist and criteria."""

    class Code(models.TextChoices):
        OWN_OPERATIONS = "own_operations", _("Own-business operations support")
        OWN_MARKETING = "own_marketing", _("Own-business marketing support")
        SP = "sp", _("SP (Monternet partner)")
        CP = "cp", _("Content provider (CP)")
        AP = "ap", _("Application provider (AP)")
        CHANNEL_AGENT = "channel_agent", _("Channel agent")
        GROUP_AGENT = "group_agent", _("Group business agent (SA)")
        MAINTENANCE = "maintenance", _("Maintenance contractor")
        TERMINAL_VENDOR = "terminal_vendor", _("Terminal vendor")
        POINTS_EXCHANGE = "points_exchange", _("Points-exchange channel")
        INFO_EXCHANGE = "info_exchange", _("Information-exchange partner")

    code = models.CharField(_("code"), max_length=40, unique=True)
    expert_domain = models.CharField(
        _("expert domain"),
        max_length=40,
        help_text=_("Experts of this domain review applications of the category."),
    )
    min_registered_capital = models.DecimalField(
        _("minimum registered capital (yuan)"),
        max_digits=16,
        decimal_places=2,
        default=Decimal("0.00"),
    )
    # [{"code": "...", "name": "...", "name_en": "...", "max_score": 10}, ...]
    review_criteria = models.JSONField(_("review criteria"), default=list, blank=True)
    panel_size = models.PositiveSmallIntegerField(_("expert panel size"), default=3)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("partner category")
        verbose_name_plural = _("partner categories")


class QualificationRequirement(BaseModel, BilingualName):
    """One line of a category's checklist: a document or licence the applicant provides."""

    category = models.ForeignKey(
        PartnerCategory, on_delete=models.CASCADE, related_name="requirements"
    )
    code = models.CharField(_("code"), max_length=40)
    mandatory = models.BooleanField(_("mandatory"), default=True)
    has_expiry = models.BooleanField(_("has an expiry date"), default=False)
    # Lower-case extensions, e.g. ["pdf", "jpg", "png"]; empty: every type attachments allow.
    allowed_types = models.JSONField(_("allowed file types"), default=list, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["category", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="uniq_requirement_code")
        ]
        verbose_name = _("qualification requirement")
        verbose_name_plural = _("qualification requirements")


class Partner(StatusMachine, BaseModel):
    """A company: from its registration application to its exit.

    Until approved it is an application (``draft`` → ``submitted`` → ``rejected`` /
    ``active``); the partner's own org tree hangs under ``org``.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Under review")
        REJECTED = "rejected", _("Returned for changes")
        ACTIVE = "active", _("Active")
        EXITING = "exiting", _("Exiting")
        EXITED = "exited", _("Exited")

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED},
        Status.SUBMITTED: {Status.REJECTED, Status.ACTIVE, Status.DRAFT},
        Status.REJECTED: {Status.SUBMITTED, Status.EXITED},
        Status.ACTIVE: {Status.EXITING, Status.EXITED},
        Status.EXITING: {Status.EXITED, Status.ACTIVE},
        Status.EXITED: set(),
    }
    APPLICATION_STATUSES = (Status.DRAFT, Status.SUBMITTED, Status.REJECTED)

    class Source(models.TextChoices):
        HQ = "hq_recommendation", _("HQ recommendation")
        REGIONAL = "regional_recommendation", _("Province/city recommendation")
        SELF = "self_application", _("Self-application")

    class Tier(models.TextChoices):
        A = "A", _("Tier A")
        B = "B", _("Tier B")
        C = "C", _("Tier C")
        ORDINARY = "ordinary", _("Ordinary")
        INSUFFICIENT = "insufficient_credit", _("Insufficient credit")

    org = models.OneToOneField("accounts.OrgUnit", on_delete=models.PROTECT, related_name="partner")
    category = models.ForeignKey(PartnerCategory, on_delete=models.PROTECT, related_name="+")
    code = models.CharField(_("partner code"), max_length=20, unique=True, null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # The operator node responsible for the partner (its reviews, its data scope).
    managing_org = models.ForeignKey(
        "accounts.OrgUnit",
        on_delete=models.PROTECT,
        related_name="managed_partners",
        verbose_name=_("managing organisation"),
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_partners",
        verbose_name=_("partner manager"),
    )
    admin_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("admin account"),
    )
    source = models.CharField(
        _("introduction source"), max_length=30, choices=Source.choices, default=Source.SELF
    )
    recommended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recommended by"),
    )
    recommendation_note = models.TextField(_("recommendation note"), blank=True)

    # Application data (R1 self-registration).
    company_name = models.CharField(_("company name"), max_length=200, blank=True, db_index=True)
    # Empty (NULL) until the application form is filled in.
    uscc = models.CharField(
        _("unified social credit code"), max_length=18, null=True, blank=True, db_index=True
    )
    uscc_override_reason = models.TextField(
        _("reason for accepting a USCC that fails its check"), blank=True
    )
    legal_representative = models.CharField(_("legal representative"), max_length=100, blank=True)
    registered_capital = models.DecimalField(
        _("registered capital (yuan)"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    admin_email = models.EmailField(_("admin e-mail"), blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=40, blank=True)
    business_scope = models.TextField(_("business scope"), blank=True)

    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reasons = models.TextField(_("reasons"), blank=True)
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, blank=True)
    # Set while a mandatory qualification is expired (R1): no new business until renewed.
    business_suspended = models.BooleanField(_("new business suspended"), default=False)
    business_suspended_reason = models.CharField(_("suspension reason"), max_length=200, blank=True)
    # A penalty of an upheld breach case (R2): no new business until this date (inclusive).
    business_suspended_until = models.DateField(
        _("business suspended until (penalty)"), null=True, blank=True
    )
    settlement_stopped = models.BooleanField(_("settlement stopped"), default=False)
    exited_at = models.DateTimeField(_("exited at"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)

    # Fields a partner edits (application form, change requests), in form order.
    PROFILE_FIELDS = (
        "company_name",
        "uscc",
        "legal_representative",
        "registered_capital",
        "address",
        "contact_name",
        "contact_phone",
        "admin_email",
        "bank_name",
        "bank_account",
        "business_scope",
    )

    class Meta:
        ordering = ["company_name"]
        constraints = [
            # One live partner or application per USCC; an exited one may come back
            # unless blacklisted.
            models.UniqueConstraint(
                fields=["uscc"],
                condition=~Q(status="exited"),
                name="uniq_live_partner_uscc",
            )
        ]
        permissions = [
            ("register_partner", "Can fill and submit a partner registration"),
            ("review_partner", "Can review partner applications and change requests"),
            ("recommend_partner", "Can record a partner recommendation"),
            ("manage_partner", "Can manage partners (agreements, codes, exit)"),
            ("manage_expert", "Can manage the expert pool"),
            ("manage_blacklist", "Can manage the USCC blacklist"),
        ]
        verbose_name = _("partner")
        verbose_name_plural = _("partners")

    def __str__(self) -> str:
        return self.company_name or self.org.name

    @property
    def is_application(self) -> bool:
        return self.status in self.APPLICATION_STATUSES


class PartnerProfileVersion(BaseModel):
    """One saved state of a partner's profile: each submission, resubmission and
    approved change request (the full history view)."""

    class Reason(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        RESUBMITTED = "resubmitted", _("Resubmitted")
        APPROVED = "approved", _("Approved")
        CHANGE = "change_request", _("Change request approved")

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    data = models.JSONField(_("data"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["partner", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "number"], name="uniq_profile_version")
        ]
        verbose_name = _("profile version")
        verbose_name_plural = _("profile versions")


class Qualification(StatusMachine, BaseModel):
    """A document or licence a partner holds against a checklist line (owns attachments)."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="qualifications")
    requirement = models.ForeignKey(
        QualificationRequirement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("checklist item"),
    )
    name = models.CharField(_("name"), max_length=200)
    number = models.CharField(_("certificate number"), max_length=100, blank=True)
    issuer = models.CharField(_("issued by"), max_length=200, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    expires_on = models.DateField(_("expires on"), null=True, blank=True, db_index=True)
    mandatory = models.BooleanField(_("mandatory"), default=False)
    # Day thresholds whose reminder was sent for the current expiry date, e.g. [30, 7].
    reminders_sent = models.JSONField(_("reminders sent"), default=list, blank=True)
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_current = models.BooleanField(_("current"), default=True)

    class Meta:
        ordering = ["partner", "expires_on"]
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")

    def __str__(self) -> str:
        return self.name


class Expert(BaseModel):
    """A member of the expert pool (专家库)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="expert"
    )
    # Domain codes, e.g. ["sp", "channel"]; matched against a category's expert_domain.
    domains = models.JSONField(_("domains"), default=list)
    organisation = models.CharField(_("organisation"), max_length=200)
    organisation_uscc = models.CharField(_("organisation USCC"), max_length=18, blank=True)
    title = models.CharField(_("title"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["user__display_name"]
        verbose_name = _("expert")
        verbose_name_plural = _("experts")

    def __str__(self) -> str:
        return self.user.display_name


class ExpertConflict(BaseModel):
    """A declared conflict of interest of an expert with a company."""

    expert = models.ForeignKey(Expert, on_delete=models.CASCADE, related_name="conflicts")
    company_uscc = models.CharField(_("company USCC"), max_length=18, blank=True)
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    reason = models.CharField(_("reason"), max_length=300)

    class Meta:
        verbose_name = _("declared conflict")
        verbose_name_plural = _("declared conflicts")


class ExpertPanel(BaseModel):
    """The experts drawn for one review round of an application."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="panels")
    round = models.PositiveIntegerField(_("round"))
    seed = models.CharField(_("draw seed"), max_length=64)
    size = models.PositiveSmallIntegerField(_("panel size"))
    # The eligible expert ids in the order the draw saw them (reproducibility).
    eligible_ids = models.JSONField(_("eligible experts"), default=list)
    criteria = models.JSONField(_("criteria"), default=list)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    mean_score = models.DecimalField(
        _("mean score"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    spread = models.DecimalField(
        _("spread (max − min)"), max_digits=7, decimal_places=2, null=True, blank=True
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["partner", "-round"]
        constraints = [models.UniqueConstraint(fields=["partner", "round"], name="uniq_panel")]
        verbose_name = _("expert panel")
        verbose_name_plural = _("expert panels")


class ExpertScore(BaseModel):
    panel = models.ForeignKey(ExpertPanel, on_delete=models.CASCADE, related_name="scores")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, related_name="scores")
    scores = models.JSONField(_("scores per criterion"), default=dict, blank=True)
    total = models.DecimalField(_("total"), max_digits=7, decimal_places=2, null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)

    class Meta:
        ordering = ["panel", "id"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "expert"], name="uniq_panel_expert")
        ]
        verbose_name = _("expert score")
        verbose_name_plural = _("expert scores")


class ChangeRequest(StatusMachine, BaseModel):
    """资料变更申请: an active partner's profile change, approved before it applies."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Under review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.SUBMITTED: {Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
        Status.REJECTED: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.APPROVED: set(),
        Status.WITHDRAWN: set(),
    }

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="change_requests")
    number = models.CharField(_("number"), max_length=30, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    # {field: [old, new]} as strings, in PROFILE_FIELDS order.
    changes = models.JSONField(_("changes"))
    reason = models.TextField(_("reason for the change"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")

    def __str__(self) -> str:
        return self.number


class Agreement(StatusMachine, BaseModel):
    """A cooperation agreement (owns attachments)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        COUNTERSIGNING = "countersigning", _("In countersign")
        SIGNED = "signed", _("Signed")
        ACTIVE = "active", _("Active")
        EXPIRING = "expiring", _("Expiring")
        TERMINATED = "terminated", _("Terminated")

    TRANSITIONS = {
        Status.DRAFT: {Status.COUNTERSIGNING, Status.TERMINATED},
        Status.COUNTERSIGNING: {Status.SIGNED, Status.DRAFT},
        Status.SIGNED: {Status.ACTIVE, Status.TERMINATED},
        Status.ACTIVE: {Status.EXPIRING, Status.TERMINATED},
        Status.EXPIRING: {Status.ACTIVE, Status.TERMINATED},
        Status.TERMINATED: set(),
    }

    class SettlementModel(models.TextChoices):
        REVENUE_SHARE = "revenue_share", _("Revenue share")
        FIXED_FEE = "fixed_fee", _("Fixed fee")
        MIXED = "mixed", _("Revenue share plus fixed fee")

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="agreements")
    number = models.CharField(_("agreement number"), max_length=30, unique=True)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"), db_index=True)
    business_scope = models.TextField(_("business scope"))
    settlement_model = models.CharField(
        _("settlement model"), max_length=20, choices=SettlementModel.choices
    )
    revenue_share_percent = models.DecimalField(
        _("partner's revenue share (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    fixed_fee = models.DecimalField(
        _("fixed fee (yuan per month)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    terminated_at = models.DateTimeField(_("terminated at"), null=True, blank=True)
    termination_reason = models.CharField(_("termination reason"), max_length=300, blank=True)
    reminders_sent = models.JSONField(_("reminders sent"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    renews = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="renewals"
    )

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("agreement")
        verbose_name_plural = _("agreements")

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class BusinessCode(BaseModel):
    """An SP service/business code held by a partner (R1; limit by tier, R3)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        RELEASED = "released", _("Released")

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="business_codes")
    code = models.CharField(_("business code"), max_length=30)
    name = models.CharField(_("business name"), max_length=200)
    service_type = models.CharField(_("service type"), max_length=50, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE
    )
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    release_reason = models.CharField(_("release reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["partner", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(status="active"), name="uniq_active_business_code"
            )
        ]
        verbose_name = _("business code")
        verbose_name_plural = _("business codes")

    def __str__(self) -> str:
        return self.code


class ExitCase(StatusMachine, BaseModel):
    """退出: a partner leaving, with the checklist that closes it down."""

    class Kind(models.TextChoices):
        VOLUNTARY = "voluntary", _("Voluntary application")
        ASSESSMENT = "assessment", _("Assessment (credit rules)")
        VIOLATION = "violation", _("Termination for violations")
        ILLEGAL_CONTENT = "illegal_content", _("Immediate termination: illegal content")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Under review")
        IN_PROGRESS = "in_progress", _("Closing down")
        COMPLETED = "completed", _("Completed")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.SUBMITTED: {Status.IN_PROGRESS, Status.REJECTED, Status.WITHDRAWN},
        Status.REJECTED: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.IN_PROGRESS: {Status.COMPLETED},
        Status.COMPLETED: set(),
        Status.WITHDRAWN: set(),
    }

    CHECKLIST = (
        ("accounts_disabled", _("Partner accounts disabled")),
        ("business_codes_released", _("Business codes released")),
        ("open_documents_closed", _("Open documents closed")),
        ("settlement_stopped", _("Settlement stopped")),
        ("archived", _("Data archived")),
    )

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="exits")
    number = models.CharField(_("number"), max_length=30, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    reason = models.TextField(_("reason"))
    source = models.CharField(
        _("requested by module"), max_length=40, blank=True, help_text=_("e.g. credit")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    # {item: ISO timestamp done, or ""}; see CHECKLIST.
    checklist = models.JSONField(_("checklist"), default=dict, blank=True)
    blacklisted = models.BooleanField(_("blacklisted"), default=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("exit")
        verbose_name_plural = _("exits")

    def __str__(self) -> str:
        return self.number


class BlacklistEntry(BaseModel):
    """A USCC refused for registration (a partner terminated for violations)."""

    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    company_name = models.CharField(_("company name"), max_length=200)
    reason = models.TextField(_("reason"))
    partner = models.ForeignKey(
        Partner, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist entries")

    def __str__(self) -> str:
        return self.uscc
