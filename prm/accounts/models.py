"""Accounts (R0 4A): the org tree, users, roles, login attempts, API tokens, account requests."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractBaseUser, Group, PermissionsMixin, UserManager
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prm.core.models import BaseModel
from prm.core.models.base import StatusMachine


class OrgUnit(BaseModel):
    """A node of an organisation tree: the operator (HQ → province → city → county) or a
    partner (partner → office → project department → station → team).

    ``path`` is the materialised path of primary keys (``/1/4/9/``) so that a subtree is
    one indexed prefix query; it is maintained by ``org_unit_create``/``org_unit_move``.
    """

    class Kind(models.TextChoices):
        HQ = "hq", _("Headquarters")
        PROVINCE = "province", _("Province company")
        CITY = "city", _("City branch")
        COUNTY = "county", _("County branch")
        PARTNER = "partner", _("Partner")
        OFFICE = "office", _("Office")
        PROJECT = "project", _("Project department")
        STATION = "station", _("Station")
        TEAM = "team", _("Team")

    OPERATOR_KINDS = (Kind.HQ, Kind.PROVINCE, Kind.CITY, Kind.COUNTY)
    PARTNER_KINDS = (Kind.PARTNER, Kind.OFFICE, Kind.PROJECT, Kind.STATION, Kind.TEAM)
    # Which kinds may sit directly under which (None: a root).
    ALLOWED_PARENTS = {
        Kind.HQ: {None},
        Kind.PROVINCE: {Kind.HQ},
        Kind.CITY: {Kind.PROVINCE},
        Kind.COUNTY: {Kind.CITY},
        Kind.PARTNER: {None},
        Kind.OFFICE: {Kind.PARTNER},
        Kind.PROJECT: {Kind.PARTNER, Kind.OFFICE},
        Kind.STATION: {Kind.PROJECT, Kind.OFFICE},
        Kind.TEAM: {Kind.STATION, Kind.PROJECT},
    }

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("path"), max_length=255, db_index=True, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    region = models.ForeignKey(
        "core.Region",
        verbose_name=_("region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("org unit")
        verbose_name_plural = _("org units")
        permissions = [("manage_orgunit", "Can manage org units")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_partner(self) -> bool:
        return self.kind in self.PARTNER_KINDS

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(part) for part in self.path.strip("/").split("/") if part]


class Role(BaseModel):
    """A role of R0 (system admin, partner manager, … promoter, field engineer).

    Each role owns one Django ``Group`` holding its permissions, so the standard
    permission checks work; the role also decides the home view and whether it is held
    by operator staff or partner users. Definitions live in ``prm.accounts.roles``.
    """

    class Audience(models.TextChoices):
        OPERATOR = "operator", _("Operator staff")
        PARTNER = "partner", _("Partner users")

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    audience = models.CharField(_("audience"), max_length=10, choices=Audience.choices)
    home_view = models.CharField(_("home view"), max_length=40)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="role")
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["audience", "code"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        permissions = [("manage_role", "Can change role permissions")]

    def __str__(self) -> str:
        return str(self.name)


class PrmUserManager(UserManager):
    def approvers_for(self, *, role_code: str, org_path: str) -> models.QuerySet:
        """Active users holding ``role_code`` whose org is exactly the node at ``org_path``.

        Used by the workflow engine in ``core`` (which does not import this app).
        """
        return self.filter(
            is_active=True, groups__role__code=role_code, org__path=org_path
        ).distinct()


class User(AbstractBaseUser, PermissionsMixin):
    """A person (or system) who signs in: operator staff or a partner's user.

    Every user belongs to exactly one org unit, which decides what they may see. Users
    with history are disabled (``is_active``), never deleted.
    """

    username = models.CharField(_("username"), max_length=150, unique=True)
    display_name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    mobile = models.CharField(_("mobile number"), max_length=11, blank=True)
    org = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="users"
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("Django admin access"), default=False)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    must_change_password = models.BooleanField(_("must change password"), default=True)
    password_changed_at = models.DateTimeField(_("password changed at"), null=True, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    totp_secret = models.CharField(_("TOTP secret"), max_length=64, blank=True)
    totp_confirmed_at = models.DateTimeField(_("TOTP enabled at"), null=True, blank=True)
    is_demo = models.BooleanField(_("demo user"), default=False)
    date_joined = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = PrmUserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("manage_user", "Can manage users in own org subtree"),
            ("request_account", "Can request operator accounts"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.username})"

    @property
    def scope_path(self) -> str:
        """The org path whose subtree this user may see: their own node for operator
        staff, their partner's root node for partner users."""
        org = self.org
        if org.kind in OrgUnit.PARTNER_KINDS and org.parent_id is not None:
            return f"/{org.ancestor_ids[0]}/"
        return org.path

    @property
    def is_partner_user(self) -> bool:
        return self.org.kind in OrgUnit.PARTNER_KINDS

    @property
    def role_codes(self) -> set[str]:
        if not hasattr(self, "_role_codes"):
            self._role_codes = set(
                Role.objects.filter(group__user=self).values_list("code", flat=True)
            )
        return self._role_codes

    def has_role(self, code: str) -> bool:
        return code in self.role_codes

    @property
    def totp_enabled(self) -> bool:
        return bool(self.totp_secret and self.totp_confirmed_at)

    def is_locked(self, now=None) -> bool:
        return bool(self.locked_until and self.locked_until > (now or timezone.now()))


class LoginAttempt(models.Model):
    """One sign-in attempt, successful or not; the lockout rule counts recent failures."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    is_success = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("login attempt")
        verbose_name_plural = _("login attempts")
        indexes = [models.Index(fields=["username", "created_at"], name="login_attempt_recent_idx")]

    def __str__(self) -> str:
        return f"{self.username} {'ok' if self.is_success else 'failed'}"


class ApiToken(BaseModel):
    """A bearer token for another system (billing, CRM …) acting as ``user``.

    Only the SHA-256 of the token is stored; the token is shown once when created.
    Scopes limit what it may call (``*`` for all); it expires and can be revoked.
    """

    user = models.ForeignKey(
        User, verbose_name=_("user"), on_delete=models.PROTECT, related_name="api_tokens"
    )
    label = models.CharField(_("label"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(_("scopes"), default=list)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    created_by = models.ForeignKey(
        User,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…)"

    @staticmethod
    def hash_token(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    def is_valid(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now and self.user.is_active

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes


class AccountRequest(StatusMachine, BaseModel):
    """A request to create an operator user account (e.g. for a new city's staff),
    approved on the workflow engine by the province's system admin (R0 workflow)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("In approval")
        REJECTED = "rejected", _("Rejected")
        APPROVED = "approved", _("Approved — account created")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.SUBMITTED: {Status.APPROVED, Status.REJECTED, Status.WITHDRAWN},
        Status.REJECTED: {Status.SUBMITTED, Status.WITHDRAWN},
        Status.APPROVED: set(),
        Status.WITHDRAWN: set(),
    }

    code = models.CharField(_("code"), max_length=30, unique=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    requested_by = models.ForeignKey(
        User,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="account_requests",
    )
    org = models.ForeignKey(
        OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT, related_name="+"
    )
    username = models.CharField(_("username"), max_length=150)
    display_name = models.CharField(_("name"), max_length=100)
    email = models.EmailField(_("e-mail"), blank=True)
    mobile = models.CharField(_("mobile number"), max_length=11)
    role_codes = models.JSONField(_("roles"), default=list)
    reason = models.TextField(_("reason"), blank=True)
    created_user = models.ForeignKey(
        User,
        verbose_name=_("created account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("account request")
        verbose_name_plural = _("account requests")
        constraints = [
            models.UniqueConstraint(
                fields=["username"],
                condition=Q(status__in=["draft", "submitted", "rejected"]),
                name="account_request_open_username_unique",
            )
        ]

    def __str__(self) -> str:
        return self.code
