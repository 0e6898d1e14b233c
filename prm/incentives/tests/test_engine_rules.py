"""R4 settlement rules at their boundaries (contract ``settlement-files.md``).

Each case starts from one record that qualifies (``passing_inputs``), changes one thing
and checks the exact ``reasons`` string and amount of the verdict.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from prm.incentives.engine import REASON_CODES
from prm.incentives.tests.engine_builders import (
    FEE,
    MSISDN,
    PRODUCT,
    PROMOTER,
    REBATE,
    Inputs,
    add_period_decoys,
    passing_inputs,
    period_of,
    settle,
    window_end,
    window_months,
)

REC = datetime(2026, 1, 15, 10, 0, 0)  # window [2026-01-15 10:00, 2026-03-15 10:00)
PERIOD = "2026-03"
SECOND = timedelta(seconds=1)
QUALIFIED = ("", REBATE)

# Rules whose side table the engine pre-filters by the period's date range run twice:
# alone, and with records at the first and last moments of the period (see
# add_period_decoys), so that both the pre-filter and the rule's boundary are tested.
decoys = pytest.mark.parametrize("with_decoys", [False, True], ids=["alone", "decoys"])


def settle_case(inputs, tmp_path, *, period, with_decoys=False, **options):
    if with_decoys:
        add_period_decoys(inputs, period)
    return settle(inputs, tmp_path, period=period, **options)


def failed(reasons: str) -> tuple[str, Decimal]:
    return reasons, Decimal("0.00")


def test_builder_calendar_matches_the_contract_examples():
    assert window_end(datetime(2025, 12, 31, 10, 0)) == datetime(2026, 2, 28, 10, 0)
    assert window_end(datetime(2024, 12, 31, 10, 0)) == datetime(2025, 2, 28, 10, 0)
    assert window_end(datetime(2023, 12, 31, 10, 0)) == datetime(2024, 2, 29, 10, 0)
    assert period_of(REC) == PERIOD
    assert window_months(REC) == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]


def test_passing_record_qualifies(tmp_path):
    outcome = settle(passing_inputs(recommended_at=REC), tmp_path, period=PERIOD)

    assert outcome.verdict(1) == QUALIFIED
    assert outcome.summary["qualified"] == 1


# ------------------------------------------------------------------ window and period


@pytest.mark.parametrize(
    ("_case", "recommended_at", "confirmed_at", "expected"),
    [
        ("confirmed at recommended_at", REC, REC, QUALIFIED),
        ("confirmed 1 s before recommended_at", REC, REC - SECOND, failed("unconfirmed")),
        ("confirmed at end - 1 s", REC, datetime(2026, 3, 15, 9, 59, 59), QUALIFIED),
        (
            "confirmed at end (exclusive)",
            REC,
            datetime(2026, 3, 15, 10, 0, 0),
            failed("unconfirmed"),
        ),
        ("never confirmed", REC, None, failed("unconfirmed")),
        (
            "Dec 31 clamps to Feb 28: end - 1 s",
            datetime(2025, 12, 31, 10, 0),
            datetime(2026, 2, 28, 9, 59, 59),
            QUALIFIED,
        ),
        (
            "Dec 31 clamps to Feb 28: at end",
            datetime(2025, 12, 31, 10, 0),
            datetime(2026, 2, 28, 10, 0, 0),
            failed("unconfirmed"),
        ),
        (
            "2024-12-31 clamps to 2025-02-28: end - 1 s",
            datetime(2024, 12, 31, 10, 0),
            datetime(2025, 2, 28, 9, 59, 59),
            QUALIFIED,
        ),
        (
            "2024-12-31 clamps to 2025-02-28: at end",
            datetime(2024, 12, 31, 10, 0),
            datetime(2025, 2, 28, 10, 0, 0),
            failed("unconfirmed"),
        ),
        (
            "leap: 2023-12-31 ends 2024-02-29: end - 1 s",
            datetime(2023, 12, 31, 10, 0),
            datetime(2024, 2, 29, 9, 59, 59),
            QUALIFIED,
        ),
        (
            "leap: 2023-12-31 ends 2024-02-29: at end",
            datetime(2023, 12, 31, 10, 0),
            datetime(2024, 2, 29, 10, 0, 0),
            failed("unconfirmed"),
        ),
    ],
)
def test_unconfirmed(tmp_path, _case, recommended_at, confirmed_at, expected):
    inputs = passing_inputs(recommended_at=recommended_at)
    inputs.records[0]["confirmed_at"] = confirmed_at

    outcome = settle(inputs, tmp_path, period=period_of(recommended_at))

    assert outcome.verdict(1) == expected


@pytest.mark.parametrize(
    ("_case", "recommended_at", "period", "in_period"),
    [
        (
            "end 2026-03-01 00:00: last second is Feb 28",
            datetime(2026, 1, 1, 0, 0, 0),
            "2026-02",
            True,
        ),
        ("end 2026-03-01 00:00: not March", datetime(2026, 1, 1, 0, 0, 0), "2026-03", False),
        ("end 2026-03-01 00:00:01: March", datetime(2026, 1, 1, 0, 0, 1), "2026-03", True),
        ("end 2026-03-01 00:00:01: not February", datetime(2026, 1, 1, 0, 0, 1), "2026-02", False),
        ("Jan 31 ends Mar 31", datetime(2026, 1, 31, 23, 59, 59), "2026-03", True),
        ("Jan 31 23:59:59: not April", datetime(2026, 1, 31, 23, 59, 59), "2026-04", False),
        ("Dec 31 ends Feb 28", datetime(2025, 12, 31, 10, 0), "2026-02", True),
    ],
)
def test_period_membership_by_the_last_second_of_the_window(
    tmp_path, _case, recommended_at, period, in_period
):
    inputs = passing_inputs(recommended_at=recommended_at)

    outcome = settle(inputs, tmp_path, period=period)

    assert (1 in outcome.verdicts) is in_period
    assert outcome.summary["records"] == (1 if in_period else 0)
    assert outcome.summary["not_in_period"] == (0 if in_period else 1)


# ------------------------------------------------------------------ unknown_product


@pytest.mark.parametrize(
    ("_case", "effective_from", "effective_to", "expected"),
    [
        ("from = date of recommended_at", date(2026, 1, 15), None, QUALIFIED),
        ("from = the day after", date(2026, 1, 16), None, failed("unknown_product")),
        ("to = date of recommended_at (inclusive)", date(2025, 1, 1), date(2026, 1, 15), QUALIFIED),
        ("to = the day before", date(2025, 1, 1), date(2026, 1, 14), failed("unknown_product")),
        ("open version", date(2025, 1, 1), None, QUALIFIED),
    ],
)
def test_unknown_product(tmp_path, _case, effective_from, effective_to, expected):
    inputs = passing_inputs(recommended_at=REC)
    inputs.products[0].update(effective_from=effective_from, effective_to=effective_to)

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == expected


def test_unknown_product_skips_the_fee_audits(tmp_path):
    # given: no version applies and nothing was billed (not_billed would fail with a fee)
    inputs = passing_inputs(recommended_at=REC)
    inputs.products[0]["product_code"] = "OTHER"
    inputs.billing.clear()

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == failed("unknown_product")


@pytest.mark.parametrize(
    ("_case", "recommended_at", "rebate"),
    [
        ("last moment of the old version", datetime(2025, 12, 31, 23, 59, 59), Decimal("3.00")),
        ("first moment of the new version", datetime(2026, 1, 1, 0, 0, 0), Decimal("5.00")),
    ],
)
def test_product_version_by_date_of_recommended_at(tmp_path, _case, recommended_at, rebate):
    inputs = passing_inputs(recommended_at=recommended_at)
    inputs.products[:] = [
        {
            "product_code": PRODUCT,
            "monthly_fee": FEE,
            "rebate": Decimal("3.00"),
            "effective_from": date(2020, 1, 1),
            "effective_to": date(2025, 12, 31),
        },
        {
            "product_code": PRODUCT,
            "monthly_fee": FEE,
            "rebate": Decimal("5.00"),
            "effective_from": date(2026, 1, 1),
            "effective_to": None,
        },
    ]

    outcome = settle(inputs, tmp_path, period=period_of(recommended_at))

    assert outcome.verdict(1) == ("", rebate)


# ------------------------------------------------------------------ duplicate

LATER = datetime(2026, 5, 10, 10, 0, 0)  # month May: duplicates count from Feb 1 00:00


@decoys
@pytest.mark.parametrize(
    ("_case", "earlier_at", "earlier_id", "earlier_product", "expected"),
    [
        ("Feb 1 00:00:00 counts", datetime(2026, 2, 1, 0, 0, 0), 1, PRODUCT, failed("duplicate")),
        ("Jan 31 23:59:59 does not", datetime(2026, 1, 31, 23, 59, 59), 1, PRODUCT, QUALIFIED),
        ("1 s before", LATER - SECOND, 1, PRODUCT, failed("duplicate")),
        ("same time, smaller record_id", LATER, 1, PRODUCT, failed("duplicate")),
        ("same time, larger record_id", LATER, 3, PRODUCT, QUALIFIED),
        ("1 s after", LATER + SECOND, 1, PRODUCT, QUALIFIED),
        ("other product", datetime(2026, 4, 1), 1, "OTHER", QUALIFIED),
    ],
)
def test_duplicate(tmp_path, _case, earlier_at, earlier_id, earlier_product, expected, with_decoys):
    inputs = passing_inputs(recommended_at=LATER, record_id=2)
    inputs.add_record(earlier_id, recommended_at=earlier_at, product_code=earlier_product)

    outcome = settle_case(inputs, tmp_path, period=period_of(LATER), with_decoys=with_decoys)

    assert outcome.verdict(2) == expected


def test_duplicate_counts_an_earlier_record_whatever_its_own_verdict(tmp_path):
    # given: the earlier record (another period) was never confirmed, so it fails itself
    inputs = passing_inputs(recommended_at=LATER, record_id=2)
    inputs.add_record(1, recommended_at=datetime(2026, 3, 1), confirmed_at=None)

    outcome = settle(inputs, tmp_path, period=period_of(LATER))

    assert outcome.verdict(2) == failed("duplicate")
    assert outcome.summary["not_in_period"] == 1


def test_duplicate_tie_fails_only_the_larger_record_id(tmp_path):
    inputs = passing_inputs(recommended_at=LATER, record_id=7)
    inputs.add_record(5, recommended_at=LATER)

    outcome = settle(inputs, tmp_path, period=period_of(LATER))

    assert outcome.verdict(5) == QUALIFIED
    assert outcome.verdict(7) == failed("duplicate")


# ------------------------------------------------------------------ prior_same_product


@decoys
@pytest.mark.parametrize(
    ("_case", "month", "amount", "product", "expected"),
    [
        (
            "billed 3rd month before (Feb)",
            date(2026, 2, 1),
            FEE,
            PRODUCT,
            failed("prior_same_product"),
        ),
        (
            "billed 1st month before (Apr)",
            date(2026, 4, 1),
            FEE,
            PRODUCT,
            failed("prior_same_product"),
        ),
        (
            "billed 0.01 in Mar",
            date(2026, 3, 1),
            Decimal("0.01"),
            PRODUCT,
            failed("prior_same_product"),
        ),
        ("billed 0 in Apr", date(2026, 4, 1), Decimal("0.00"), PRODUCT, QUALIFIED),
        ("billed 4th month before (Jan)", date(2026, 1, 1), FEE, PRODUCT, QUALIFIED),
        ("other product in Apr", date(2026, 4, 1), FEE, "OTHER", QUALIFIED),
    ],
)
def test_prior_same_product(tmp_path, _case, month, amount, product, expected, with_decoys):
    inputs = passing_inputs(recommended_at=LATER)
    inputs.billing.append(
        {"msisdn": MSISDN, "product_code": product, "month": month, "billed_amount": amount}
    )

    outcome = settle_case(inputs, tmp_path, period=period_of(LATER), with_decoys=with_decoys)

    assert outcome.verdict(1) == expected


JUN1 = datetime(2026, 6, 1, 0, 0, 0)  # month June, but its window ends in July like May's


@pytest.mark.parametrize(
    ("_case", "month", "expected"),
    [
        ("3rd month before June (Mar)", date(2026, 3, 1), failed("prior_same_product")),
        ("4th month before June (Feb)", date(2026, 2, 1), QUALIFIED),
    ],
)
def test_prior_same_product_counts_from_the_month_of_recommendation(
    tmp_path, _case, month, expected
):
    # given: a record of June 1 00:00:00 settled with May's records (period July), so the
    # three months before are Mar-May, not Feb-Apr
    inputs = passing_inputs(recommended_at=JUN1)
    add_period_decoys(inputs, "2026-07")
    inputs.billing.append(
        {"msisdn": MSISDN, "product_code": PRODUCT, "month": month, "billed_amount": FEE}
    )

    outcome = settle(inputs, tmp_path, period="2026-07")

    assert period_of(JUN1) == "2026-07"
    assert outcome.verdict(1) == expected


def test_billing_in_the_month_of_recommendation_is_not_prior(tmp_path):
    # given: the only billing is in May, the month of the recommendation itself
    inputs = passing_inputs(recommended_at=LATER)
    inputs.billing[:] = [
        {"msisdn": MSISDN, "product_code": PRODUCT, "month": date(2026, 5, 1), "billed_amount": FEE}
    ]

    outcome = settle(inputs, tmp_path, period=period_of(LATER))

    assert outcome.verdict(1) == QUALIFIED


# ------------------------------------------------------------------ not_active_before


@pytest.mark.parametrize(
    ("_case", "activated_on", "status", "expected"),
    [
        ("activated the day before", date(2026, 1, 14), "active", QUALIFIED),
        ("activated on the day", date(2026, 1, 15), "active", failed("not_active_before")),
        ("activated the day after", date(2026, 1, 16), "active", failed("not_active_before")),
        ("suspended does not fail", date(2020, 1, 1), "suspended", QUALIFIED),
        ("closed", date(2020, 1, 1), "closed", failed("not_active_before")),
    ],
)
def test_not_active_before(tmp_path, _case, activated_on, status, expected):
    inputs = passing_inputs(recommended_at=REC)
    inputs.subscribers[0].update(activated_on=activated_on, status=status)

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == expected


def test_not_in_subscribers_is_not_active_before(tmp_path):
    inputs = passing_inputs(recommended_at=REC)
    inputs.subscribers[0]["msisdn"] = MSISDN + 1

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == failed("not_active_before")


# ------------------------------------------------------------------ no_voice_in_window

DEC31 = datetime(2025, 12, 31, 10, 0)  # window days 2025-12-31 .. 2026-02-27


@decoys
@pytest.mark.parametrize("usage", ["daily", "monthly"])
@pytest.mark.parametrize(
    ("_case", "recommended_at", "days", "expected"),
    [
        ("voice on the day of recommended_at", REC, [(date(2026, 1, 15), 1)], QUALIFIED),
        ("voice the day before", REC, [(date(2026, 1, 14), 5)], failed("no_voice_in_window")),
        ("voice on the last day before end", REC, [(date(2026, 3, 14), 1)], QUALIFIED),
        ("voice on the date of end", REC, [(date(2026, 3, 15), 1)], failed("no_voice_in_window")),
        ("voice in the middle month", REC, [(date(2026, 2, 10), 2)], QUALIFIED),
        ("day in window with 0 calls", REC, [(date(2026, 2, 10), 0)], failed("no_voice_in_window")),
        ("no usage at all", REC, [], failed("no_voice_in_window")),
        (
            "voice just outside on both sides",
            REC,
            [
                (date(2026, 1, 14), 3),
                (date(2026, 1, 1), 3),
                (date(2026, 3, 15), 3),
                (date(2026, 3, 31), 3),
            ],
            failed("no_voice_in_window"),
        ),
        (
            "first month: days before and after recommended_at",
            REC,
            [(date(2026, 1, 10), 1), (date(2026, 1, 20), 1)],
            QUALIFIED,
        ),
        (
            "last month: days before and after end",
            REC,
            [(date(2026, 3, 10), 1), (date(2026, 3, 20), 1)],
            QUALIFIED,
        ),
        (
            "0-call days inside, voice outside",
            REC,
            [
                (date(2026, 1, 14), 1),
                (date(2026, 1, 16), 0),
                (date(2026, 3, 14), 0),
                (date(2026, 3, 15), 1),
            ],
            failed("no_voice_in_window"),
        ),
        ("clamped end: Feb 27 is in", DEC31, [(date(2026, 2, 27), 1)], QUALIFIED),
        (
            "clamped end: Feb 28 is out",
            DEC31,
            [(date(2026, 2, 28), 1)],
            failed("no_voice_in_window"),
        ),
        ("clamped end: Dec 31 is in", DEC31, [(date(2025, 12, 31), 1)], QUALIFIED),
    ],
)
def test_no_voice_in_window_same_verdict_daily_and_monthly(
    tmp_path, usage, _case, recommended_at, days, expected, with_decoys
):
    inputs = passing_inputs(recommended_at=recommended_at)
    inputs.usage_daily[:] = [
        {"msisdn": MSISDN, "day": day, "voice_calls": calls} for day, calls in days
    ]

    outcome = settle_case(
        inputs, tmp_path, period=period_of(recommended_at), usage=usage, with_decoys=with_decoys
    )

    assert outcome.verdict(1) == expected


def test_no_voice_other_number_does_not_count(tmp_path):
    inputs = passing_inputs(recommended_at=REC)
    inputs.usage_daily[0]["msisdn"] = MSISDN + 1

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == failed("no_voice_in_window")


# ------------------------------------------------------------------ product_changed_in_window


@decoys
@pytest.mark.parametrize(
    ("_case", "changed_at", "product", "expected"),
    [
        ("at recommended_at (strict)", REC, PRODUCT, QUALIFIED),
        ("1 s after recommended_at", REC + SECOND, PRODUCT, failed("product_changed_in_window")),
        (
            "1 s before end",
            datetime(2026, 3, 15, 9, 59, 59),
            PRODUCT,
            failed("product_changed_in_window"),
        ),
        ("at end (strict)", datetime(2026, 3, 15, 10, 0, 0), PRODUCT, QUALIFIED),
        ("before recommended_at", REC - SECOND, PRODUCT, QUALIFIED),
        ("other product", REC + timedelta(days=3), "OTHER", QUALIFIED),
    ],
)
def test_product_changed_in_window(tmp_path, _case, changed_at, product, expected, with_decoys):
    inputs = passing_inputs(recommended_at=REC)
    inputs.product_changes.append(
        {
            "msisdn": MSISDN,
            "product_code": product,
            "changed_at": changed_at,
            "change_type": "unsubscribe",
        }
    )

    outcome = settle_case(inputs, tmp_path, period=PERIOD, with_decoys=with_decoys)

    assert outcome.verdict(1) == expected


# ------------------------------------------------------------------ rebated_in_last_6_months

AUG31 = datetime(2026, 8, 31, 10, 0)  # 6 months before: 2026-02-28 10:00 (clamped)


@decoys
@pytest.mark.parametrize(
    ("_case", "recommended_at", "earlier_at", "expected"),
    [
        (
            "exactly 6 months before",
            REC,
            datetime(2025, 7, 15, 10, 0, 0),
            failed("rebated_in_last_6_months"),
        ),
        ("6 months and 1 s before", REC, datetime(2025, 7, 15, 9, 59, 59), QUALIFIED),
        ("1 s before", REC, REC - SECOND, failed("rebated_in_last_6_months")),
        ("same moment (not before)", REC, REC, QUALIFIED),
        ("7 months before (decoy)", REC, datetime(2025, 6, 15, 10, 0, 0), QUALIFIED),
        (
            "clamped: Feb 28 10:00 counts",
            AUG31,
            datetime(2026, 2, 28, 10, 0, 0),
            failed("rebated_in_last_6_months"),
        ),
        ("clamped: Feb 28 09:59:59 does not", AUG31, datetime(2026, 2, 28, 9, 59, 59), QUALIFIED),
    ],
)
def test_rebated_in_last_6_months(
    tmp_path, _case, recommended_at, earlier_at, expected, with_decoys
):
    inputs = passing_inputs(recommended_at=recommended_at)
    inputs.rebate_history.append(
        {"msisdn": MSISDN, "product_code": PRODUCT, "recommended_at": earlier_at}
    )

    outcome = settle_case(
        inputs, tmp_path, period=period_of(recommended_at), with_decoys=with_decoys
    )

    assert outcome.verdict(1) == expected


# ------------------------------------------------------------------ in_arrears


@pytest.mark.parametrize(
    ("_case", "in_arrears", "expected"),
    [("in arrears", True, failed("in_arrears")), ("not in arrears", False, QUALIFIED)],
)
def test_in_arrears(tmp_path, _case, in_arrears, expected):
    inputs = passing_inputs(recommended_at=REC)
    inputs.subscribers[0]["in_arrears"] = in_arrears

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == expected


# ------------------------------------------------------------------ not_billed, discounted_price


def _billing(rows):
    return [
        {"msisdn": MSISDN, "product_code": product, "month": month, "billed_amount": amount}
        for month, amount, product in rows
    ]


@decoys
@pytest.mark.parametrize(
    ("_case", "fee", "rows", "expected"),
    [
        (
            "full fee in the last month of the window only",
            FEE,
            [(date(2026, 3, 1), FEE, PRODUCT)],
            QUALIFIED,
        ),
        ("full fee in the first month only", FEE, [(date(2026, 1, 1), FEE, PRODUCT)], QUALIFIED),
        ("no billing", FEE, [], failed("not_billed")),
        ("billed 0.00", FEE, [(date(2026, 2, 1), Decimal("0.00"), PRODUCT)], failed("not_billed")),
        (
            "billed the month after the window",
            FEE,
            [(date(2026, 4, 1), FEE, PRODUCT)],
            failed("not_billed"),
        ),
        ("billed another product", FEE, [(date(2026, 2, 1), FEE, "OTHER")], failed("not_billed")),
        (
            "largest 9.99 < fee 10",
            FEE,
            [(date(2026, 2, 1), Decimal("9.99"), PRODUCT)],
            failed("discounted_price"),
        ),
        (
            "largest = fee",
            FEE,
            [(date(2026, 1, 1), Decimal("5.00"), PRODUCT), (date(2026, 2, 1), FEE, PRODUCT)],
            QUALIFIED,
        ),
        ("largest 10.01 > fee", FEE, [(date(2026, 2, 1), Decimal("10.01"), PRODUCT)], QUALIFIED),
        (
            "full fee before the window does not help",
            FEE,
            [(date(2025, 12, 1), FEE, PRODUCT), (date(2026, 2, 1), Decimal("9.99"), PRODUCT)],
            failed("prior_same_product,discounted_price"),
        ),
        ("free product, no billing", Decimal("0.00"), [], QUALIFIED),
        (
            "free product, billed 5",
            Decimal("0.00"),
            [(date(2026, 2, 1), Decimal("5.00"), PRODUCT)],
            QUALIFIED,
        ),
    ],
)
def test_not_billed_and_discounted_price(tmp_path, _case, fee, rows, expected, with_decoys):
    inputs = passing_inputs(recommended_at=REC, fee=fee)
    inputs.billing[:] = _billing(rows)

    outcome = settle_case(inputs, tmp_path, period=PERIOD, with_decoys=with_decoys)

    assert outcome.verdict(1) == expected


# ------------------------------------------------------------------ upheld_complaint


@decoys
@pytest.mark.parametrize(
    ("_case", "complained_at", "kind", "upheld", "product", "expected"),
    [
        (
            "at recommended_at",
            REC,
            "forced_subscription",
            True,
            PRODUCT,
            failed("upheld_complaint"),
        ),
        (
            "1 s before recommended_at",
            REC - SECOND,
            "forced_subscription",
            True,
            PRODUCT,
            QUALIFIED,
        ),
        (
            "long after the window",
            datetime(2026, 7, 1),
            "forced_subscription",
            True,
            PRODUCT,
            failed("upheld_complaint"),
        ),
        ("not upheld", REC + SECOND, "forced_subscription", False, PRODUCT, QUALIFIED),
        ("other kind", REC + SECOND, "other", True, PRODUCT, QUALIFIED),
        ("other product", REC + SECOND, "forced_subscription", True, "OTHER", QUALIFIED),
    ],
)
def test_upheld_complaint(
    tmp_path, _case, complained_at, kind, upheld, product, expected, with_decoys
):
    inputs = passing_inputs(recommended_at=REC)
    inputs.complaints.append(
        {
            "msisdn": MSISDN,
            "product_code": product,
            "complained_at": complained_at,
            "kind": kind,
            "upheld": upheld,
        }
    )

    outcome = settle_case(inputs, tmp_path, period=PERIOD, with_decoys=with_decoys)

    assert outcome.verdict(1) == expected


# ------------------------------------------------------------------ several reasons


def _fail_everything(inputs: Inputs, recommended_at: datetime) -> None:
    """Make the first record fail every rule but the product-version and fee rules."""
    inputs.records[0]["confirmed_at"] = None
    # an earlier record outside the period (40 days before: its window ends a month earlier)
    inputs.add_record(0, recommended_at=recommended_at - timedelta(days=40))
    inputs.billing.append(
        {
            "msisdn": MSISDN,
            "product_code": PRODUCT,
            "month": date(2025, 12, 1),
            "billed_amount": FEE,
        }
    )
    inputs.subscribers[0].update(status="closed", in_arrears=True)
    inputs.usage_daily.clear()
    inputs.product_changes.append(
        {
            "msisdn": MSISDN,
            "product_code": PRODUCT,
            "changed_at": recommended_at + timedelta(days=1),
            "change_type": "modify",
        }
    )
    inputs.rebate_history.append(
        {
            "msisdn": MSISDN,
            "product_code": PRODUCT,
            "recommended_at": recommended_at - timedelta(days=30),
        }
    )
    inputs.complaints.append(
        {
            "msisdn": MSISDN,
            "product_code": PRODUCT,
            "complained_at": recommended_at + timedelta(days=2),
            "kind": "forced_subscription",
            "upheld": True,
        }
    )


def test_every_failing_reason_in_the_contract_order(tmp_path):
    # given: everything fails, the window billed only below the fee
    inputs = passing_inputs(recommended_at=REC, record_id=1)
    _fail_everything(inputs, REC)
    inputs.billing[:] = [
        row for row in inputs.billing if row["month"] < date(2026, 1, 1)
    ] + _billing([(date(2026, 2, 1), Decimal("1.00"), PRODUCT)])

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == failed(
        ",".join(code for code in REASON_CODES if code not in {"unknown_product", "not_billed"})
    )
    assert outcome.summary["reasons"]["discounted_price"] == 1


def test_every_reason_of_an_unknown_product(tmp_path):
    inputs = passing_inputs(recommended_at=REC, record_id=1)
    _fail_everything(inputs, REC)
    inputs.products[0]["effective_from"] = date(2026, 1, 16)
    inputs.billing[:] = [row for row in inputs.billing if row["month"] < date(2026, 1, 1)]

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == failed(
        ",".join(c for c in REASON_CODES if c not in {"not_billed", "discounted_price"})
    )


def test_not_billed_with_other_reasons(tmp_path):
    inputs = passing_inputs(recommended_at=REC)
    inputs.records[0]["confirmed_at"] = None
    inputs.subscribers[0]["in_arrears"] = True
    inputs.billing.clear()

    outcome = settle(inputs, tmp_path, period=PERIOD)

    assert outcome.verdict(1) == failed("unconfirmed,in_arrears,not_billed")
    assert outcome.summary["reasons"] == {
        code: int(code in {"unconfirmed", "in_arrears", "not_billed"}) for code in REASON_CODES
    }


# ------------------------------------------------------------------ clawbacks

PAID_AT = datetime(2025, 9, 15, 10, 0, 0)  # + 6 months = 2026-03-15 10:00


def _paid(
    record_id=900,
    *,
    recommended_at=PAID_AT,
    amount=Decimal("4.00"),
    promoter_id=PROMOTER,
    product_code=PRODUCT,
    msisdn=MSISDN,
):
    return {
        "record_id": record_id,
        "promoter_id": promoter_id,
        "msisdn": msisdn,
        "product_code": product_code,
        "recommended_at": recommended_at,
        "amount": amount,
    }


def _complaint(at, *, kind="forced_subscription", upheld=True, product_code=PRODUCT, msisdn=MSISDN):
    return {
        "msisdn": msisdn,
        "product_code": product_code,
        "complained_at": at,
        "kind": kind,
        "upheld": upheld,
    }


@pytest.mark.parametrize(
    ("_case", "paid_at", "complaints", "complained_at"),
    [
        (
            "in P, inside 6 months",
            PAID_AT,
            [_complaint(datetime(2026, 3, 1, 0, 0, 0))],
            datetime(2026, 3, 1, 0, 0, 0),
        ),
        (
            "6 months - 1 s",
            PAID_AT,
            [_complaint(datetime(2026, 3, 15, 9, 59, 59))],
            datetime(2026, 3, 15, 9, 59, 59),
        ),
        ("at 6 months (exclusive)", PAID_AT, [_complaint(datetime(2026, 3, 15, 10, 0, 0))], None),
        (
            "at the paid record's recommended_at",
            datetime(2026, 3, 20, 8, 0),
            [_complaint(datetime(2026, 3, 20, 8, 0))],
            datetime(2026, 3, 20, 8, 0),
        ),
        (
            "1 s before the paid record's recommended_at",
            datetime(2026, 3, 20, 8, 0),
            [_complaint(datetime(2026, 3, 20, 7, 59, 59))],
            None,
        ),
        (
            "complaint in the month before P",
            PAID_AT,
            [_complaint(datetime(2026, 2, 28, 23, 59, 59))],
            None,
        ),
        (
            "complaint in the month after P",
            PAID_AT,
            [_complaint(datetime(2026, 4, 1, 0, 0, 0))],
            None,
        ),
        ("not upheld", PAID_AT, [_complaint(datetime(2026, 3, 2), upheld=False)], None),
        ("other kind", PAID_AT, [_complaint(datetime(2026, 3, 2), kind="other")], None),
        ("other product", PAID_AT, [_complaint(datetime(2026, 3, 2), product_code="OTHER")], None),
        (
            "two complaints: one clawback at the earliest",
            PAID_AT,
            [
                _complaint(datetime(2026, 3, 9)),
                _complaint(datetime(2026, 3, 2)),
                _complaint(datetime(2026, 2, 2)),
            ],
            datetime(2026, 3, 2),
        ),
    ],
)
def test_clawbacks(tmp_path, _case, paid_at, complaints, complained_at):
    inputs = passing_inputs(recommended_at=REC)
    inputs.paid_records.append(_paid(recommended_at=paid_at))
    inputs.complaints.extend(complaints)

    outcome = settle(inputs, tmp_path, period=PERIOD)

    expected = (
        []
        if complained_at is None
        else [
            {
                "record_id": 900,
                "promoter_id": PROMOTER,
                "msisdn": MSISDN,
                "product_code": PRODUCT,
                "complained_at": complained_at,
                "amount": Decimal("-4.00"),
            }
        ]
    )
    assert outcome.clawbacks == expected
    assert outcome.summary["clawback_amount"] == ("0.00" if complained_at is None else "-4.00")


# ------------------------------------------------------------------ statements and summary


def test_statements_net_payable_and_carry_forward(tmp_path):
    # given: P-001 earns 4.00 and loses 10.50; P-002 earns 4.00 and loses 1.00;
    # P-003 only loses 2.00; P-004 has one failing record
    inputs = passing_inputs(recommended_at=REC, record_id=1)
    for record_id, promoter, msisdn in ((2, "P-002", MSISDN + 1), (3, "P-004", MSISDN + 2)):
        record = inputs.add_record(
            record_id, recommended_at=REC, promoter_id=promoter, msisdn=msisdn
        )
        inputs.add_support(record)
    inputs.records[2]["confirmed_at"] = None
    other = MSISDN + 50
    inputs.paid_records.extend(
        [
            _paid(901, amount=Decimal("10.50"), msisdn=other),
            _paid(902, amount=Decimal("1.00"), promoter_id="P-002", msisdn=other),
            _paid(903, amount=Decimal("2.00"), promoter_id="P-003", msisdn=other),
        ]
    )
    inputs.complaints.append(_complaint(datetime(2026, 3, 3), msisdn=other))

    outcome = settle(inputs, tmp_path, period=PERIOD)

    zero = Decimal("0.00")
    assert outcome.statements == [
        {
            "promoter_id": "P-001",
            "records": 1,
            "qualified": 1,
            "gross_amount": Decimal("4.00"),
            "clawback_amount": Decimal("-10.50"),
            "net_amount": Decimal("-6.50"),
            "payable_amount": zero,
            "carry_forward": Decimal("-6.50"),
        },
        {
            "promoter_id": "P-002",
            "records": 1,
            "qualified": 1,
            "gross_amount": Decimal("4.00"),
            "clawback_amount": Decimal("-1.00"),
            "net_amount": Decimal("3.00"),
            "payable_amount": Decimal("3.00"),
            "carry_forward": zero,
        },
        {
            "promoter_id": "P-003",
            "records": 0,
            "qualified": 0,
            "gross_amount": zero,
            "clawback_amount": Decimal("-2.00"),
            "net_amount": Decimal("-2.00"),
            "payable_amount": zero,
            "carry_forward": Decimal("-2.00"),
        },
        {
            "promoter_id": "P-004",
            "records": 1,
            "qualified": 0,
            "gross_amount": zero,
            "clawback_amount": zero,
            "net_amount": zero,
            "payable_amount": zero,
            "carry_forward": zero,
        },
    ]
    summary = outcome.summary
    assert (summary["records"], summary["qualified"], summary["not_in_period"]) == (3, 2, 0)
    assert summary["gross_amount"] == "8.00"
    assert summary["clawback_amount"] == "-13.50"
    assert summary["net_amount"] == "-5.50"
    assert summary["reasons"]["unconfirmed"] == 1
