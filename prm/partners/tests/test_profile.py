"""The partner registry, "My company", profile history and change requests (R1 "Profile
and change requests"; issue 3 item 5).

An active partner changes its registration data only through a change request: the
field-level diff goes to a partner manager of the managing org, and takes effect when
approved. Refusals (partner in exit, nothing changed, another request under review, a
USCC taken or blacklisted) write nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent, Notification, WorkflowInstance, WorkflowTask
from prm.core.workflow import (
    workflow_approve,
    workflow_instance_for,
    workflow_reject,
    workflow_resubmit,
    workflow_withdraw,
)
from prm.partners.constants import CHANGE_REQUEST_WORKFLOW
from prm.partners.models import (
    BlacklistEntry,
    ChangeRequest,
    ExitCase,
    Partner,
    PartnerProfileVersion,
)
from prm.partners.selectors_profile import partner_history
from prm.partners.services.profile import (
    change_request_create,
    profile_diff,
    profile_values_clean,
)
from prm.partners.setup_profile import PartnerCodeConverter, PartnerKeyConverter
from prm.partners.tests import factories

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 11, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def world(orgs, make_user):
    """Partner A managed by city A, partner B by city B, and the people around them."""
    manager_a = make_user(org=orgs.city_a, roles=("partner_manager",), username="gz_pm")
    manager_b = make_user(org=orgs.city_b, roles=("partner_manager",), username="sz_pm")
    partner_a = factories.partner(
        managing_org=orgs.city_a, org=orgs.partner, manager=manager_a, company_name="Alpha Ltd"
    )
    partner_b = factories.partner(
        managing_org=orgs.city_b, org=orgs.other_partner, manager=manager_b, company_name="Beta Ltd"
    )
    return {
        "partner_a": partner_a,
        "partner_b": partner_b,
        "admin_a": partner_a.admin_user,
        "admin_b": partner_b.admin_user,
        "staff_a": factories.partner_user(partner_a, roles=("partner_staff",)),
        "manager_a": manager_a,
        "manager_b": manager_b,
        "province_manager": make_user(org=orgs.province, roles=("partner_manager",)),
        "channel_a": make_user(org=orgs.city_a, roles=("channel_manager",)),
        "cs_a": make_user(org=orgs.city_a, roles=("cs_agent",)),
    }


def _counts():
    return (
        ChangeRequest.objects.count(),
        WorkflowInstance.objects.count(),
        WorkflowTask.objects.count(),
        PartnerProfileVersion.objects.count(),
        AuditEvent.objects.count(),
    )


def _profile(partner: Partner) -> dict:
    partner.refresh_from_db()
    return {name: getattr(partner, name) for name in Partner.PROFILE_FIELDS}


def _create(world, values=None, *, actor=None, partner=None, reason="Moved office"):
    return change_request_create(
        actor=actor or world["admin_a"],
        partner=partner or world["partner_a"],
        values=values if values is not None else {"address": "深圳市南山区科技园"},
        reason=reason,
    )


# ---- The diff ---------------------------------------------------------------------------


def test_diff_holds_only_changed_fields_as_texts_in_form_order(world):
    partner = world["partner_a"]
    values = profile_values_clean(
        {
            "business_scope": "SMS and MMS services",
            "company_name": "  Alpha Holdings Ltd ",
            "registered_capital": "5000000",  # the current 5000000.00: no change
            "contact_phone": partner.contact_phone,
        }
    )

    diff = profile_diff(partner=partner, values=values)

    assert diff == {
        "company_name": ["Alpha Ltd", "Alpha Holdings Ltd"],
        "business_scope": ["SMS services", "SMS and MMS services"],
    }
    assert list(diff) == ["company_name", "business_scope"]


def test_diff_of_capital_is_compared_to_the_cent(world):
    values = profile_values_clean({"registered_capital": "5000000.004"})
    assert profile_diff(partner=world["partner_a"], values=values) == {}
    values = profile_values_clean({"registered_capital": 6000000.5})
    assert profile_diff(partner=world["partner_a"], values=values) == {
        "registered_capital": ["5000000.00", "6000000.50"]
    }


@pytest.mark.parametrize(
    ("values", "code", "field"),
    [
        pytest.param({"uscc": "91440101MA0000001X"}, "uscc_invalid", "uscc", id="bad_check_char"),
        pytest.param({"admin_email": "not-an-email"}, "email_invalid", "admin_email", id="email"),
        pytest.param({"company_name": "   "}, "field_required", "company_name", id="blank_name"),
        pytest.param({"bank_name": "x" * 101}, "field_too_long", "bank_name", id="too_long"),
        pytest.param(
            {"registered_capital": "-1"},
            "registered_capital_invalid",
            "registered_capital",
            id="negative_capital",
        ),
        pytest.param(
            {"registered_capital": "abc"},
            "registered_capital_invalid",
            "registered_capital",
            id="capital_not_number",
        ),
        pytest.param({"contact_phone": "call me"}, "phone_invalid", "contact_phone", id="phone"),
        pytest.param({"status": "active"}, "unknown_field", "status", id="not_a_profile_field"),
    ],
)
def test_profile_values_refused(values, code, field):
    with pytest.raises(ApplicationError) as error:
        profile_values_clean(values)
    assert (error.value.code, error.value.details.get("field")) == (code, field)


def test_optional_fields_may_be_emptied(world):
    values = profile_values_clean({"bank_name": "", "business_scope": ""})
    assert profile_diff(partner=world["partner_a"], values=values) == {
        "bank_name": ["ICBC", ""],
        "business_scope": ["SMS services", ""],
    }


# ---- Submitting -------------------------------------------------------------------------


def test_change_request_goes_to_the_managers_of_the_managing_org(world):
    with time_machine.travel(T0, tick=False):
        change_request = _create(world, {"address": "深圳市南山区科技园", "bank_name": "ICBC"})

    assert change_request.number == "CR-2026-000001"
    assert change_request.status == ChangeRequest.Status.SUBMITTED
    assert change_request.changes == {"address": ["广州市天河区", "深圳市南山区科技园"]}
    assert (change_request.submitted_by, change_request.reason) == (
        world["admin_a"],
        "Moved office",
    )
    instance = workflow_instance_for(target=change_request, definition_code=CHANGE_REQUEST_WORKFLOW)
    assert instance.submitter_org_path == world["partner_a"].managing_org.path
    assert [task.assignee for task in instance.tasks.all()] == [world["manager_a"]]
    event = AuditEvent.objects.get(action="change_request.created")
    assert event.changes["address"] == ["广州市天河区", "深圳市南山区科技园"]
    assert _profile(world["partner_a"])["address"] == "广州市天河区"  # not yet in effect


def test_numbers_count_up_per_year(world):
    with time_machine.travel(T0, tick=False):
        first = _create(world)
        workflow_withdraw(
            instance_id=workflow_instance_for(
                target=first, definition_code=CHANGE_REQUEST_WORKFLOW
            ).pk,
            actor=world["admin_a"],
        )
        second = _create(world, {"contact_name": "王五"})
    assert (first.number, second.number) == ("CR-2026-000001", "CR-2026-000002")


def _exit_case(partner, status):
    return ExitCase.objects.create(
        partner=partner,
        number=f"EX-2026-{ExitCase.objects.count() + 1:06d}",
        kind=ExitCase.Kind.VOLUNTARY,
        status=status,
        reason="Leaving",
        requested_by=partner.admin_user,
    )


@pytest.mark.parametrize(
    ("case", "code"),
    [
        pytest.param("exiting", "partner_in_exit", id="partner_exiting"),
        pytest.param("exited", "partner_in_exit", id="partner_exited"),
        pytest.param("exit_case_open", "partner_in_exit", id="exit_application_under_review"),
        pytest.param("nothing_changed", "no_changes", id="nothing_changed"),
        pytest.param("another_open", "change_request_open", id="another_under_review"),
        pytest.param("no_reason", "reason_required", id="no_reason"),
        pytest.param("uscc_taken", "uscc_taken", id="uscc_of_another_partner"),
        pytest.param("uscc_blacklisted", "uscc_blacklisted", id="uscc_blacklisted"),
        pytest.param("staff_user", "forbidden", id="staff_without_add_permission"),
        pytest.param("other_partner", "not_found", id="another_partners_admin"),
    ],
)
def test_refused_change_requests_write_nothing(world, case, code):
    partner = world["partner_a"]
    values = {"address": "深圳市南山区科技园"}
    actor = world["admin_a"]
    reason = "Moved office"
    if case in ("exiting", "exited"):
        Partner.objects.filter(pk=partner.pk).update(status=case)
    elif case == "exit_case_open":
        _exit_case(partner, ExitCase.Status.SUBMITTED)
    elif case == "nothing_changed":
        values = {"address": "广州市天河区", "registered_capital": "5000000.00"}
    elif case == "another_open":
        _create(world, {"contact_name": "王五"})
    elif case == "no_reason":
        reason = "  "
    elif case == "uscc_taken":
        values = {"uscc": world["partner_b"].uscc}
    elif case == "uscc_blacklisted":
        values = {"uscc": factories.uscc()}
        BlacklistEntry.objects.create(uscc=values["uscc"], company_name="Bad Co", reason="Fraud")
    elif case == "staff_user":
        actor = world["staff_a"]
    elif case == "other_partner":
        actor = world["admin_b"]
    before_counts, before_profile = _counts(), _profile(partner)

    with pytest.raises(ApplicationError) as error:
        _create(world, values, actor=actor, reason=reason)

    assert error.value.code == code
    assert (_counts(), _profile(partner)) == (before_counts, before_profile)


def test_an_application_is_not_changed_by_change_request(orgs, make_user):
    make_user(org=orgs.city_a, roles=("partner_manager",))
    application = factories.partner(
        managing_org=orgs.city_a, org=orgs.partner, status=Partner.Status.SUBMITTED
    )
    application.admin_user.groups.clear()
    admin = factories.partner_user(application, roles=("partner_admin",))
    with pytest.raises(ApplicationError) as error:
        change_request_create(actor=admin, partner=application, values={"address": "x"}, reason="r")
    assert error.value.code == "partner_not_active"
    assert ChangeRequest.objects.count() == 0


def test_no_manager_at_the_managing_org_refuses_and_writes_nothing(orgs, make_user):
    partner = factories.partner(managing_org=orgs.county_b, org=orgs.partner)
    before = _counts()
    with pytest.raises(ApplicationError) as error:
        change_request_create(
            actor=partner.admin_user, partner=partner, values={"address": "x"}, reason="r"
        )
    assert error.value.code == "no_approver"
    assert _counts() == before


# ---- Deciding ---------------------------------------------------------------------------


def _instance(change_request):
    return workflow_instance_for(target=change_request, definition_code=CHANGE_REQUEST_WORKFLOW)


def test_approval_applies_the_diff_writes_a_version_and_the_audit_event(
    world, django_capture_on_commit_callbacks
):
    new_uscc = factories.uscc()
    change_request = _create(
        world, {"uscc": new_uscc, "registered_capital": "8000000", "address": "深圳"}
    )
    old_uscc = world["partner_a"].uscc

    with django_capture_on_commit_callbacks(execute=True):
        workflow_approve(instance_id=_instance(change_request).pk, actor=world["manager_a"])

    change_request.refresh_from_db()
    profile = _profile(world["partner_a"])
    assert change_request.status == ChangeRequest.Status.APPROVED
    assert change_request.decided_at is not None
    assert (profile["uscc"], profile["registered_capital"], profile["address"]) == (
        new_uscc,
        Decimal("8000000.00"),
        "深圳",
    )
    version = PartnerProfileVersion.objects.get(partner=world["partner_a"])
    assert (version.number, version.reason, version.created_by) == (
        1,
        PartnerProfileVersion.Reason.CHANGE,
        world["manager_a"],
    )
    assert version.data["uscc"] == new_uscc
    assert version.data["change_request"] == change_request.number
    event = AuditEvent.objects.get(action="partner.profile_changed")
    assert event.target_id == str(world["partner_a"].pk)
    assert event.changes["uscc"] == [old_uscc, new_uscc]
    assert event.changes["registered_capital"] == ["5000000.00", "8000000.00"]
    assert event.changes["address"] == ["广州市天河区", "深圳"]
    told = Notification.objects.filter(event="partners.change_request_approved")
    assert [n.recipient for n in told] == [world["admin_a"]]


def test_approval_refused_when_the_uscc_was_taken_meanwhile_changes_nothing(world):
    new_uscc = factories.uscc()
    change_request = _create(world, {"uscc": new_uscc})
    Partner.objects.filter(pk=world["partner_b"].pk).update(uscc=new_uscc)
    before_profile, before_versions = (
        _profile(world["partner_a"]),
        PartnerProfileVersion.objects.count(),
    )
    instance = _instance(change_request)

    with pytest.raises(ApplicationError) as error:
        workflow_approve(instance_id=instance.pk, actor=world["manager_a"])

    assert error.value.code == "uscc_taken"
    change_request.refresh_from_db()
    instance.refresh_from_db()
    assert change_request.status == ChangeRequest.Status.SUBMITTED
    assert instance.status == WorkflowInstance.Status.IN_PROGRESS
    assert _profile(world["partner_a"]) == before_profile
    assert PartnerProfileVersion.objects.count() == before_versions


def test_approval_refused_when_the_partner_entered_exit(world):
    change_request = _create(world)
    Partner.objects.filter(pk=world["partner_a"].pk).update(status=Partner.Status.EXITING)
    with pytest.raises(ApplicationError) as error:
        workflow_approve(instance_id=_instance(change_request).pk, actor=world["manager_a"])
    assert error.value.code == "partner_in_exit"
    assert _profile(world["partner_a"])["address"] == "广州市天河区"


def test_manager_of_another_city_cannot_approve(world):
    change_request = _create(world)
    with pytest.raises(ApplicationError) as error:
        workflow_approve(instance_id=_instance(change_request).pk, actor=world["manager_b"])
    assert error.value.code == "not_your_task"


def test_rejection_then_resubmission_refreshes_the_diff(world, django_capture_on_commit_callbacks):
    second_admin = factories.partner_user(world["partner_a"], roles=("partner_admin",))
    change_request = _create(world, {"address": "深圳", "contact_name": "王五"})
    instance = _instance(change_request)
    with django_capture_on_commit_callbacks(execute=True):
        workflow_reject(instance_id=instance.pk, actor=world["manager_a"], reason="Proof missing")
    change_request.refresh_from_db()
    assert change_request.status == ChangeRequest.Status.REJECTED
    told = Notification.objects.filter(event="partners.change_request_rejected")
    assert [n.recipient for n in told] == [second_admin]
    assert "Proof missing" in told.get().body
    # Meanwhile the contact became 王五 (e.g. an earlier request): only the address remains.
    Partner.objects.filter(pk=world["partner_a"].pk).update(contact_name="王五")

    workflow_resubmit(instance_id=instance.pk, actor=world["admin_a"])

    change_request.refresh_from_db()
    assert change_request.status == ChangeRequest.Status.SUBMITTED
    assert change_request.changes == {"address": ["广州市天河区", "深圳"]}


def test_resubmission_with_nothing_left_to_change_is_refused(world):
    change_request = _create(world, {"address": "深圳"})
    instance = _instance(change_request)
    workflow_reject(instance_id=instance.pk, actor=world["manager_a"], reason="No")
    Partner.objects.filter(pk=world["partner_a"].pk).update(address="深圳")
    with pytest.raises(ApplicationError) as error:
        workflow_resubmit(instance_id=instance.pk, actor=world["admin_a"])
    assert error.value.code == "no_changes"
    change_request.refresh_from_db()
    assert change_request.status == ChangeRequest.Status.REJECTED


def test_withdrawal_ends_the_request_and_allows_a_new_one(world):
    change_request = _create(world)
    workflow_withdraw(instance_id=_instance(change_request).pk, actor=world["admin_a"])
    change_request.refresh_from_db()
    assert change_request.status == ChangeRequest.Status.WITHDRAWN
    assert _create(world, {"contact_name": "王五"}).status == ChangeRequest.Status.SUBMITTED


# ---- History ----------------------------------------------------------------------------


def test_history_lists_versions_with_their_changes_and_approved_requests(world):
    partner = world["partner_a"]
    PartnerProfileVersion.objects.create(
        partner=partner,
        number=1,
        reason=PartnerProfileVersion.Reason.SUBMITTED,
        data={"company_name": "Alpha Ltd", "address": "广州市天河区"},
    )
    change_request = _create(world, {"address": "深圳"})
    workflow_approve(instance_id=_instance(change_request).pk, actor=world["manager_a"])
    rejected = _create(world, {"contact_name": "王五"})
    workflow_reject(instance_id=_instance(rejected).pk, actor=world["manager_a"], reason="No")

    entries = partner_history(partner=partner)

    # The version the approval wrote belongs to its change request's entry.
    assert [(entry.kind, entry.title) for entry in entries] == [
        ("change_request", change_request.number),
        ("version", "1"),
    ]
    assert entries[0].version.number == 2
    assert [(r["field"], r["old"], r["new"]) for r in entries[0].rows] == [
        ("address", "广州市天河区", "深圳")
    ]
    assert [(r["field"], r["new"]) for r in entries[1].rows] == [
        ("company_name", "Alpha Ltd"),
        ("address", "广州市天河区"),
    ]


# ---- Pages ------------------------------------------------------------------------------


def test_partner_changes_data_through_the_pages_and_the_manager_approves(
    client, world, django_capture_on_commit_callbacks, settings
):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world["admin_a"])
    page = client.get(reverse("partners:my_profile"))
    assert page.status_code == 200
    assert 'data-testid="change-request-new' in page.content.decode()
    form = client.get(reverse("partners:change_request_create"))
    assert form.context["form"]["address"].value() == "广州市天河区"

    data = {name: form.context["form"][name].value() or "" for name in Partner.PROFILE_FIELDS}
    data.update({"address": "深圳市南山区", "reason": "We moved"})
    response = client.post(reverse("partners:change_request_create"), data)

    change_request = ChangeRequest.objects.get()
    assert change_request.changes == {"address": ["广州市天河区", "深圳市南山区"]}
    assert response["Location"] == reverse(
        "partners:change_request_detail", kwargs={"number": change_request.number}
    )

    client.force_login(world["manager_a"])
    detail = client.get(response["Location"])
    content = detail.content.decode()
    assert detail.context["rows"] == [
        {"field": "address", "label": "Address", "old": "广州市天河区", "new": "深圳市南山区"}
    ]
    assert 'data-testid="workflow-approve"' in content
    assert 'data-testid="workflow-trail"' in content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("core:workflow_act", args=[_instance(change_request).pk, "approve"]),
            {"next": response["Location"]},
        )
    assert _profile(world["partner_a"])["address"] == "深圳市南山区"

    client.force_login(world["admin_a"])
    history = client.get(reverse("partners:my_history"))
    assert [entry.title for entry in history.context["entries"]] == [change_request.number]


def test_change_request_form_shows_the_service_refusal(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    client.force_login(world["admin_a"])
    form = client.get(reverse("partners:change_request_create")).context["form"]
    data = {name: form[name].value() or "" for name in Partner.PROFILE_FIELDS}
    data["reason"] = "No change really"
    response = client.post(reverse("partners:change_request_create"), data)
    assert response.status_code == 200
    assert "Nothing was changed" in response.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_exiting_partner_sees_no_change_button_and_is_refused(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    Partner.objects.filter(pk=world["partner_a"].pk).update(status=Partner.Status.EXITING)
    client.force_login(world["admin_a"])
    page = client.get(reverse("partners:my_profile")).content.decode()
    assert "change-request-new" not in page
    form = client.get(reverse("partners:change_request_create")).context["form"]
    data = {name: form[name].value() or "" for name in Partner.PROFILE_FIELDS}
    data.update({"address": "深圳", "reason": "Moved"})
    response = client.post(reverse("partners:change_request_create"), data)
    assert "leaving or has left" in response.content.decode()
    assert ChangeRequest.objects.count() == 0


def test_detail_page_shows_sections_and_history_for_staff(client, world, settings):
    settings.LANGUAGE_CODE = "en"
    change_request = _create(world)
    client.force_login(world["manager_a"])
    response = client.get(reverse("partners:partner_detail", args=[world["partner_a"].code]))
    content = response.content.decode()
    for section in ("partner-profile", "partner-qualifications", "partner-summary"):
        assert f'data-testid="{section}"' in content
    assert change_request.number in content
    assert reverse("partners:partner_history", args=[world["partner_a"].code]) in content
    history = client.get(reverse("partners:partner_history", args=[world["partner_a"].code]))
    assert history.status_code == 200


def test_application_is_addressed_by_id(client, world, orgs):
    application = factories.partner(managing_org=orgs.city_a, status=Partner.Status.SUBMITTED)
    client.force_login(world["manager_a"])
    assert client.get(f"/partners/{application.pk}/").status_code == 200
    # an approved partner is addressed by its code only
    assert client.get(f"/partners/{world['partner_a'].pk}/").status_code == 404


# ---- The registry list ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({}, ["Alpha Ltd", "Gamma Ltd"], id="all_in_scope"),
        pytest.param({"q": "gam"}, ["Gamma Ltd"], id="name"),
        pytest.param({"q": "P-2026-"}, ["Alpha Ltd", "Gamma Ltd"], id="code"),
        pytest.param({"q": "uscc_of_gamma"}, ["Gamma Ltd"], id="uscc"),
        pytest.param({"status": "exiting"}, ["Gamma Ltd"], id="status"),
        pytest.param({"category": "cp"}, ["Gamma Ltd"], id="category"),
        pytest.param({"source": "hq_recommendation"}, ["Gamma Ltd"], id="source"),
        pytest.param({"tier": "A"}, ["Alpha Ltd"], id="tier"),
        pytest.param({"managing_org": "GZ-TH"}, ["Gamma Ltd"], id="managing_org_subtree"),
        pytest.param({"managing_org": "SZ"}, [], id="managing_org_outside_scope"),
    ],
)
def test_registry_filters(client, world, orgs, query, expected):
    Partner.objects.filter(pk=world["partner_a"].pk).update(tier="A")
    gamma = factories.partner(
        managing_org=orgs.county_a,
        company_name="Gamma Ltd",
        status=Partner.Status.EXITING,
        category_code="cp",
        source=Partner.Source.HQ,
        code="P-2026-999999",
    )
    if query.get("q") == "uscc_of_gamma":
        query = {"q": gamma.uscc.lower()}
    client.force_login(world["manager_a"])
    with time_machine.travel(T0, tick=False):
        response = client.get(reverse("partners:partner_list"), query)
    assert [p.company_name for p in response.context["page"]] == expected


def test_registry_htmx_request_gets_the_table_only(client, world):
    client.force_login(world["manager_a"])
    response = client.get(reverse("partners:partner_list"), HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert 'data-testid="partner-row"' in content
    assert "<html" not in content


@pytest.mark.parametrize("rows", [5, 25])
def test_registry_list_runs_a_constant_number_of_queries(
    client, orgs, make_user, django_assert_num_queries, rows
):
    manager = make_user(org=orgs.city_a, roles=("partner_manager",))
    for n in range(rows):
        factories.partner(managing_org=orgs.county_a, manager=manager, tier="B")
    client.force_login(manager)
    with django_assert_num_queries(QUERIES_PER_LIST_PAGE):
        response = client.get(reverse("partners:partner_list"))
    assert len(response.context["page"]) == rows


QUERIES_PER_LIST_PAGE = 12  # includes the scope lookup (org ids of the subtree)


def test_export_csv_follows_the_filters(client, world, orgs, settings):
    settings.LANGUAGE_CODE = "en"
    factories.partner(managing_org=orgs.county_a, company_name="Gamma Ltd")
    client.force_login(world["manager_a"])
    response = client.get(reverse("partners:partner_export"), {"format": "csv", "q": "alpha"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Partner code", "Company name", "Unified social credit code"]
    assert [row[1] for row in rows[1:]] == ["Alpha Ltd"]
    assert rows[1][0] == world["partner_a"].code


def test_export_xlsx(client, world):
    client.force_login(world["manager_a"])
    response = client.get(reverse("partners:partner_export"), {"format": "xlsx"})
    assert response.status_code == 200
    assert response.content.startswith(b"PK")
    assert "attachment;" in response["Content-Disposition"]


# ---- Access: every page -----------------------------------------------------------------

ANONYMOUS = "anonymous"


def _page_url(world, page: str, change_request) -> str:
    code = world["partner_a"].code
    return {
        "list": reverse("partners:partner_list"),
        "export": reverse("partners:partner_export") + "?format=csv",
        "detail": reverse("partners:partner_detail", args=[code]),
        "history": reverse("partners:partner_history", args=[code]),
        "my_profile": reverse("partners:my_profile"),
        "my_history": reverse("partners:my_history"),
        "cr_list": reverse("partners:change_request_list"),
        "cr_create": reverse("partners:change_request_create"),
        "cr_detail": reverse(
            "partners:change_request_detail", kwargs={"number": change_request.number}
        ),
    }[page]


ACCESS = [
    # page, user, expected status (302 for anonymous: to the login page)
    ("list", ANONYMOUS, 302),
    ("list", "admin_b", 302),  # partner users are sent to their own company page
    ("list", "cs_a", 403),
    ("list", "manager_b", 200),
    ("list", "manager_a", 200),
    ("export", ANONYMOUS, 302),
    ("export", "admin_b", 404),
    ("export", "cs_a", 403),
    ("export", "manager_a", 200),
    ("detail", ANONYMOUS, 302),
    ("detail", "admin_b", 404),
    ("detail", "manager_b", 404),
    ("detail", "cs_a", 403),
    ("detail", "channel_a", 200),
    ("detail", "province_manager", 200),
    ("history", ANONYMOUS, 302),
    ("history", "admin_b", 404),
    ("history", "manager_b", 404),
    ("history", "cs_a", 403),
    ("history", "manager_a", 200),
    ("my_profile", ANONYMOUS, 302),
    ("my_profile", "manager_a", 404),  # operator staff have no "my company"
    ("my_profile", "promoter_a", 403),
    ("my_profile", "staff_a", 200),
    ("my_profile", "admin_a", 200),
    ("my_history", ANONYMOUS, 302),
    ("my_history", "manager_a", 404),
    ("my_history", "promoter_a", 403),
    ("my_history", "admin_a", 200),
    ("cr_list", ANONYMOUS, 302),
    ("cr_list", "channel_a", 403),
    ("cr_list", "staff_a", 403),
    ("cr_list", "admin_b", 200),
    ("cr_list", "manager_a", 200),
    ("cr_create", ANONYMOUS, 302),
    ("cr_create", "manager_a", 403),
    ("cr_create", "staff_a", 403),
    ("cr_create", "admin_a", 200),
    ("cr_detail", ANONYMOUS, 302),
    ("cr_detail", "admin_b", 404),
    ("cr_detail", "manager_b", 404),
    ("cr_detail", "channel_a", 403),
    ("cr_detail", "staff_a", 403),
    ("cr_detail", "manager_a", 200),
    ("cr_detail", "province_manager", 200),
    ("cr_detail", "admin_a", 200),
]


@pytest.mark.parametrize(
    ("page", "who", "status"), ACCESS, ids=[f"{p}-{w}-{s}" for p, w, s in ACCESS]
)
def test_page_access(client, world, page, who, status):
    world["promoter_a"] = factories.partner_user(world["partner_a"], roles=("field_engineer",))
    change_request = _create(world)
    if who != ANONYMOUS:
        client.force_login(world[who])
    response = client.get(_page_url(world, page, change_request))
    assert response.status_code == status
    if who == ANONYMOUS:
        assert response["Location"].startswith(reverse("accounts:login"))


def test_lists_show_nothing_outside_scope(client, world):
    change_request = _create(world)
    client.force_login(world["manager_b"])
    partners = client.get(reverse("partners:partner_list")).context["page"]
    assert [p.company_name for p in partners] == ["Beta Ltd"]
    requests = client.get(reverse("partners:change_request_list")).context["page"]
    assert list(requests) == []
    client.force_login(world["admin_b"])
    assert list(client.get(reverse("partners:change_request_list")).context["page"]) == []
    client.force_login(world["admin_a"])
    assert list(client.get(reverse("partners:change_request_list")).context["page"]) == [
        change_request
    ]


# ---- API --------------------------------------------------------------------------------


def _api_call(client, world, endpoint: str):
    code = world["partner_a"].code
    if endpoint == "list":
        return client.get("/api/v1/partners/")
    if endpoint == "detail":
        return client.get(f"/api/v1/partners/{code}")
    if endpoint == "cr_list":
        return client.get(f"/api/v1/partners/{code}/change-requests")
    if endpoint == "cr_post":
        return client.post(
            f"/api/v1/partners/{code}/change-requests",
            {"changes": {"contact_name": "王五"}, "reason": "New contact"},
            content_type="application/json",
        )
    if endpoint == "qualifications":
        return client.get(f"/api/v1/partners/{code}/qualifications")
    raise AssertionError(endpoint)


API_ACCESS = [
    ("list", ANONYMOUS, 401),
    ("list", "cs_a", 403),
    ("list", "admin_b", 200),
    ("list", "manager_b", 200),
    ("list", "manager_a", 200),
    ("detail", ANONYMOUS, 401),
    ("detail", "admin_b", 404),
    ("detail", "manager_b", 404),
    ("detail", "cs_a", 403),
    ("detail", "admin_a", 200),
    ("detail", "manager_a", 200),
    ("cr_list", ANONYMOUS, 401),
    ("cr_list", "admin_b", 404),
    ("cr_list", "manager_b", 404),
    ("cr_list", "channel_a", 403),
    ("cr_list", "admin_a", 200),
    ("cr_list", "manager_a", 200),
    ("cr_post", ANONYMOUS, 401),
    ("cr_post", "admin_b", 404),
    ("cr_post", "manager_a", 403),
    ("cr_post", "staff_a", 403),
    ("cr_post", "admin_a", 201),
    ("qualifications", ANONYMOUS, 401),
    ("qualifications", "admin_b", 404),
    ("qualifications", "manager_b", 404),
    ("qualifications", "cs_a", 403),
    ("qualifications", "staff_a", 200),
    ("qualifications", "manager_a", 200),
]


@pytest.mark.parametrize(
    ("endpoint", "who", "status"), API_ACCESS, ids=[f"{e}-{w}-{s}" for e, w, s in API_ACCESS]
)
def test_api_access(client, world, endpoint, who, status):
    if who != ANONYMOUS:
        client.force_login(world[who])
    response = _api_call(client, world, endpoint)
    assert response.status_code == status
    if status >= 400:
        assert set(response.json()) == {"code", "message", "details"}


def test_api_list_is_scoped_and_paginated(client, world, orgs):
    for n in range(3):
        factories.partner(managing_org=orgs.county_a, company_name=f"Zeta {n}")
    client.force_login(world["manager_a"])
    response = client.get("/api/v1/partners/", {"limit": 2, "offset": 1})
    assert response["X-Total-Count"] == "4"
    assert [p["company_name"] for p in response.json()] == ["Zeta 0", "Zeta 1"]
    client.force_login(world["admin_b"])
    assert [p["code"] for p in client.get("/api/v1/partners/").json()] == [world["partner_b"].code]


def test_api_detail_and_change_request(client, world):
    client.force_login(world["admin_a"])
    code = world["partner_a"].code
    detail = client.get(f"/api/v1/partners/{code}").json()
    assert (detail["code"], detail["address"], detail["may_do_new_business"]) == (
        code,
        "广州市天河区",
        True,
    )
    created = client.post(
        f"/api/v1/partners/{code}/change-requests",
        {"changes": {"registered_capital": 9000000, "contact_name": "李四"}, "reason": "Capital"},
        content_type="application/json",
    )
    assert created.status_code == 201
    assert created.json()["changes"] == {"registered_capital": ["5000000.00", "9000000.00"]}
    again = client.post(
        f"/api/v1/partners/{code}/change-requests",
        {"changes": {"contact_name": "王五"}, "reason": "Contact"},
        content_type="application/json",
    )
    assert (again.status_code, again.json()["code"]) == (409, "change_request_open")
    listed = client.get(f"/api/v1/partners/{code}/change-requests").json()
    assert [item["number"] for item in listed] == [created.json()["number"]]


def test_api_change_request_with_unknown_field_is_refused(client, world):
    client.force_login(world["admin_a"])
    response = client.post(
        f"/api/v1/partners/{world['partner_a'].code}/change-requests",
        {"changes": {"status": "exited"}, "reason": "x"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()["code"]) == (400, "unknown_field")
    assert ChangeRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("value", "code_matches", "key_matches"),
    [
        pytest.param("P-2026-000123", True, True, id="partner_code"),
        pytest.param("123", False, True, id="application_id"),
        pytest.param("registration-status", False, False, id="registration_status"),
        pytest.param("agreements", False, False, id="other_concern"),
        pytest.param("change-requests", False, False, id="own_list"),
    ],
)
def test_partner_path_converters_leave_other_paths_alone(value, code_matches, key_matches):
    import re

    assert bool(re.fullmatch(PartnerCodeConverter.regex, value)) is code_matches
    assert bool(re.fullmatch(PartnerKeyConverter.regex, value)) is key_matches


def test_my_company_links_the_request_under_review_instead_of_offering_a_new_one(client, world):
    change_request = _create(world)
    client.force_login(world["admin_a"])
    page = client.get(reverse("partners:my_profile")).content.decode()
    assert 'data-testid="change-request-new' not in page
    assert (
        f'href="/partners/change-requests/{change_request.number}/" '
        'data-testid="open-change-request"'
    ) in page
