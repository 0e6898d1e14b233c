"""Who may open each page and call each endpoint of the introduction review (anonymous,
another org's staff, staff without the permission, partner users, an expert not on the
panel, the allowed user), and that the pages work end to end."""

from __future__ import annotations

from decimal import Decimal

import pytest

from prm.core.exceptions import ApplicationError
from prm.core.models import WorkflowInstance
from prm.partners.models import Expert, ExpertConflict, ExpertPanel, ExpertScore, Partner
from prm.partners.selectors_review import application_workflow, expert_panel_drawn_ids
from prm.partners.services.review import expert_panel_draw, expert_score_submit
from prm.partners.tests import factories
from prm.partners.tests.test_review import (  # noqa: F401  (fixtures)
    FULL_MARKS,
    at_panel_step,
    make_expert,
    no_permission,
    other_org_manager,
    reviewer,
    submitted_application,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(orgs, make_user, reviewer, other_org_manager, no_permission):  # noqa: F811
    """An application at the expert panel step with its panel drawn (3 of 4 experts), a
    second one at the same step without a panel, and the users of the access table."""
    pool = [make_expert(orgs, make_user, username=f"ex{n}") for n in range(4)]
    application = submitted_application(orgs)
    at_panel_step(application, reviewer)
    panel = expert_panel_draw(partner_id=application.pk, actor=reviewer, seed="access")
    drawn_ids = expert_panel_drawn_ids(panel)
    undrawn = submitted_application(orgs)
    at_panel_step(undrawn, reviewer)
    other_partner = factories.partner(managing_org=orgs.city_b)
    users = {
        "reviewer": reviewer,
        "other_org": other_org_manager,
        "no_permission": no_permission,
        "applicant": application.admin_user,
        "other_partner": other_partner.admin_user,
        "expert": next(e for e in pool if e.pk == drawn_ids[0]).user,
        "outsider_expert": next(e for e in pool if e.pk not in drawn_ids).user,
    }
    return {
        "application": application,
        "undrawn": undrawn,
        "panel": panel,
        "pool": pool,
        "expert": next(e for e in pool if e.pk == drawn_ids[0]),
        "users": users,
    }


def _path(template: str, world) -> str:
    return template.format(
        pid=world["application"].pk,
        undrawn=world["undrawn"].pk,
        panel=world["panel"].pk,
        expert=world["expert"].pk,
    )


# --- Pages ----------------------------------------------------------------------------------

# An applicant is kept on the registration pages (registration's guard middleware).
GUARD = "guard"
REGISTRATION = "/partners/registration/"

PAGES = [
    "/partners/reviews/",
    "/partners/reviews/{pid}/",
    "/partners/reviews/{pid}/open/",
    "/partners/reviews/mine/",
    "/partners/reviews/panels/{panel}/",
    "/partners/experts/",
    "/partners/experts/new/",
    "/partners/experts/{expert}/",
    "/partners/recommendations/",
    "/partners/reports/sources/",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_anonymous_to_sign_in(client, world, path):
    response = client.get(_path(path, world))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("_case", "who", "path", "status"),
    [
        ("queue_allowed", "reviewer", "/partners/reviews/", 200),
        ("queue_no_permission", "no_permission", "/partners/reviews/", 403),
        ("queue_partner_user", "other_partner", "/partners/reviews/", 403),
        ("queue_applicant", "applicant", "/partners/reviews/", GUARD),
        ("queue_expert", "expert", "/partners/reviews/", 403),
        ("detail_allowed", "reviewer", "/partners/reviews/{pid}/", 200),
        ("detail_other_org", "other_org", "/partners/reviews/{pid}/", 404),
        ("detail_no_permission", "no_permission", "/partners/reviews/{pid}/", 403),
        ("detail_applicant", "applicant", "/partners/reviews/{pid}/", GUARD),
        ("detail_other_partner", "other_partner", "/partners/reviews/{pid}/", 403),
        ("detail_expert", "expert", "/partners/reviews/{pid}/", 403),
        ("open_other_partner", "other_partner", "/partners/reviews/{pid}/open/", 404),
        ("mine_expert", "expert", "/partners/reviews/mine/", 200),
        ("mine_no_permission", "no_permission", "/partners/reviews/mine/", 403),
        ("mine_partner_user", "other_partner", "/partners/reviews/mine/", 403),
        ("panel_expert", "expert", "/partners/reviews/panels/{panel}/", 200),
        ("panel_reviewer", "reviewer", "/partners/reviews/panels/{panel}/", 200),
        ("panel_outsider_expert", "outsider_expert", "/partners/reviews/panels/{panel}/", 404),
        ("panel_other_org", "other_org", "/partners/reviews/panels/{panel}/", 404),
        ("panel_no_permission", "no_permission", "/partners/reviews/panels/{panel}/", 404),
        ("panel_applicant", "applicant", "/partners/reviews/panels/{panel}/", GUARD),
        ("panel_other_partner", "other_partner", "/partners/reviews/panels/{panel}/", 404),
        ("experts_allowed", "reviewer", "/partners/experts/", 200),
        ("experts_no_permission", "no_permission", "/partners/experts/", 403),
        ("experts_expert", "expert", "/partners/experts/", 403),
        ("experts_partner_user", "other_partner", "/partners/experts/", 403),
        ("expert_new_allowed", "reviewer", "/partners/experts/new/", 200),
        ("expert_new_no_permission", "no_permission", "/partners/experts/new/", 403),
        ("expert_edit_allowed", "reviewer", "/partners/experts/{expert}/", 200),
        ("expert_edit_other_org", "other_org", "/partners/experts/{expert}/", 404),
        ("expert_edit_no_permission", "no_permission", "/partners/experts/{expert}/", 403),
        ("recommend_allowed", "reviewer", "/partners/recommendations/", 200),
        ("recommend_no_permission", "no_permission", "/partners/recommendations/", 403),
        ("recommend_partner_user", "other_partner", "/partners/recommendations/", 403),
        ("report_allowed", "reviewer", "/partners/reports/sources/", 200),
        ("report_read_only_staff", "no_permission", "/partners/reports/sources/", 200),
        ("report_expert", "expert", "/partners/reports/sources/", 403),
        ("report_partner_user", "other_partner", "/partners/reports/sources/", 403),
    ],
)
def test_page_access(client, world, _case, who, path, status):
    client.force_login(world["users"][who])

    response = client.get(_path(path, world))

    if status == GUARD:
        assert (response.status_code, response["Location"]) == (302, REGISTRATION)
    else:
        assert response.status_code == status


def test_queue_is_scoped(client, world):
    client.force_login(world["users"]["other_org"])

    response = client.get("/partners/reviews/")

    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    client.force_login(world["users"]["reviewer"])
    response = client.get("/partners/reviews/")
    ids = {row.partner.pk for row in response.context["rows"]}
    assert ids == {world["application"].pk, world["undrawn"].pk}
    assert all(row.is_my_task for row in response.context["rows"])


def test_open_sends_each_party_to_their_page(client, world):
    path = _path("/partners/reviews/{pid}/open/", world)

    client.force_login(world["users"]["applicant"])
    applicant = client.get(path)
    client.force_login(world["users"]["reviewer"])
    staff = client.get(path)

    assert (applicant.status_code, applicant["Location"]) == (302, REGISTRATION)
    assert staff["Location"] == _path("/partners/reviews/{pid}/", world)


# --- Actions on the application page ---------------------------------------------------------

POSTS = [
    ("/partners/reviews/{pid}/approve/", {}),
    ("/partners/reviews/{pid}/reject/", {"reason": "Missing licence"}),
    ("/partners/reviews/{undrawn}/panel/", {}),
]


@pytest.mark.parametrize(("path", "data"), POSTS)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),
        ("other_org", 404),
        ("no_permission", 403),
        ("applicant", GUARD),
        ("other_partner", 403),
        ("expert", 403),
    ],
)
def test_review_actions_refused(client, world, path, data, who, status):
    instance = application_workflow(world["application"])
    before = (
        instance.status,
        instance.current_step,
        ExpertPanel.objects.count(),
        Partner.objects.get(pk=world["application"].pk).status,
    )
    if who:
        client.force_login(world["users"][who])

    response = client.post(_path(path, world), data)

    assert response.status_code == (302 if status == GUARD else status)
    if status == GUARD:
        assert response["Location"] == REGISTRATION
    if who is None:
        assert response["Location"].startswith("/accounts/login/")
    instance.refresh_from_db()
    assert (
        instance.status,
        instance.current_step,
        ExpertPanel.objects.count(),
        Partner.objects.get(pk=world["application"].pk).status,
    ) == before


def test_approve_page_refuses_before_the_panel_is_complete(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world["users"]["reviewer"])

    response = client.post(_path("/partners/reviews/{pid}/approve/", world), follow=True)

    assert response.status_code == 200
    assert "The expert panel is not complete" in response.content.decode()
    assert application_workflow(world["application"]).current_step == 2


def test_reject_page_returns_the_application(client, world):
    client.force_login(world["users"]["reviewer"])

    response = client.post(
        _path("/partners/reviews/{pid}/reject/", world), {"reason": "Missing licence"}
    )

    assert response.status_code == 302
    application = Partner.objects.get(pk=world["application"].pk)
    assert (application.status, application.rejection_reasons) == ("rejected", "Missing licence")


def test_draw_page_draws_and_the_detail_shows_the_panel(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world["users"]["reviewer"])
    detail = _path("/partners/reviews/{undrawn}/", world)
    before = client.get(detail)
    assert 'data-testid="panel-draw-form"' in before.content.decode()
    assert before.context["eligible_count"] == 4

    response = client.post(_path("/partners/reviews/{undrawn}/panel/", world), {"size": "2"})

    assert response.status_code == 302
    panel = ExpertPanel.objects.get(partner=world["undrawn"])
    assert panel.size == 2
    after = client.get(detail).content.decode()
    assert panel.seed in after
    assert 'data-testid="panel-reproducible"' in after
    assert 'data-testid="review-panel-blocks"' in after


def test_full_review_through_the_pages(client, world, settings):
    """Experts score on the panel page; the reviewer approves the panel step and the
    decision on the application page; the partner is active."""
    settings.LANGUAGE_CODE = "en"
    panel = world["panel"]
    experts = Expert.objects.in_bulk(expert_panel_drawn_ids(panel))
    path = _path("/partners/reviews/panels/{panel}/", world)
    for n, expert in enumerate(experts.values()):
        client.force_login(expert.user)
        page = client.get(path).content.decode()
        assert 'data-testid="score-form"' in page
        if n:  # others' scores stay hidden until the panel is complete
            assert 'data-testid="panel-hidden"' in page
        response = client.post(
            path, {"score_capability": str(40 + n), "score_compliance": "30", "comment": "ok"}
        )
        assert response.status_code == 302
    done = client.get(path).content.decode()
    assert 'data-testid="panel-mean"' in done and "71.00" in done  # (70 + 71 + 72) / 3
    client.force_login(world["users"]["reviewer"])
    approve = _path("/partners/reviews/{pid}/approve/", world)

    client.post(approve, {"comment": "Panel fine"})
    client.post(approve, {"comment": "Admitted"})

    application = Partner.objects.get(pk=world["application"].pk)
    assert application.status == "active" and application.code
    assert application_workflow(application).status == WorkflowInstance.Status.APPROVED


def test_score_form_shows_field_errors(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world["users"]["expert"])
    path = _path("/partners/reviews/panels/{panel}/", world)

    response = client.post(path, {"score_capability": "51", "score_compliance": "10"})

    assert response.status_code == 200
    assert response.context["form"].errors["score_capability"]
    assert ExpertScore.objects.get(panel=world["panel"], expert=world["expert"]).total is None


@pytest.mark.parametrize(("who", "status"), [("reviewer", 403), ("outsider_expert", 404)])
def test_only_drawn_experts_post_scores(client, world, who, status):
    client.force_login(world["users"][who])

    response = client.post(
        _path("/partners/reviews/panels/{panel}/", world),
        {"score_capability": "10", "score_compliance": "10"},
    )

    assert response.status_code == status
    assert not ExpertScore.objects.filter(submitted_at__isnull=False).exists()


# --- Expert pool and conflicts pages ------------------------------------------------------------


def test_expert_pages_create_edit_and_record_conflicts(client, world, orgs):
    client.force_login(world["users"]["reviewer"])

    created = client.post(
        "/partners/experts/new/",
        {
            "username": "dr_wu",
            "display_name": "Dr Wu",
            "email": "wu@example.edu",
            "org": orgs.province.pk,
            "domains": ["rv"],
            "organisation": "Institute",
            "organisation_uscc": "",
            "title": "",
        },
    )
    expert = Expert.objects.get(user__username="dr_wu")
    edited = client.post(
        f"/partners/experts/{expert.pk}/",
        {"domains": ["rv"], "organisation": "Institute B", "title": "Dr", "is_active": ""},
    )
    conflict = client.post(
        f"/partners/experts/{expert.pk}/conflicts/",
        {"company_name": "Company Z", "company_uscc": "", "reason": "Adviser"},
    )

    assert [created.status_code, edited.status_code, conflict.status_code] == [302, 302, 302]
    expert.refresh_from_db()
    assert (expert.organisation, expert.is_active) == ("Institute B", False)
    recorded = ExpertConflict.objects.get(expert=expert)
    removed = client.post(f"/partners/experts/{expert.pk}/conflicts/{recorded.pk}/delete/")
    assert removed.status_code == 302
    assert not ExpertConflict.objects.filter(expert=expert).exists()


@pytest.mark.parametrize(
    ("who", "status"), [("other_org", 404), ("no_permission", 403), ("expert", 403)]
)
def test_conflict_pages_refused(client, world, who, status):
    expert = world["expert"]
    conflict = ExpertConflict.objects.create(expert=expert, company_name="Q", reason="x")
    client.force_login(world["users"][who])

    add = client.post(
        f"/partners/experts/{expert.pk}/conflicts/", {"company_name": "A", "reason": "x"}
    )
    remove = client.post(f"/partners/experts/{expert.pk}/conflicts/{conflict.pk}/delete/")

    assert (add.status_code, remove.status_code) == (status, status)
    assert list(ExpertConflict.objects.values_list("pk", flat=True)) == [conflict.pk]


@pytest.mark.parametrize(
    ("who", "status", "created"),
    [(None, 302, 0), ("no_permission", 403, 0), ("reviewer", 404, 0), ("expert", 302, 1)],
)
def test_my_conflict_declaration(client, world, who, status, created):
    if who:
        client.force_login(world["users"][who])

    response = client.post(
        "/partners/reviews/mine/conflicts/", {"company_name": "Old Employer", "reason": "x"}
    )

    assert response.status_code == status
    assert ExpertConflict.objects.count() == created


def test_recommend_page_records_a_recommendation(client, world, orgs):
    client.force_login(world["users"]["reviewer"])

    response = client.post(
        "/partners/recommendations/",
        {
            "company_name": "Points Mall Co",
            "category": "rv",
            "username": "pointsmall",
            "email": "admin@points.example",
            "managing_org": orgs.city_a.pk,
            "note": "",
        },
    )

    assert response.status_code == 302
    partner = Partner.objects.get(company_name="Points Mall Co")
    assert (partner.source, partner.recommended_by) == (
        "regional_recommendation",
        world["users"]["reviewer"],
    )
    page = client.get("/partners/recommendations/")
    assert [p.pk for p in page.context["recent"]] == [partner.pk]


def test_source_report_page_and_xlsx(client, world):
    client.force_login(world["users"]["reviewer"])

    page = client.get("/partners/reports/sources/?date_from=2000-01-01&date_to=2100-01-01")
    xlsx = client.get("/partners/reports/sources/?format=xlsx")

    assert page.status_code == 200
    assert page.context["grand_total"] == 3  # two applications, one city's partner
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


# --- API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(client):
    client.cookies["django_language"] = "en"
    return client


ENDPOINTS = [
    ("get", "/api/v1/partners/reviews", None),
    ("post", "/api/v1/partners/reviews/{undrawn}/panel", {}),
    ("post", "/api/v1/partners/reviews/{pid}/approve", {}),
    ("post", "/api/v1/partners/reviews/{pid}/reject", {"reason": "x"}),
    ("post", "/api/v1/partners/reviews/panels/{panel}/scores", {"scores": FULL_MARKS}),
]


def _call(api, method, path, body):
    if method == "get":
        return api.get(path)
    return api.post(path, body, content_type="application/json")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_api_needs_credentials(api, world, method, path, body):
    response = _call(api, method, _path(path, world), body)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("no_permission", 403, "forbidden"),
        ("applicant", 403, "forbidden"),
    ],
)
def test_api_refuses_without_permission(api, world, method, path, body, who, status, code):
    api.force_login(world["users"][who])

    response = _call(api, method, _path(path, world), body)

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert ExpertScore.objects.filter(submitted_at__isnull=False).count() == 0
    assert ExpertPanel.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path", "body"), [e for e in ENDPOINTS if "scores" not in e[1] and e[0] == "post"]
)
def test_api_other_org_gets_not_found(api, world, method, path, body):
    api.force_login(world["users"]["other_org"])

    response = _call(api, method, _path(path, world), body)

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert ExpertPanel.objects.count() == 1


def test_api_review_list_is_scoped(api, world):
    api.force_login(world["users"]["other_org"])
    assert api.get("/api/v1/partners/reviews").json() == []

    api.force_login(world["users"]["reviewer"])
    response = api.get("/api/v1/partners/reviews")

    assert response.status_code == 200
    assert response["X-Total-Count"] == "2"
    rows = {row["partner_id"]: row for row in response.json()}
    row = rows[world["application"].pk]
    assert (row["current_step"], row["round"], row["is_my_task"]) == (2, 1, True)
    assert row["panel"]["seed"] == "access"
    assert row["panel"]["drawn_expert_ids"] == expert_panel_drawn_ids(world["panel"])
    assert rows[world["undrawn"].pk]["panel"] is None


def test_api_draw_and_too_small_pool(api, world, orgs):
    api.force_login(world["users"]["reviewer"])

    too_big = api.post(
        _path("/api/v1/partners/reviews/{undrawn}/panel", world),
        {"size": 5},
        content_type="application/json",
    )
    drawn = api.post(
        _path("/api/v1/partners/reviews/{undrawn}/panel", world), content_type="application/json"
    )

    assert too_big.status_code == 409
    assert too_big.json()["code"] == "expert_pool_too_small"
    assert too_big.json()["details"] == {"eligible": 4, "size": 5}
    assert drawn.status_code == 201
    assert len(drawn.json()["drawn_expert_ids"]) == 3
    assert drawn.json()["eligible_ids"] == sorted(e.pk for e in world["pool"])


def test_api_approve_is_guarded_and_reject_needs_a_reason(api, world):
    api.force_login(world["users"]["reviewer"])

    approve = api.post(
        _path("/api/v1/partners/reviews/{pid}/approve", world), content_type="application/json"
    )
    reject = api.post(
        _path("/api/v1/partners/reviews/{pid}/reject", world), {}, content_type="application/json"
    )

    assert (approve.status_code, approve.json()["code"]) == (409, "panel_incomplete")
    assert (reject.status_code, reject.json()["code"]) == (422, "validation_error")


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("outsider_expert", 404, "not_found"),
        ("reviewer", 404, "not_found"),
        ("other_org", 404, "not_found"),
    ],
)
def test_api_scores_only_from_drawn_experts(api, world, who, status, code):
    api.force_login(world["users"][who])

    response = api.post(
        _path("/api/v1/partners/reviews/panels/{panel}/scores", world),
        {"scores": FULL_MARKS},
        content_type="application/json",
    )

    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not ExpertScore.objects.filter(submitted_at__isnull=False).exists()


def test_api_expert_scores(api, world):
    api.force_login(world["users"]["expert"])
    path = _path("/api/v1/partners/reviews/panels/{panel}/scores", world)

    bad = api.post(
        path, {"scores": {"capability": 60, "compliance": 1}}, content_type="application/json"
    )
    good = api.post(
        path,
        {"scores": {"capability": "45.5", "compliance": 30}, "comment": "Solid"},
        content_type="application/json",
    )

    assert (bad.status_code, bad.json()["code"]) == (400, "score_out_of_range")
    assert bad.json()["details"]["criterion"] == "capability"
    assert good.status_code == 201
    body = good.json()
    assert (body["total"], body["panel_complete"], body["comment"]) == ("75.50", False, "Solid")
    score = ExpertScore.objects.get(panel=world["panel"], expert=world["expert"])
    assert score.total == Decimal("75.50")


def test_api_last_score_completes_the_panel(api, world):
    panel = world["panel"]
    drawn = Expert.objects.in_bulk(expert_panel_drawn_ids(panel))
    ids = expert_panel_drawn_ids(panel)
    for expert_id in ids[:2]:
        expert_score_submit(panel_id=panel.pk, actor=drawn[expert_id].user, scores=FULL_MARKS)
    api.force_login(drawn[ids[2]].user)

    response = api.post(
        _path("/api/v1/partners/reviews/panels/{panel}/scores", world),
        {"scores": {"capability": 20, "compliance": 20}},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json()["panel_complete"] is True
    assert (response.json()["mean_score"], response.json()["spread"]) == ("80.00", "60.00")


def test_the_generic_approval_cannot_bypass_the_panel_step(client, world, settings):
    from prm.core.workflow import workflow_approve

    instance = application_workflow(world["application"])
    with pytest.raises(ApplicationError):
        workflow_approve(instance_id=instance.pk, actor=world["users"]["reviewer"])

    instance.refresh_from_db()
    assert instance.current_step == 2
