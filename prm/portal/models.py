"""Partner portal (R2): announcements, breach investigations, public notices, inquiries
and the knowledge base."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class Announcement(StatusMachine, BaseModel):
    """A notice from operator staff to an audience of partners (owns attachments)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.DRAFT: {Status.PUBLISHED},
        Status.PUBLISHED: {Status.WITHDRAWN},
        Status.WITHDRAWN: set(),
    }

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # The operator node that publishes; it reaches only partners it manages (scoping).
    org = models.ForeignKey(
        "accounts.OrgUnit", on_delete=models.PROTECT, related_name="+", verbose_name=_("publisher")
    )
    audience_all = models.BooleanField(_("all partners"), default=True)
    audience_categories = models.ManyToManyField(
        "partners.PartnerCategory", blank=True, related_name="+", verbose_name=_("categories")
    )
    # Tier codes (Partner.Tier values).
    audience_tiers = models.JSONField(_("tiers"), default=list, blank=True)
    # Operator org nodes: partners managed in their subtrees.
    audience_regions = models.ManyToManyField(
        "accounts.OrgUnit", blank=True, related_name="+", verbose_name=_("regions")
    )
    publish_from = models.DateTimeField(_("visible from"))
    publish_until = models.DateTimeField(_("visible until"), null=True, blank=True)
    requires_ack = models.BooleanField(_("acknowledgement required"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        ordering = ["-publish_from"]
        permissions = [("publish_announcement", "Can write and publish announcements")]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")

    def __str__(self) -> str:
        return self.title


class AnnouncementReceipt(BaseModel):
    """That a partner read (and, where required, acknowledged) an announcement."""

    announcement = models.ForeignKey(
        Announcement, on_delete=models.CASCADE, related_name="receipts"
    )
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    read_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    read_at = models.DateTimeField(_("read at"))
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["announcement", "partner"], name="uniq_receipt")
        ]
        verbose_name = _("announcement receipt")
        verbose_name_plural = _("announcement receipts")


class AnnouncementReply(BaseModel):
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="replies")
    partner = models.ForeignKey("partners.Partner", on_delete=models.CASCADE, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("reply"))

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("announcement reply")
        verbose_name_plural = _("announcement replies")


class BreachCase(StatusMachine, BaseModel):
    """违约调查: a suspected violation, the partner's evidence and the decision
    (owns attachments: staff evidence and, through responses, the partner's)."""

    class Status(models.TextChoices):
        AWAITING_RESPONSE = "awaiting_response", _("Awaiting the partner's response")
        RESPONDED = "responded", _("Partner responded")
        UPHELD = "upheld", _("Upheld")
        NOT_UPHELD = "not_upheld", _("Not upheld")

    TRANSITIONS = {
        Status.AWAITING_RESPONSE: {Status.RESPONDED, Status.UPHELD, Status.NOT_UPHELD},
        Status.RESPONDED: {Status.RESPONDED, Status.UPHELD, Status.NOT_UPHELD},
        Status.UPHELD: set(),
        Status.NOT_UPHELD: set(),
    }

    class ViolationType(models.TextChoices):
        UNSOLICITED_SUBSCRIPTION = "unsolicited_subscription", _("Subscription without consent")
        MISLEADING_PROMOTION = "misleading_promotion", _("Misleading promotion")
        BILLING_FRAUD = "billing_fraud", _("Billing fraud")
        ILLEGAL_CONTENT = "illegal_content", _("Illegal content")
        SERVICE_QUALITY = "service_quality", _("Poor service quality")
        DATA_LEAK = "data_leak", _("Customer data leak")
        OTHER = "other", _("Other")

    class Impact(models.TextChoices):
        MINOR = "minor", _("Minor")
        ORDINARY = "ordinary", _("Ordinary")
        SERIOUS = "serious", _("Serious")
        VERY_SERIOUS = "very_serious", _("Very serious")

    number = models.CharField(_("case number"), max_length=30, unique=True)
    partner = models.ForeignKey(
        "partners.Partner", on_delete=models.PROTECT, related_name="breach_cases"
    )
    org = models.ForeignKey(
        "accounts.OrgUnit",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("opened by org"),
    )
    business = models.CharField(_("business concerned"), max_length=200)

    class BusinessLine(models.TextChoices):
        """The credit module's business lines (R3): the line the deduction applies to."""

        SMS = "sms", _("SMS")
        MMS = "mms", _("MMS")
        WAP = "wap", _("WAP")
        IVR = "ivr", _("IVR")
        CRBT = "crbt", _("Colour ring-back tone")
        OTHER = "other", _("Other")

    business_line = models.CharField(
        _("business line"), max_length=10, choices=BusinessLine.choices, default="other"
    )
    violation_type = models.CharField(
        _("violation type"), max_length=40, choices=ViolationType.choices
    )
    description = models.TextField(_("description"))
    affected_users = models.PositiveIntegerField(_("affected users"), default=0)
    impact = models.CharField(_("impact degree"), max_length=20, choices=Impact.choices)
    used_marketing_resources = models.BooleanField(
        _("committed with allocated marketing resources"), default=False
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=Status.choices,
        default=Status.AWAITING_RESPONSE,
        db_index=True,
    )
    response_due = models.DateField(_("response due by"))
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reasons"), blank=True)
    # Penalties of an upheld case.
    credit_deduction = models.BooleanField(_("credit deduction"), default=False)
    fine_amount = models.DecimalField(
        _("fine (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    suspend_business_until = models.DateField(_("business suspended until"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("manage_breachcase", "Can open and decide breach investigations")]
        verbose_name = _("breach investigation")
        verbose_name_plural = _("breach investigations")

    def __str__(self) -> str:
        return self.number


class BreachResponse(BaseModel):
    """A partner's feedback on a case (owns the partner's evidence attachments)."""

    case = models.ForeignKey(BreachCase, on_delete=models.CASCADE, related_name="responses")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("feedback"))

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("breach response")
        verbose_name_plural = _("breach responses")


class PublicNotice(BaseModel):
    """公示: admission results, penalties, tier results (tier results back-to-back)."""

    class Kind(models.TextChoices):
        ADMISSION = "admission", _("Admission result")
        PENALTY = "penalty", _("Penalty")
        TIER = "tier", _("Tier result")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    # Set for back-to-back notices: only this partner (and staff) see it.
    only_partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("visible only to"),
    )
    org = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("published at"), db_index=True)
    breach_case = models.ForeignKey(
        BreachCase, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices"
    )
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("partner concerned"),
    )

    class Meta:
        ordering = ["-published_at"]
        verbose_name = _("public notice")
        verbose_name_plural = _("public notices")

    def __str__(self) -> str:
        return self.title


class Inquiry(StatusMachine, BaseModel):
    """A partner's question or support request, answered before a deadline."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    TRANSITIONS = {
        Status.OPEN: {Status.ANSWERED, Status.CLOSED},
        Status.ANSWERED: {Status.OPEN, Status.CLOSED},
        Status.CLOSED: set(),
    }

    class Topic(models.TextChoices):
        BUSINESS = "business", _("Business")
        SETTLEMENT = "settlement", _("Settlement")
        TECHNICAL = "technical", _("Technical support")
        ACCOUNT = "account", _("Account")
        OTHER = "other", _("Other")

    number = models.CharField(_("number"), max_length=30, unique=True)
    partner = models.ForeignKey("partners.Partner", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    topic = models.CharField(_("topic"), max_length=20, choices=Topic.choices)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("question"))
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    due_at = models.DateTimeField(_("answer due by"))
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("answer_inquiry", "Can answer partner inquiries")]
        verbose_name = _("inquiry")
        verbose_name_plural = _("inquiries")

    def __str__(self) -> str:
        return self.number


class KnowledgeArticle(StatusMachine, BaseModel):
    """An article of the marketing knowledge base, reviewed before publication."""

    class Category(models.TextChoices):
        PRODUCT = "product", _("Product information")
        MARKETING = "marketing", _("Marketing experience")
        SOLUTION = "solution", _("Solution library")
        CASE = "case", _("Case library")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Returned")
        ARCHIVED = "archived", _("Archived")

    TRANSITIONS = {
        Status.DRAFT: {Status.IN_REVIEW},
        Status.IN_REVIEW: {Status.PUBLISHED, Status.REJECTED, Status.DRAFT},
        Status.REJECTED: {Status.IN_REVIEW, Status.DRAFT},
        Status.PUBLISHED: {Status.ARCHIVED},
        Status.ARCHIVED: set(),
    }

    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    summary = models.CharField(_("summary"), max_length=300, blank=True)
    body = models.TextField(_("text"))
    tags = models.CharField(_("tags"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # Partners see published articles; audience_partners False keeps one internal.
    audience_partners = models.BooleanField(_("visible to partners"), default=True)
    org = models.ForeignKey("accounts.OrgUnit", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    review_note = models.TextField(_("review note"), blank=True)

    class Meta:
        ordering = ["-published_at", "-created_at"]
        permissions = [
            ("write_knowledgearticle", "Can write knowledge articles"),
            ("review_knowledgearticle", "Can review knowledge articles"),
        ]
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")

    def __str__(self) -> str:
        return self.title
