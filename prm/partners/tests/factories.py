"""Test data for partners: categories, partners (applications or active), their users.

Partners are built directly (the registration and review services have their own tests);
org units and users go through the accounts services.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.utils import timezone

from prm.accounts.models import OrgUnit
from prm.accounts.tests import factories as account_factories
from prm.core.validators import uscc_check_char
from prm.partners.models import Partner, PartnerCategory, QualificationRequirement

_counter = itertools.count(1)


def uscc(n: int | None = None) -> str:
    """A valid USCC (check character computed), distinct per call."""
    n = next(_counter) if n is None else n
    first17 = f"91440101MA{n:07d}"
    return first17 + uscc_check_char(first17)


def category(code: str = "sp", **extra) -> PartnerCategory:
    defaults = {
        "name": extra.pop("name", f"类别 {code}"),
        "name_en": extra.pop("name_en", f"Category {code}"),
        "expert_domain": extra.pop("expert_domain", code),
        "review_criteria": extra.pop(
            "review_criteria",
            [
                {"code": "capability", "name": "能力", "name_en": "Capability", "max_score": 50},
                {"code": "compliance", "name": "合规", "name_en": "Compliance", "max_score": 50},
            ],
        ),
        **extra,
    }
    obj, _ = PartnerCategory.objects.get_or_create(code=code, defaults=defaults)
    return obj


def requirement(cat: PartnerCategory, code: str = "business_licence", **extra):
    defaults = {
        "name": extra.pop("name", "营业执照"),
        "name_en": extra.pop("name_en", "Business licence"),
        "mandatory": extra.pop("mandatory", True),
        "allowed_types": extra.pop("allowed_types", ["pdf", "jpg", "png"]),
        **extra,
    }
    obj, _ = QualificationRequirement.objects.get_or_create(
        category=cat, code=code, defaults=defaults
    )
    return obj


def partner(
    *,
    managing_org: OrgUnit,
    org: OrgUnit | None = None,
    status: str = Partner.Status.ACTIVE,
    category_code: str = "sp",
    admin_roles: tuple[str, ...] | None = None,
    **extra,
) -> Partner:
    """A partner with its root org and an admin user (``partner.admin_user``).

    Active partners get a code and the ``partner_admin`` role; applications the
    ``partner_applicant`` role.
    """
    n = next(_counter)
    if org is None:
        org = account_factories.org_unit(kind="partner", parent=None, name=f"Partner {n}")
    active = status not in Partner.APPLICATION_STATUSES
    if admin_roles is None:
        admin_roles = ("partner_admin",) if active else ("partner_applicant",)
    admin = account_factories.user(org=org, roles=admin_roles)
    now = timezone.now()
    values = {
        "company_name": f"Company {n} Ltd",
        "uscc": uscc(),
        "legal_representative": "张三",
        "registered_capital": Decimal("5000000.00"),
        "address": "广州市天河区",
        "contact_name": "李四",
        "contact_phone": "13800138000",
        "admin_email": admin.email,
        "bank_name": "ICBC",
        "bank_account": "6222020200000000000",
        "business_scope": "SMS services",
        "code": f"P-{now.year}-{n:06d}" if active else None,
        "approved_at": now if active else None,
        "submitted_at": now if status != Partner.Status.DRAFT else None,
    }
    values.update(extra)
    return Partner.objects.create(
        org=org,
        category=category(category_code),
        status=status,
        managing_org=managing_org,
        admin_user=admin,
        **values,
    )


def partner_user(partner_obj: Partner, *, roles: tuple[str, ...] = ("partner_staff",), **extra):
    return account_factories.user(org=partner_obj.org, roles=roles, **extra)
