"""Business codes (R1; limit by tier, R3): assignment within the limit, uniqueness among
active codes, no new codes for a partner whose new business is suspended, release."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from prm.core.exceptions import ApplicationError
from prm.core.models import AuditEvent
from prm.partners.models import BusinessCode, Partner
from prm.partners.selectors import DEFAULT_BUSINESS_CODE_LIMIT
from prm.partners.services.codes import business_code_assign, business_code_release
from prm.partners.tests.test_agreements_fixtures import world_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def _assign(world, code: str, partner=None, actor=None) -> BusinessCode:
    return business_code_assign(
        actor=actor or world.pm1,
        partner=partner or world.partner_a,
        code=code,
        name=f"Service {code}",
        service_type="SMS",
    )


def _snapshot():
    return (
        list(BusinessCode.objects.values_list("code", "status").order_by("pk")),
        AuditEvent.objects.filter(action__startswith="business_code.").count(),
    )


def test_staff_assign_a_code_with_an_audit_event(world):
    business_code = _assign(world, "1065801")

    assert (business_code.partner, business_code.code, business_code.status) == (
        world.partner_a,
        "1065801",
        BusinessCode.Status.ACTIVE,
    )
    event = AuditEvent.objects.get(action="business_code.assigned")
    assert event.changes["limit"] == DEFAULT_BUSINESS_CODE_LIMIT


@pytest.mark.parametrize(
    ("_case", "held", "code"),
    [
        ("limit_minus_two", DEFAULT_BUSINESS_CODE_LIMIT - 2, None),
        ("limit_minus_one", DEFAULT_BUSINESS_CODE_LIMIT - 1, None),
        ("at_limit", DEFAULT_BUSINESS_CODE_LIMIT, "business_code_limit"),
    ],
)
def test_code_limit_boundary(world, _case, held, code):
    for n in range(held):
        _assign(world, f"10658{n:02d}")
    before = _snapshot()

    if code is None:
        _assign(world, "1065899")
        assert world.partner_a.business_codes.filter(status="active").count() == held + 1
    else:
        with pytest.raises(ApplicationError) as refused:
            _assign(world, "1065899")
        assert refused.value.code == code
        assert refused.value.details["limit"] == DEFAULT_BUSINESS_CODE_LIMIT
        assert str(DEFAULT_BUSINESS_CODE_LIMIT) in str(refused.value.message)
        assert _snapshot() == before


def test_the_limit_comes_from_the_tier_entitlement(world, monkeypatch):
    monkeypatch.setattr(
        "prm.partners.services.codes.partner_business_code_limit", lambda partner: 1
    )
    _assign(world, "1065801")

    with pytest.raises(ApplicationError) as refused:
        _assign(world, "1065802")

    assert refused.value.details == {"limit": 1, "held": 1}


def test_released_codes_do_not_count_and_may_be_given_out_again(world):
    for n in range(DEFAULT_BUSINESS_CODE_LIMIT):
        _assign(world, f"10658{n:02d}")
    business_code_release(
        actor=world.pm1,
        business_code=BusinessCode.objects.get(code="1065800"),
        reason="Business ended",
    )

    again = _assign(world, "1065800", partner=world.partner_b, actor=world.pm_b)

    assert again.status == "active"
    assert BusinessCode.objects.filter(code="1065800").count() == 2


def test_a_code_active_elsewhere_is_refused(world):
    _assign(world, "1065801")
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        _assign(world, "1065801", partner=world.partner_b, actor=world.pm_b)

    assert (refused.value.code, refused.value.details["field"]) == ("business_code_taken", "code")
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("_case", "change"),
    [
        ("expired_qualification", {"business_suspended": True}),
        ("penalty_running", {"business_suspended_until": "today"}),
        ("exiting", {"status": Partner.Status.EXITING}),
        ("exited", {"status": Partner.Status.EXITED}),
    ],
)
def test_no_new_code_while_new_business_is_suspended(world, _case, change):
    if change.get("business_suspended_until") == "today":
        change = {"business_suspended_until": timezone.localdate()}
    Partner.objects.filter(pk=world.partner_a.pk).update(**change)
    world.partner_a.refresh_from_db()
    before = _snapshot()

    with pytest.raises(ApplicationError) as refused:
        _assign(world, "1065801")

    assert refused.value.code == "partner_business_suspended"
    assert _snapshot() == before


def test_a_penalty_that_ended_yesterday_no_longer_blocks(world):
    Partner.objects.filter(pk=world.partner_a.pk).update(
        business_suspended_until=timezone.localdate() - timedelta(days=1)
    )
    world.partner_a.refresh_from_db()

    assert _assign(world, "1065801").status == "active"


@pytest.mark.parametrize(
    ("_case", "code", "name", "error"),
    [
        ("empty_code", "", "SMS", "business_code_invalid"),
        ("one_char", "1", "SMS", "business_code_invalid"),
        ("spaces", "10 65", "SMS", "business_code_invalid"),
        ("no_name", "106580", " ", "name_required"),
    ],
)
def test_bad_input_is_refused(world, _case, code, name, error):
    with pytest.raises(ApplicationError) as refused:
        business_code_assign(actor=world.pm1, partner=world.partner_a, code=code, name=name)

    assert refused.value.code == error
    assert BusinessCode.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "who", "error"),
    [
        ("other_city", "pm_b", "not_found"),
        ("no_permission", "channel_a", "forbidden"),
        ("partner_admin", "admin_a", "forbidden"),
    ],
)
def test_assignment_needs_the_permission_and_the_partner_in_scope(world, _case, who, error):
    with pytest.raises(ApplicationError) as refused:
        _assign(world, "1065801", actor=getattr(world, who))

    assert refused.value.code == error
    assert BusinessCode.objects.count() == 0


def test_release_needs_a_reason_and_happens_once(world):
    business_code = _assign(world, "1065801")

    with pytest.raises(ApplicationError) as refused:
        business_code_release(actor=world.pm1, business_code=business_code, reason="")
    assert refused.value.code == "reason_required"
    assert BusinessCode.objects.get(pk=business_code.pk).status == "active"

    business_code_release(actor=world.pm1, business_code=business_code, reason="Ended")
    business_code.refresh_from_db()
    assert (business_code.status, business_code.release_reason) == ("released", "Ended")
    assert business_code.released_at is not None

    with pytest.raises(ApplicationError) as refused:
        business_code_release(actor=world.pm1, business_code=business_code, reason="Again")
    assert refused.value.code == "business_code_released"


def test_staff_of_another_city_cannot_release(world):
    business_code = _assign(world, "1065801")

    with pytest.raises(ApplicationError) as refused:
        business_code_release(actor=world.pm_b, business_code=business_code, reason="Mine")

    assert refused.value.code == "not_found"
    assert BusinessCode.objects.get(pk=business_code.pk).status == "active"
