"""Introduction review of partner applications (R1 引入): the three-step workflow, the
expert panel draw (exclusions, reproducibility, too few experts), scoring, the decision,
rejection and resubmission, the expert pool, recommendations and the source report."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from prm.accounts.models import User
from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, Notification, WorkflowInstance
from prm.core.workflow import workflow_approve, workflow_resubmit, workflow_submit
from prm.partners.constants import PARTNER_APPLICATION_WORKFLOW
from prm.partners.models import (
    Expert,
    ExpertConflict,
    ExpertPanel,
    ExpertScore,
    Partner,
    PartnerProfileVersion,
)
from prm.partners.selectors_review import (
    application_workflow,
    expert_panel_drawn_ids,
    expert_panel_redraw,
    expert_panel_redraw_check,
    partner_source_report,
)
from prm.partners.services import review as review_services
from prm.partners.services.review import (
    application_review_approve,
    application_review_reject,
    expert_conflict_declare,
    expert_conflict_remove,
    expert_create,
    expert_panel_draw,
    expert_score_submit,
    expert_update,
    partner_code_next,
    partner_recommend,
)
from prm.partners.tests import factories
from prm.portal.models import PublicNotice

pytestmark = pytest.mark.django_db

CODE_PATTERN = re.compile(r"^P-\d{4}-\d{6}$")
# A test category (factory criteria: capability 0–50, compliance 0–50; domain "rv").
CATEGORY = "rv"
FULL_MARKS = {"capability": 50, "compliance": 50}


# --- Fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def reviewer(orgs, make_user):
    """The province's partner manager: holds every step of the application workflow."""
    return make_user(org=orgs.province, roles=("partner_manager",), username="gd_mgr")


@pytest.fixture
def hq_manager(orgs, make_user):
    return make_user(org=orgs.hq, roles=("partner_manager",), username="hq_mgr")


@pytest.fixture
def other_org_manager(orgs, make_user):
    return make_user(org=orgs.city_b, roles=("partner_manager",), username="sz_mgr")


@pytest.fixture
def no_permission(orgs, make_user):
    return make_user(org=orgs.province, roles=("channel_manager",), username="gd_cm")


def make_expert(orgs, make_user, *, username, domains=(CATEGORY,), organisation="", **extra):
    user = make_user(org=orgs.province, roles=("expert",), username=username)
    return Expert.objects.create(
        user=user,
        domains=list(domains),
        organisation=organisation or f"University of {username}",
        **extra,
    )


@pytest.fixture
def experts(orgs, make_user):
    """Four eligible experts of the test category's domain."""
    return [make_expert(orgs, make_user, username=f"expert{n}") for n in range(1, 5)]


def submitted_application(orgs, **extra) -> Partner:
    """An application as the registration submit leaves it: ``submitted``, in step 1."""
    extra.setdefault("managing_org", orgs.province)
    partner = factories.partner(status="submitted", category_code=CATEGORY, **extra)
    workflow_submit(
        target=partner,
        definition_code=PARTNER_APPLICATION_WORKFLOW,
        actor=partner.admin_user,
        org=partner.managing_org,
    )
    return partner


@pytest.fixture
def application(orgs, reviewer):
    return submitted_application(orgs)


def at_panel_step(partner, reviewer):
    application_review_approve(partner_id=partner.pk, actor=reviewer)
    return application_workflow(partner)


def score_all(panel, totals):
    """Every drawn expert scores so that their totals are ``totals`` (in draw order)."""
    experts = Expert.objects.in_bulk(expert_panel_drawn_ids(panel))
    for expert_id, total in zip(expert_panel_drawn_ids(panel), totals, strict=True):
        capability = min(Decimal(total), Decimal(50))
        expert_score_submit(
            panel_id=panel.pk,
            actor=experts[expert_id].user,
            scores={"capability": capability, "compliance": Decimal(total) - capability},
            comment="ok",
        )
    panel.refresh_from_db()
    return panel


def counts():
    return {
        "panels": ExpertPanel.objects.count(),
        "scores": ExpertScore.objects.count(),
        "audit": AuditEvent.objects.count(),
        "notifications": Notification.objects.count(),
        "partners": Partner.objects.count(),
        "users": User.objects.count(),
        "experts": Expert.objects.count(),
        "conflicts": ExpertConflict.objects.count(),
    }


# --- The whole path -----------------------------------------------------------------------


def test_application_goes_through_three_steps_to_approval(
    orgs, reviewer, experts, application, django_capture_on_commit_callbacks, settings
):
    settings.LANGUAGE_CODE = "en"
    with django_capture_on_commit_callbacks(execute=True):
        instance = at_panel_step(application, reviewer)
        assert (instance.current_step, instance.status) == (2, "in_progress")

        panel = expert_panel_draw(partner_id=application.pk, actor=reviewer, seed="s1")
        score_all(panel, [80, 71, 91])
        application_review_approve(partner_id=application.pk, actor=reviewer)
        assert application_workflow(application).current_step == 3

        mail.outbox.clear()
        application_review_approve(partner_id=application.pk, actor=reviewer, comment="go")

    application.refresh_from_db()
    assert application.status == Partner.Status.ACTIVE
    assert CODE_PATTERN.match(application.code)
    assert application.code.startswith(f"P-{application.approved_at.astimezone().year}-")
    assert application.approved_at == application.decided_at
    assert application_workflow(application).status == WorkflowInstance.Status.APPROVED
    admin = User.objects.get(pk=application.admin_user_id)
    assert admin.role_codes == {"partner_admin"}
    version = PartnerProfileVersion.objects.get(partner=application)
    assert version.reason == "approved"
    assert version.data["uscc"] == application.uscc
    notice = PublicNotice.objects.get(partner=application)
    assert notice.kind == "admission"
    assert application.code in notice.body
    assert notice.org == orgs.province
    approved_mail = [m for m in mail.outbox if application.code in m.body]
    assert [m.to for m in approved_mail] == [[admin.email]]
    # The mail is in the recipient's language (zh-hans by default).
    assert approved_mail[0].subject == f"合作伙伴注册已通过：{application}"
    assert Notification.objects.filter(
        recipient=admin, event="partners.application_approved"
    ).exists()
    assert AuditEvent.objects.filter(action="partner.approved", target_id=str(application.pk))


def test_partner_codes_are_sequential_per_year(orgs):
    factories.partner(managing_org=orgs.province, code="P-2020-000777")
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    factories.partner(managing_org=orgs.province, code=f"P-{year}-000041")

    first, second = partner_code_next(), partner_code_next()

    assert (first, second) == (f"P-{year}-000042", f"P-{year}-000043")


def test_rejection_returns_reasons_and_a_resubmission_is_a_new_round(
    orgs, reviewer, experts, application, django_capture_on_commit_callbacks
):
    at_panel_step(application, reviewer)
    first_panel = expert_panel_draw(partner_id=application.pk, actor=reviewer, seed="r1")

    with django_capture_on_commit_callbacks(execute=True):
        application_review_reject(
            partner_id=application.pk, actor=reviewer, reason="Licence copy unreadable"
        )

    application.refresh_from_db()
    assert application.status == Partner.Status.REJECTED
    assert application.rejection_reasons == "Licence copy unreadable"
    assert application.decided_at is not None
    assert Notification.objects.filter(
        recipient=application.admin_user, event="partners.application_returned"
    ).exists()
    instance = application_workflow(application)
    assert instance.status == WorkflowInstance.Status.REJECTED

    # The applicant corrects and resubmits (the registration page calls the engine).
    workflow_resubmit(instance_id=instance.pk, actor=application.admin_user)
    application.refresh_from_db()
    assert application.status == Partner.Status.SUBMITTED
    instance.refresh_from_db()
    assert (instance.round, instance.current_step) == (2, 1)

    at_panel_step(application, reviewer)
    second_panel = expert_panel_draw(partner_id=application.pk, actor=reviewer, seed="r2")
    assert (first_panel.round, second_panel.round) == (1, 2)
    score_all(second_panel, [60, 70, 80])
    application_review_approve(partner_id=application.pk, actor=reviewer)
    application_review_approve(partner_id=application.pk, actor=reviewer)

    application.refresh_from_db()
    assert application.status == Partner.Status.ACTIVE
    assert application.rejection_reasons == ""
    assert ExpertPanel.objects.filter(partner=application).count() == 2  # history kept


def test_withdrawal_returns_the_application_to_draft(orgs, reviewer, application):
    from prm.core.workflow import workflow_withdraw

    workflow_withdraw(
        instance_id=application_workflow(application).pk, actor=application.admin_user
    )

    application.refresh_from_db()
    assert application.status == Partner.Status.DRAFT


# --- The panel guard ---------------------------------------------------------------------


def test_panel_step_cannot_be_approved_before_the_panel_is_complete(
    orgs, reviewer, experts, application
):
    at_panel_step(application, reviewer)

    with pytest.raises(ApplicationError) as not_drawn:
        application_review_approve(partner_id=application.pk, actor=reviewer)
    panel = expert_panel_draw(partner_id=application.pk, actor=reviewer, seed="g")
    first = Expert.objects.get(pk=expert_panel_drawn_ids(panel)[0])
    expert_score_submit(panel_id=panel.pk, actor=first.user, scores=FULL_MARKS)
    before = counts()
    with pytest.raises(ApplicationError) as incomplete:
        application_review_approve(partner_id=application.pk, actor=reviewer)

    assert not_drawn.value.code == "panel_not_drawn"
    assert incomplete.value.code == "panel_incomplete"
    assert incomplete.value.details == {"missing": 2, "size": 3}
    assert counts() == before
    instance = application_workflow(application)
    assert (instance.current_step, instance.status) == (2, "in_progress")


def test_the_generic_approval_action_is_refused_too_before_the_panel_is_complete(
    orgs, reviewer, experts, application
):
    """The engine's before_approve hook guards the panel step on every path (the
    approvals page, the workflow API), not only on the review page."""
    instance = at_panel_step(application, reviewer)
    before = counts()

    with pytest.raises(ApplicationError) as generic:
        workflow_approve(instance_id=instance.pk, actor=reviewer)
    with pytest.raises(ApplicationError) as guarded:
        application_review_approve(partner_id=application.pk, actor=reviewer)

    assert (generic.value.code, guarded.value.code) == ("panel_not_drawn", "panel_not_drawn")
    assert counts() == before
    application.refresh_from_db()
    assert (application.status, application.code) == (Partner.Status.SUBMITTED, None)
    instance.refresh_from_db()
    assert (instance.status, instance.current_step) == ("in_progress", 2)


def test_the_draw_is_reproducible_from_its_seed(orgs, make_user, reviewer):
    pool = [make_expert(orgs, make_user, username=f"e{n}") for n in range(8)]
    first = submitted_application(orgs)
    second = submitted_application(orgs)
    at_panel_step(first, reviewer)
    at_panel_step(second, reviewer)

    panel_one = expert_panel_draw(partner_id=first.pk, actor=reviewer, seed="fixed-seed")
    panel_two = expert_panel_draw(partner_id=second.pk, actor=reviewer, seed="fixed-seed")

    eligible = sorted(expert.pk for expert in pool)
    assert panel_one.eligible_ids == eligible
    assert expert_panel_drawn_ids(panel_one) == expert_panel_drawn_ids(panel_two)
    assert expert_panel_drawn_ids(panel_one) == expert_panel_redraw(
        seed="fixed-seed", eligible_ids=eligible, size=3
    )
    assert expert_panel_redraw_check(panel_one) is True
    assert panel_one.criteria == first.category.review_criteria
    ExpertPanel.objects.filter(pk=panel_one.pk).update(seed="tampered")
    panel_one.refresh_from_db()
    assert expert_panel_redraw_check(panel_one) is False


def test_a_random_seed_is_stored_and_drawn_experts_are_notified(
    orgs, reviewer, experts, application, django_capture_on_commit_callbacks
):
    at_panel_step(application, reviewer)

    with django_capture_on_commit_callbacks(execute=True):
        panel = expert_panel_draw(partner_id=application.pk, actor=reviewer)

    assert re.fullmatch(r"[0-9a-f]{32}", panel.seed)
    assert expert_panel_redraw_check(panel)
    drawn_users = set(
        Expert.objects.filter(pk__in=expert_panel_drawn_ids(panel)).values_list("user", flat=True)
    )
    notified = set(
        Notification.objects.filter(event="partners.expert_drawn").values_list(
            "recipient", flat=True
        )
    )
    assert notified == drawn_users and len(drawn_users) == 3


@pytest.mark.parametrize(
    ("_case", "pool_size", "panel_size", "ok"),
    [
        ("one_short", 2, 3, False),
        ("exactly_enough", 3, 3, True),
        ("custom_size_too_big", 3, 4, False),
    ],
)
def test_too_few_eligible_experts_refuses_the_draw(
    orgs, make_user, reviewer, application, settings, _case, pool_size, panel_size, ok
):
    settings.LANGUAGE_CODE = "en"
    for n in range(pool_size):
        make_expert(orgs, make_user, username=f"p{n}")
    make_expert(orgs, make_user, username="other-domain", domains=("cp",))
    at_panel_step(application, reviewer)
    before = counts()

    if ok:
        panel = expert_panel_draw(partner_id=application.pk, actor=reviewer, size=panel_size)
        assert panel.scores.count() == panel_size
        return
    with pytest.raises(ApplicationError) as refused:
        expert_panel_draw(partner_id=application.pk, actor=reviewer, size=panel_size)

    assert refused.value.code == "expert_pool_too_small"
    assert refused.value.details == {"eligible": pool_size, "size": panel_size}
    assert f"Only {pool_size} experts" in str(refused.value.message)
    assert f"needs {panel_size}" in str(refused.value.message)
    assert counts() == before


def test_panel_size_defaults_to_the_category_then_the_setting(orgs, make_user, reviewer, settings):
    settings.PRM_EXPERT_PANEL_SIZE = 2
    for n in range(5):
        make_expert(orgs, make_user, username=f"x{n}")
    partner = submitted_application(orgs)
    partner.category.panel_size = 0
    partner.category.save()
    at_panel_step(partner, reviewer)

    panel = expert_panel_draw(partner_id=partner.pk, actor=reviewer)

    assert panel.size == 2


@pytest.mark.parametrize(
    ("_case", "step", "redraw", "code"),
    [
        ("province_check_step", 1, False, "not_panel_step"),
        ("already_drawn", 2, True, "panel_already_drawn"),
    ],
)
def test_draw_only_once_at_the_panel_step(
    orgs, reviewer, experts, application, _case, step, redraw, code
):
    if step == 2:
        at_panel_step(application, reviewer)
    if redraw:
        expert_panel_draw(partner_id=application.pk, actor=reviewer)
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        expert_panel_draw(partner_id=application.pk, actor=reviewer)

    assert refused.value.code == code
    assert counts() == before


def test_only_the_task_holder_draws(orgs, make_user, reviewer, experts, application):
    at_panel_step(application, reviewer)
    city_manager = make_user(org=orgs.city_a, roles=("partner_manager",))
    inside = submitted_application(orgs, managing_org=orgs.city_a)
    at_panel_step(inside, reviewer)

    with pytest.raises(ApplicationError) as refused:
        expert_panel_draw(partner_id=inside.pk, actor=city_manager)

    assert refused.value.code == "not_your_task"
    assert not ExpertPanel.objects.exists()


# --- Scoring ------------------------------------------------------------------------------


@pytest.fixture
def open_panel(orgs, reviewer, experts, application):
    at_panel_step(application, reviewer)
    return expert_panel_draw(partner_id=application.pk, actor=reviewer, seed="score")


def drawn(panel, index=0) -> Expert:
    return Expert.objects.select_related("user").get(pk=expert_panel_drawn_ids(panel)[index])


@pytest.mark.parametrize(
    ("_case", "scores", "error", "total"),
    [
        ("zero", {"capability": 0, "compliance": 0}, None, "0.00"),
        ("maximum", {"capability": 50, "compliance": 50}, None, "100.00"),
        ("two_decimals", {"capability": "49.75", "compliance": "0.25"}, None, "50.00"),
        ("below_zero", {"capability": -1, "compliance": 10}, "score_out_of_range", None),
        ("above_maximum", {"capability": "50.01", "compliance": 10}, "score_out_of_range", None),
        ("three_decimals", {"capability": "1.005", "compliance": 1}, "score_out_of_range", None),
        ("not_a_number", {"capability": "abc", "compliance": 1}, "score_out_of_range", None),
        ("infinite", {"capability": "Infinity", "compliance": 1}, "score_out_of_range", None),
        ("missing", {"capability": 10}, "score_missing", None),
        ("unknown", {**FULL_MARKS, "beauty": 5}, "score_unknown_criterion", None),
    ],
)
def test_scoring_bounds(open_panel, _case, scores, error, total):
    expert = drawn(open_panel)
    before = counts()

    if error is None:
        score = expert_score_submit(panel_id=open_panel.pk, actor=expert.user, scores=scores)
        assert str(score.total) == total
        return
    with pytest.raises(ApplicationError) as refused:
        expert_score_submit(panel_id=open_panel.pk, actor=expert.user, scores=scores)

    assert refused.value.code == error
    assert counts() == before
    assert ExpertScore.objects.get(panel=open_panel, expert=expert).submitted_at is None


def test_panel_mean_and_spread(open_panel, reviewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        panel = score_all(open_panel, [80, 71, 91])

    assert panel.mean_score == Decimal("80.67")  # 242 / 3, rounded half up
    assert panel.spread == Decimal("20.00")
    assert panel.completed_at is not None
    assert sorted(panel.scores.values_list("total", flat=True)) == [
        Decimal("71.00"),
        Decimal("80.00"),
        Decimal("91.00"),
    ]
    assert Notification.objects.filter(recipient=reviewer, event="partners.panel_completed")


def test_mean_is_not_stored_before_the_last_score(open_panel):
    expert_score_submit(panel_id=open_panel.pk, actor=drawn(open_panel, 0).user, scores=FULL_MARKS)
    expert_score_submit(panel_id=open_panel.pk, actor=drawn(open_panel, 1).user, scores=FULL_MARKS)

    open_panel.refresh_from_db()
    assert (open_panel.mean_score, open_panel.spread, open_panel.completed_at) == (None, None, None)


def test_a_score_is_given_once(open_panel):
    expert = drawn(open_panel)
    expert_score_submit(panel_id=open_panel.pk, actor=expert.user, scores=FULL_MARKS)

    with pytest.raises(ApplicationError) as refused:
        expert_score_submit(
            panel_id=open_panel.pk,
            actor=expert.user,
            scores={"capability": 0, "compliance": 0},
        )

    assert refused.value.code == "score_already_submitted"
    assert ExpertScore.objects.get(panel=open_panel, expert=expert).total == Decimal("100.00")


def test_an_expert_not_on_the_panel_cannot_score(open_panel, experts):
    outsider = next(e for e in experts if e.pk not in expert_panel_drawn_ids(open_panel))

    with pytest.raises(ApplicationError) as refused:
        expert_score_submit(panel_id=open_panel.pk, actor=outsider.user, scores=FULL_MARKS)

    assert refused.value.code == "not_found"


def test_a_closed_panel_takes_no_scores(open_panel, reviewer, application):
    application_review_reject(partner_id=application.pk, actor=reviewer, reason="Incomplete")

    with pytest.raises(ApplicationError) as refused:
        expert_score_submit(panel_id=open_panel.pk, actor=drawn(open_panel).user, scores=FULL_MARKS)

    assert refused.value.code == "panel_closed"


# --- Expert pool ----------------------------------------------------------------------------


def test_expert_create_with_a_new_user(
    orgs, reviewer, django_capture_on_commit_callbacks, settings
):
    factories.category("sp")
    with django_capture_on_commit_callbacks(execute=True):
        expert = expert_create(
            actor=reviewer,
            username="prof_li",
            display_name="Prof. Li",
            email="li@example.edu",
            org_id=orgs.city_a.pk,
            domains=["sp"],
            organisation="South China University",
            organisation_uscc="12440000455416154f",
            title="Professor",
        )

    user = User.objects.get(username="prof_li")
    assert user.role_codes == {"expert"}
    assert user.must_change_password is True
    assert (expert.domains, expert.organisation_uscc) == (["sp"], "12440000455416154F")
    assert [m.to for m in mail.outbox] == [["li@example.edu"]]
    assert AuditEvent.objects.filter(action="expert.created", target_id=str(expert.pk))


def test_expert_create_for_an_existing_user_adds_the_role(orgs, reviewer, make_user):
    user = make_user(org=orgs.city_a, roles=("channel_manager",), username="cm1")

    expert = expert_create(actor=reviewer, username="cm1", domains=["sp"], organisation="GD Mobile")

    user = User.objects.get(pk=user.pk)
    assert user.role_codes == {"channel_manager", "expert"}
    assert expert.user == user


@pytest.mark.parametrize(
    ("_case", "overrides", "code"),
    [
        ("no_domain", {"domains": []}, "expert_domains_required"),
        ("no_organisation", {"organisation": " "}, "expert_organisation_required"),
        ("bad_uscc", {"organisation_uscc": "123"}, "uscc_invalid"),
        ("bad_username", {"username": "a b"}, "username_invalid"),
        ("org_out_of_scope", {"org": "city_b"}, "org_out_of_scope"),
        ("partner_user", {"username": "partner_user"}, "expert_user_out_of_scope"),
        ("already_expert", {"username": "expert1"}, "expert_exists"),
        ("no_email", {"email": ""}, "email_invalid"),
    ],
)
def test_expert_create_refusals(orgs, make_user, experts, _case, overrides, code):
    actor = make_user(org=orgs.city_a, roles=("partner_manager",))
    make_user(org=orgs.partner, roles=("partner_staff",), username="partner_user")
    # expert1 sits at the province: let a province manager try to re-add them.
    if _case == "already_expert":
        actor = make_user(org=orgs.province, roles=("partner_manager",))
    data = {
        "username": "newbie",
        "display_name": "New Expert",
        "email": "new@example.com",
        "org": "city_a",
        "domains": ["sp"],
        "organisation": "Lab",
        "organisation_uscc": "",
    }
    data.update(overrides)
    org = getattr(orgs, data.pop("org"))
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        expert_create(actor=actor, org_id=org.pk, **data)

    assert refused.value.code == code
    assert counts() == before


def test_expert_update_and_conflicts(orgs, reviewer, experts):
    expert = experts[0]

    expert_update(
        actor=reviewer,
        expert_id=expert.pk,
        domains=["sp", "cp"],
        organisation="New Org",
        organisation_uscc="",
        title="Engineer",
        is_active=False,
    )
    conflict = expert_conflict_declare(
        actor=reviewer, expert_id=expert.pk, company_name="Company Y", reason="Shareholder"
    )
    own = expert_conflict_declare(
        actor=experts[1].user, expert_id=experts[1].pk, company_uscc=factories.uscc(), reason="Wife"
    )

    expert.refresh_from_db()
    assert (expert.domains, expert.organisation, expert.is_active) == (
        ["sp", "cp"],
        "New Org",
        False,
    )
    assert (conflict.company_name, own.expert_id) == ("Company Y", experts[1].pk)
    expert_conflict_remove(actor=reviewer, conflict_id=conflict.pk)
    assert not ExpertConflict.objects.filter(pk=conflict.pk).exists()


@pytest.mark.parametrize(
    ("_case", "fields", "code"),
    [
        ("no_company", {"reason": "x"}, "conflict_company_required"),
        ("no_reason", {"company_name": "A", "reason": " "}, "conflict_reason_required"),
        ("bad_uscc", {"company_uscc": "XYZ", "reason": "x"}, "uscc_invalid"),
    ],
)
def test_conflict_refusals(reviewer, experts, _case, fields, code):
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        expert_conflict_declare(actor=reviewer, expert_id=experts[0].pk, **fields)

    assert refused.value.code == code
    assert counts() == before


def test_an_expert_may_not_declare_for_another(experts):
    with pytest.raises(ApplicationError) as refused:
        expert_conflict_declare(
            actor=experts[0].user, expert_id=experts[1].pk, company_name="A", reason="x"
        )

    assert refused.value.code == "forbidden"


# --- Recommendations (introduction sources) ------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "actor_fixture", "source"),
    [
        ("hq", "hq_manager", Partner.Source.HQ),
        ("province", "reviewer", Partner.Source.REGIONAL),
    ],
)
def test_recommendation_creates_the_applicant_account(
    request,
    orgs,
    django_capture_on_commit_callbacks,
    settings,
    monkeypatch,
    _case,
    actor_fixture,
    source,
):
    settings.LANGUAGE_CODE = "en"
    # The mail goes out in the recipient's language (zh-hans for a new account).
    monkeypatch.setattr(review_services, "password_generate", lambda: "Known-Initial-Pw-9")
    actor = request.getfixturevalue(actor_fixture)
    factories.category("cp")

    with django_capture_on_commit_callbacks(execute=True):
        partner = partner_recommend(
            actor=actor,
            company_name="Ringtone Content Co",
            username="ringtone",
            email="admin@ringtone.example",
            category_code="cp",
            managing_org_id=orgs.city_a.pk,
            note="Strong CRBT catalogue",
        )

    assert (partner.status, partner.source, partner.recommended_by) == ("draft", source, actor)
    assert partner.recommendation_note == "Strong CRBT catalogue"
    assert (partner.managing_org, partner.category.code) == (orgs.city_a, "cp")
    user = User.objects.get(username="ringtone")
    assert (partner.admin_user, user.org) == (user, partner.org)
    assert partner.org.kind == "partner" and partner.org.parent_id is None
    assert user.role_codes == {"partner_applicant"}
    assert user.must_change_password is True
    [message] = mail.outbox
    assert message.to == ["admin@ringtone.example"]
    password = "Known-Initial-Pw-9"
    assert password in message.body
    assert user.check_password(password)
    assert not Notification.objects.filter(body__contains=password).exists()


@pytest.mark.parametrize(
    ("_case", "overrides", "code"),
    [
        ("username_taken", {"username": "gd_mgr"}, "username_taken"),
        ("username_invalid", {"username": "x"}, "username_invalid"),
        ("email_invalid", {"email": "nope"}, "email_invalid"),
        ("no_company", {"company_name": " "}, "company_name_required"),
        ("unknown_category", {"category_code": "wizard"}, "category_unknown"),
        ("org_out_of_scope", {"managing_org": "hq"}, "org_out_of_scope"),
        ("org_partner", {"managing_org": "partner"}, "org_out_of_scope"),
        ("company_exists", {"company_name": "existing co"}, "company_exists"),
    ],
)
def test_recommendation_refusals(orgs, reviewer, _case, overrides, code):
    factories.category("cp")
    factories.partner(managing_org=orgs.province, company_name="Existing Co")
    data = {
        "company_name": "New Co",
        "username": "newco",
        "email": "a@newco.example",
        "category_code": "cp",
        "managing_org": "city_a",
        "note": "",
    }
    data.update(overrides)
    org = getattr(orgs, data.pop("managing_org"))
    before = counts()

    with pytest.raises(ApplicationError) as refused:
        partner_recommend(actor=reviewer, managing_org_id=org.pk, **data)

    assert refused.value.code == code
    assert counts() == before


def test_recommendation_needs_the_permission(orgs, no_permission):
    with pytest.raises(ApplicationError) as refused:
        partner_recommend(
            actor=no_permission,
            company_name="A",
            username="aaa",
            email="a@a.example",
            category_code="sp",
            managing_org_id=orgs.province.pk,
        )

    assert refused.value.code == "forbidden"


# --- Source report ------------------------------------------------------------------------


def test_source_report_counts_by_source_category_and_status(orgs, reviewer, other_org_manager):
    T = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    rows = [
        ("self_application", "sp", "submitted", T),
        ("self_application", "sp", "active", T),
        ("self_application", "sp", "active", T + timedelta(days=30)),
        ("hq_recommendation", "cp", "draft", T),
        ("regional_recommendation", "sp", "rejected", T - timedelta(days=1)),
    ]
    for source, category, status, created in rows:
        partner = factories.partner(
            managing_org=orgs.city_a, status=status, category_code=category, source=source
        )
        Partner.objects.filter(pk=partner.pk).update(created_at=created)
    factories.partner(managing_org=orgs.city_b, status="active")  # another city's

    report, totals = partner_source_report(
        user=reviewer, date_from=T.date(), date_to=T.date() + timedelta(days=29)
    )

    summary = {(row.source, row.category): row.total for row in report}
    assert summary == {("self_application", "sp"): 2, ("hq_recommendation", "cp"): 1}
    by_status = {(row.source, row.category): row.counts for row in report}
    assert by_status[("self_application", "sp")]["submitted"] == 1
    assert by_status[("self_application", "sp")]["active"] == 1
    assert (totals["total"], totals["draft"]) == (3, 1)
    other_report, other_totals = partner_source_report(user=other_org_manager)
    assert other_totals["total"] == 1


def test_source_report_csv_export(client, orgs, reviewer, settings):
    settings.LANGUAGE_CODE = "en"
    factories.partner(managing_org=orgs.province, status="submitted", source="hq_recommendation")
    client.force_login(reviewer)

    response = client.get("/partners/reports/sources/?format=csv", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0][:2] == ["Source", "Category"] and table[0][-1] == "Total"
    assert table[1][0] == "HQ recommendation" and table[1][-1] == "1"


def test_drawn_experts_see_the_application_documents_and_others_do_not(
    orgs, make_user, reviewer, application
):
    from prm.core.attachments import attachment_owner_visible
    from prm.partners.models import Qualification

    # Experts of a city: the province-managed application is outside their org scope.
    pool = []
    for n in range(1, 5):
        user = make_user(org=orgs.city_b, roles=("expert",), username=f"sz_expert{n}")
        pool.append(Expert.objects.create(user=user, domains=[CATEGORY], organisation=f"U{n}"))
    document = Qualification.objects.create(
        partner=application, name="Business licence", mandatory=True
    )
    at_panel_step(application, reviewer)

    panel = expert_panel_draw(partner_id=application.pk, actor=reviewer, seed="documents")

    drawn_ids = set(panel.scores.values_list("expert_id", flat=True))
    for expert in pool:
        visible = attachment_owner_visible(owner=document, user=expert.user)
        assert visible is (expert.pk in drawn_ids), expert.user.username
