"""The deterministic demo data set (``prm demo``): an operator tree, a user per role,
a few partners. Idempotent: a second run changes nothing and only prints the logins again.

Every demo user has the published password ``DEMO_PASSWORD`` and no forced password
change, so ``prm demo`` refuses to run in production mode (see the command).
"""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

from prm.accounts.models import OrgUnit, User
from prm.accounts.roles import ROLE_SPECS
from prm.accounts.services import org_unit_create, user_create
from prm.core.context_processors import DEMO_FLAG_CACHE_KEY
from prm.core.models import SiteFlag

DEMO_PASSWORD = "Prm-Demo-2026"

# (code, name, kind, parent code)
DEMO_ORGS = (
    ("HQ", "中国移动集团总部", "hq", None),
    ("GD", "广东省公司", "province", "HQ"),
    ("GD-GZ", "广州市分公司", "city", "GD"),
    ("GD-SZ", "深圳市分公司", "city", "GD"),
    ("GD-GZ-TH", "天河区分公司", "county", "GD-GZ"),
    ("GD-GZ-HZ", "海珠区分公司", "county", "GD-GZ"),
    ("GD-SZ-NS", "南山区分公司", "county", "GD-SZ"),
    ("P-DEMO-SP", "示例信息技术有限公司", "partner", None),
    ("P-DEMO-CH", "示例通信代理有限公司", "partner", None),
    ("P-DEMO-MC", "示例通信技术服务有限公司", "partner", None),
    ("P-DEMO-MC-GZ", "广州办事处", "office", "P-DEMO-MC"),
)

# (username, display name, org code, role codes)
DEMO_USERS = (
    ("admin", "系统管理员", "GD", ("system_admin",)),
    ("hq_auditor", "集团审计员", "HQ", ("auditor",)),
    ("gz_admin", "广州系统管理员", "GD-GZ", ("system_admin",)),
    ("partner_mgr", "合作伙伴经理", "GD", ("partner_manager",)),
    ("channel_mgr", "渠道经理", "GD-GZ", ("channel_manager",)),
    ("account_mgr", "客户经理", "GD-GZ-TH", ("account_manager",)),
    ("presales", "售前支撑经理", "GD-GZ", ("presales_manager",)),
    ("project_mgr", "项目经理", "GD-GZ", ("project_manager",)),
    ("noc", "网管监控员", "GD-GZ", ("operations_staff",)),
    ("cs_agent", "客服坐席", "GD-SZ", ("cs_agent",)),
    ("finance", "财务人员", "GD", ("finance",)),
    ("auditor", "审计员", "GD", ("auditor",)),
    ("sp_admin", "示例SP管理员", "P-DEMO-SP", ("partner_admin",)),
    ("sp_staff", "示例SP员工", "P-DEMO-SP", ("partner_staff",)),
    ("engineer", "代维工程师", "P-DEMO-MC-GZ", ("field_engineer",)),
)


def demo_logins() -> list[tuple[str, str, str]]:
    roles = {spec.code: str(spec.name) for spec in ROLE_SPECS}
    return [
        (username, DEMO_PASSWORD, ", ".join(roles[c] for c in codes))
        for username, _, _, codes in DEMO_USERS
    ]


@transaction.atomic
def demo_data_load() -> bool:
    """Load the demo data set; ``False`` if it was already there."""
    if SiteFlag.objects.filter(key="demo_data").exists():
        return False
    orgs: dict[str, OrgUnit] = {}
    for code, name, kind, parent in DEMO_ORGS:
        # An org made by hand with a demo code is reused rather than refused.
        orgs[code] = OrgUnit.objects.filter(code=code).first() or org_unit_create(
            actor=None, code=code, name=name, kind=kind, parent=orgs.get(parent)
        )
    for username, display_name, org_code, role_codes in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        user_create(
            actor=None,
            username=username,
            display_name=display_name,
            org=orgs[org_code],
            password=DEMO_PASSWORD,
            role_codes=role_codes,
            email=f"{username}@demo.prm.local",
            mobile="13800138000",
            must_change_password=False,
            is_demo=True,
        )
    SiteFlag.objects.create(key="demo_data", value="1")
    cache.delete(DEMO_FLAG_CACHE_KEY)
    return True
