"""Demo partners (``prm demo``): one active partner per category, applications in each
state of the review, experts, agreements, business codes and qualifications that come
due, so every partner page has something to show. Idempotent (a site flag)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.demo import DEMO_PASSWORD
from prm.accounts.models import OrgUnit, User
from prm.accounts.services import org_unit_create, user_create
from prm.core.models import SiteFlag
from prm.core.validators import uscc_check_char
from prm.core.workflow import workflow_submit
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.models import (
    Agreement,
    BusinessCode,
    Expert,
    Partner,
    PartnerCategory,
    PartnerProfileVersion,
    Qualification,
)

DEMO_FLAG = "demo_partners"

# (org code, company name, category code, managing org code, admin username or None)
DEMO_PARTNERS = (
    ("P-DEMO-SP", "示例信息技术有限公司", "sp", "GD", None),
    ("P-DEMO-CH", "示例通信代理有限公司", "channel_agent", "GD-GZ", None),
    ("P-DEMO-MC", "示例通信技术服务有限公司", "maintenance", "GD-GZ", None),
    ("P-DEMO-CP", "示例文化传媒有限公司", "cp", "GD", "cp_admin"),
    ("P-DEMO-AP", "示例软件科技有限公司", "ap", "GD-SZ", "ap_admin"),
    ("P-DEMO-OPS", "示例运营服务有限公司", "own_operations", "GD", "ops_admin"),
    ("P-DEMO-MKT", "示例营销策划有限公司", "own_marketing", "GD-GZ", "mkt_admin"),
    ("P-DEMO-SA", "示例集团业务代理有限公司", "group_agent", "GD-SZ", "sa_admin"),
    ("P-DEMO-TV", "示例终端制造有限公司", "terminal_vendor", "GD", "tv_admin"),
    ("P-DEMO-PX", "示例积分商城有限公司", "points_exchange", "GD", "px_admin"),
    ("P-DEMO-IX", "示例数据服务有限公司", "info_exchange", "GD", "ix_admin"),
)

# (username, name, org, domains, organisation)
DEMO_EXPERTS = (
    ("expert1", "王专家", "GD", ["sp", "cp", "ap"], "广东省通信学会"),
    ("expert2", "陈专家", "GD", ["sp", "cp", "channel_agent"], "华南理工大学"),
    ("expert3", "刘专家", "GD-GZ", ["sp", "ap", "own_operations"], "中山大学"),
    ("expert4", "赵专家", "GD-SZ", ["sp", "maintenance", "terminal_vendor"], "深圳大学"),
)

# (username, company, category, managing org, status)
DEMO_APPLICATIONS = (
    ("applicant", "示例新媒体科技有限公司", "sp", "GD", Partner.Status.DRAFT),
    ("applicant2", "示例彩铃内容有限公司", "cp", "GD", Partner.Status.SUBMITTED),
)


def demo_uscc(n: int) -> str:
    first17 = f"91440100MA5D{n:05d}"
    return first17 + uscc_check_char(first17)


def _user(username: str, name: str, org: OrgUnit, roles: tuple[str, ...]) -> User:
    existing = User.objects.filter(username=username).first()
    if existing is not None:
        return existing
    return user_create(
        actor=None,
        username=username,
        display_name=name,
        org=org,
        password=DEMO_PASSWORD,
        role_codes=roles,
        email=f"{username}@demo.prm.local",
        mobile="13800138000",
        must_change_password=False,
        is_demo=True,
    )


def _org(code: str, name: str, kind: str = "partner") -> OrgUnit:
    return OrgUnit.objects.filter(code=code).first() or org_unit_create(
        actor=None, code=code, name=name, kind=kind, parent=None
    )


def _profile(n: int, company: str, email: str) -> dict:
    return {
        "company_name": company,
        "uscc": demo_uscc(n),
        "legal_representative": "张伟",
        "registered_capital": Decimal("10000000.00"),
        "address": "广东省广州市天河区体育西路 1 号",
        "contact_name": "李娜",
        "contact_phone": "13800138000",
        "admin_email": email,
        "bank_name": "中国工商银行广州分行",
        "bank_account": f"62220202000{n:08d}",
        "business_scope": "增值电信业务；信息技术服务",
    }


def _version(partner: Partner, reason: str) -> None:
    data = {field: str(getattr(partner, field) or "") for field in Partner.PROFILE_FIELDS}
    number = partner.versions.count() + 1
    PartnerProfileVersion.objects.create(partner=partner, number=number, reason=reason, data=data)


@transaction.atomic
def demo_load() -> bool:
    """Load the demo partners; ``False`` if they were already there."""
    if SiteFlag.objects.filter(key=DEMO_FLAG).exists():
        return False
    from prm.partners.services.registration import partner_categories_sync

    partner_categories_sync()
    orgs = {org.code: org for org in OrgUnit.objects.filter(code__in=["GD", "GD-GZ", "GD-SZ"])}
    manager = User.objects.filter(username="partner_mgr").first()
    today = timezone.localdate()
    now = timezone.now()
    for n, (org_code, company, category_code, managing, admin_name) in enumerate(
        DEMO_PARTNERS, start=1
    ):
        org = _org(org_code, company)
        if admin_name:
            admin = _user(admin_name, f"{company}管理员", org, ("partner_admin",))
        else:
            admin = User.objects.filter(org=org, groups__role__code="partner_admin").first()
            admin = admin or _user(f"{org_code.lower()}_admin", company, org, ("partner_admin",))
        partner = Partner.objects.create(
            org=org,
            category=PartnerCategory.objects.get(code=category_code),
            code=f"P-{today.year}-{n:06d}",
            status=Partner.Status.ACTIVE,
            managing_org=orgs[managing],
            manager=manager,
            admin_user=admin,
            source=Partner.Source.SELF if n % 3 else Partner.Source.HQ,
            submitted_at=now - datetime.timedelta(days=200),
            decided_at=now - datetime.timedelta(days=180),
            approved_at=now - datetime.timedelta(days=180),
            tier=("A", "B", "C", "ordinary")[n % 4],
            **_profile(n, company, admin.email),
        )
        _version(partner, PartnerProfileVersion.Reason.APPROVED)
        for requirement in partner.category.requirements.all():
            # The first partner's licence comes due in 20 days: the reminder shows.
            expires = None
            if requirement.has_expiry:
                expires = today + datetime.timedelta(days=20 if n == 1 else 400)
            Qualification.objects.create(
                partner=partner,
                requirement=requirement,
                name=requirement.name,
                number=f"DEMO-{n:03d}-{requirement.code}"[:100],
                issued_on=today - datetime.timedelta(days=365),
                expires_on=expires,
                mandatory=requirement.mandatory,
            )
        Agreement.objects.create(
            partner=partner,
            number=f"AG-{today.year}-{n:06d}",
            title=f"{company}合作协议",
            status=Agreement.Status.ACTIVE,
            starts_on=today - datetime.timedelta(days=180),
            ends_on=today + datetime.timedelta(days=45 if n == 1 else 545),
            business_scope="短信、彩铃等增值业务合作",
            settlement_model=Agreement.SettlementModel.REVENUE_SHARE,
            revenue_share_percent=Decimal("70.00"),
            signed_on=today - datetime.timedelta(days=181),
            created_by=manager or admin,
        )
        if category_code in ("sp", "cp", "ap"):
            for index in range(2):
                BusinessCode.objects.create(
                    partner=partner,
                    code=f"9{n:02d}{index:02d}",
                    name=f"{company[:4]}业务{index + 1}",
                    service_type="SMS" if index == 0 else "彩铃",
                )

    _user("partner_mgr2", "合作伙伴部经理", orgs["GD"], ("partner_manager",))
    for username, name, org_code, domains, organisation in DEMO_EXPERTS:
        user = _user(username, name, orgs[org_code], ("expert",))
        Expert.objects.get_or_create(
            user=user, defaults={"domains": domains, "organisation": organisation}
        )

    for offset, (username, company, category_code, managing, status) in enumerate(
        DEMO_APPLICATIONS, start=50
    ):
        org = _org(f"REG-DEMO-{offset}", company)
        user = _user(username, f"{company}申请人", org, ("partner_applicant",))
        partner = Partner.objects.create(
            org=org,
            category=PartnerCategory.objects.get(code=category_code),
            status=Partner.Status.DRAFT,
            managing_org=orgs[managing],
            admin_user=user,
            **_profile(offset, company, user.email),
        )
        for requirement in partner.category.requirements.filter(mandatory=True):
            Qualification.objects.create(
                partner=partner,
                requirement=requirement,
                name=requirement.name,
                expires_on=today + datetime.timedelta(days=700) if requirement.has_expiry else None,
                mandatory=True,
            )
        if status == Partner.Status.SUBMITTED:
            partner.transition_to(Partner.Status.SUBMITTED)
            partner.submitted_at = now
            partner.save()
            _version(partner, PartnerProfileVersion.Reason.SUBMITTED)
            workflow_submit(
                target=partner,
                definition_code=PARTNER_APPLICATION_WORKFLOW,
                actor=user,
                org=partner.managing_org,
            )
    SiteFlag.objects.create(key=DEMO_FLAG, value="1")
    return True


def demo_logins() -> list[tuple[str, str]]:
    """(username, what to try) printed by ``prm demo``."""
    return [
        ("partner_mgr2", _("Partner manager (second reviewer, decisions)")),
        ("expert1", _("Review expert: scores drawn applications")),
        ("applicant", _("A company filling in its partner registration")),
        ("applicant2", _("A company whose application is under review")),
        ("cp_admin", _("Administrator of an active content provider")),
    ]
