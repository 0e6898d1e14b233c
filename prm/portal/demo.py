"""Demo portal content (``prm demo``): announcements, a breach case awaiting the
partner's answer, an upheld one with its public notice, knowledge articles and an
inquiry — made through the services, so notifications and audit rows are real."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from prm.accounts.models import User
from prm.core.models import SiteFlag
from prm.partners.models import Partner
from prm.portal.services.announcements import announcement_create, announcement_publish
from prm.portal.services.cases import (
    breach_case_decide,
    breach_case_open,
    breach_response_submit,
    inquiry_create,
)
from prm.portal.services.knowledge import (
    knowledge_article_approve,
    knowledge_article_create,
    knowledge_article_submit,
)

DEMO_FLAG = "demo_portal"

ARTICLES = (
    (
        "product",
        "彩铃业务产品介绍",
        "视频彩铃、音频彩铃的资费、开通方式与推广要点。",
        "本月彩铃业务推广重点：视频彩铃 5 元/月，音频彩铃 3 元/月。开通须经用户短信二次确认。",
    ),
    (
        "marketing",
        "营业厅增值业务营销经验",
        "营业员推荐增值业务的话术与常见问题。",
        "推荐前先了解用户使用习惯；严禁未经用户同意开通任何业务。",
    ),
    (
        "case",
        "违规订购案例分析",
        "一起未经用户确认订购业务的违约调查与处理结果。",
        "某合作伙伴在未取得用户确认的情况下批量订购，经调查违约成立，扣减信用分并公示。",
    ),
)


@transaction.atomic
def demo_load() -> bool:
    """Load the demo portal content; ``False`` if it was already there."""
    if SiteFlag.objects.filter(key=DEMO_FLAG).exists():
        return False
    manager = User.objects.get(username="partner_mgr")
    reviewer = User.objects.get(username="partner_mgr2")
    sp = Partner.objects.get(org__code="P-DEMO-SP")
    cp = Partner.objects.get(org__code="P-DEMO-CP")
    now = timezone.now()

    first = announcement_create(
        actor=manager,
        title="关于开展2026年度合作伙伴资质年检的通知",
        body="请各合作伙伴于本月底前登录门户更新资质证照，逾期未更新的暂停新增业务。",
        publish_from=now - datetime.timedelta(days=1),
        requires_ack=True,
    )
    announcement_publish(actor=manager, announcement_id=first.pk)
    second = announcement_create(
        actor=manager,
        title="彩铃业务营销活动启动",
        body="彩铃业务营销活动即日起启动，详情见知识库。",
        publish_from=now - datetime.timedelta(hours=2),
    )
    announcement_publish(actor=manager, announcement_id=second.pk)

    breach_case_open(
        actor=manager,
        partner=sp,
        business="9010 短信点播",
        violation_type="unsolicited_subscription",
        description="用户投诉未经确认被订购短信点播业务，涉及 35 名用户。",
        impact="ordinary",
        affected_users=35,
    )
    upheld = breach_case_open(
        actor=manager,
        partner=cp,
        business="9040 彩铃内容",
        violation_type="misleading_promotion",
        description="推广短信夸大资费优惠，误导用户订购。",
        impact="minor",
        affected_users=12,
    )
    cp_admin = User.objects.get(username="cp_admin")
    breach_response_submit(
        actor=cp_admin, number=upheld.number, body="已下线相关推广短信并向用户致歉。"
    )
    breach_case_decide(
        actor=manager,
        number=upheld.number,
        upheld=True,
        reason="推广内容与实际资费不符，违约成立。",
        credit_deduction=True,
        fine_amount=Decimal("2000.00"),
    )

    for category, title, summary, body in ARTICLES:
        article = knowledge_article_create(
            actor=manager, title=title, category=category, summary=summary, body=body, tags="彩铃"
        )
        knowledge_article_submit(actor=manager, article_id=article.pk)
        knowledge_article_approve(actor=reviewer, article_id=article.pk)

    inquiry_create(
        actor=User.objects.get(username="sp_admin"),
        topic="settlement",
        subject="上月结算金额咨询",
        body="上月结算单中的扣减项是什么原因？",
    )
    SiteFlag.objects.create(key=DEMO_FLAG, value="1")
    return True


def demo_logins() -> list[tuple[str, str]]:
    return [("sp_admin", _("Partner admin with an open breach case and an inquiry"))]
