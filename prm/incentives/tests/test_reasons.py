"""The settlement's reason codes in words (R4 rebate rules and audits): every code of the
contract has a label and a rule; ``verdict_explain`` states each reason of a record with
its window, months and fee."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from prm.incentives.reasons import (
    REASON_CODES,
    REASONS,
    reason_codes_of,
    reason_label,
    reason_rule,
    verdict_explain,
    window_months,
    window_of,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
RECOMMENDED_AT = datetime(2026, 1, 15, 10, 0, tzinfo=SHANGHAI)
RECORD = {
    "recommended_at": RECOMMENDED_AT,
    "confirmed_at": None,
    "monthly_fee": Decimal("5.00"),
    "product": "CRBT",
}


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"


def test_every_code_of_the_contract_has_its_words_in_its_order():
    assert list(REASONS) == list(REASON_CODES)
    assert REASON_CODES[0] == "unknown_product" and REASON_CODES[-1] == "upheld_complaint"
    assert len(REASON_CODES) == 12


@pytest.mark.parametrize("code", REASON_CODES)
def test_every_code_has_a_label_and_a_rule_in_words(code):
    assert reason_label(code) and reason_label(code) != code
    assert reason_rule(code).endswith(".") and len(reason_rule(code)) > 30


def test_labels_of_qualified_and_of_an_unknown_code():
    assert reason_label("qualified") == "Qualified"
    assert reason_label("no_such_code") == "no_such_code"
    assert reason_rule("no_such_code") == "Unknown reason no_such_code."


@pytest.mark.parametrize(
    ("_case", "code", "expected"),
    [
        (
            "unknown_product",
            "unknown_product",
            "No rebate rule of product CRBT applied on 2026-01-15, the day of the recommendation.",
        ),
        (
            "unconfirmed_never",
            "unconfirmed",
            "The subscriber never confirmed the recommendation (window 2026-01-15 to 2026-03-15).",
        ),
        (
            "duplicate",
            "duplicate",
            "Another record of the same number and product came first, on or after 2025-10-01.",
        ),
        (
            "prior_same_product",
            "prior_same_product",
            "The number was already billed for the product in 2025-10 … 2025-12, the 3 months "
            "before the month of the recommendation.",
        ),
        (
            "not_active_before",
            "not_active_before",
            "The number was not an active subscriber before 2026-01-15 (unknown, activated on "
            "or after that day, or closed).",
        ),
        (
            "no_voice_in_window",
            "no_voice_in_window",
            "The number made no voice call from 2026-01-15 to 2026-03-15.",
        ),
        (
            "product_changed_in_window",
            "product_changed_in_window",
            "The product was unsubscribed or changed between 2026-01-15 and 2026-03-15.",
        ),
        (
            "rebated_in_last_6_months",
            "rebated_in_last_6_months",
            "A rebate was already paid for this number and product for a recommendation from "
            "2025-07-15 on (the 6 months before 2026-01-15).",
        ),
        ("in_arrears", "in_arrears", "The subscriber was in arrears at settlement time."),
        (
            "not_billed",
            "not_billed",
            "The product (monthly fee 5.00) was not billed in 2026-01 … 2026-03.",
        ),
        (
            "discounted_price",
            "discounted_price",
            "The product was billed below its monthly fee of 5.00 in every month of 2026-01 … "
            "2026-03 (a discounted package).",
        ),
        (
            "upheld_complaint",
            "upheld_complaint",
            "The subscriber's forced-subscription complaint about the product, made on or "
            "after 2026-01-15, was upheld.",
        ),
    ],
)
def test_each_reason_in_words_about_the_record(_case, code, expected):
    assert verdict_explain(code, RECORD) == [expected]


def test_the_table_above_covers_every_code():
    explained = {code: verdict_explain(code, RECORD)[0] for code in REASON_CODES}
    assert all(text != reason_rule(code) for code, text in explained.items())


def test_a_confirmation_outside_the_window_is_named():
    record = {**RECORD, "confirmed_at": datetime(2026, 3, 20, 9, 0, tzinfo=SHANGHAI)}

    assert verdict_explain("unconfirmed", record) == [
        "The subscriber confirmed on 2026-03-20, outside the window 2026-01-15 to 2026-03-15."
    ]


def test_several_reasons_give_one_sentence_each_in_order():
    sentences = verdict_explain("not_active_before,in_arrears", RECORD)

    assert len(sentences) == 2
    assert sentences[0].startswith("The number was not an active subscriber")
    assert sentences[1] == "The subscriber was in arrears at settlement time."


def test_a_qualified_record_says_so():
    assert verdict_explain("", RECORD) == ["All rules were met: the record earned its rebate."]


def test_without_the_records_facts_the_rule_is_given():
    assert verdict_explain("not_billed,in_arrears", {}) == [
        reason_rule("not_billed"),
        reason_rule("in_arrears"),
    ]
    # No fee known: the fee sentence falls back to the rule.
    assert verdict_explain("not_billed", {**RECORD, "monthly_fee": None}) == [
        reason_rule("not_billed")
    ]


def test_reason_codes_of_the_reasons_column():
    assert reason_codes_of("") == []
    assert reason_codes_of(None) == []
    assert reason_codes_of("duplicate,in_arrears") == ["duplicate", "in_arrears"]


@pytest.mark.parametrize(
    ("_case", "recommended_at", "end", "months"),
    [
        # Clamped to the last day of a shorter month, time of day kept.
        (
            "clamped",
            datetime(2025, 12, 31, 10, 0, tzinfo=SHANGHAI),
            datetime(2026, 2, 28, 10, 0, tzinfo=SHANGHAI),
            ("2025-12", "2026-02"),
        ),
        # Midnight on the 1st: the window's last second is in February.
        (
            "midnight_first",
            datetime(2026, 1, 1, 0, 0, tzinfo=SHANGHAI),
            datetime(2026, 3, 1, 0, 0, tzinfo=SHANGHAI),
            ("2026-01", "2026-02"),
        ),
        # One second later: the window's last day is 1 March.
        (
            "one_second_later",
            datetime(2026, 1, 1, 0, 0, 1, tzinfo=SHANGHAI),
            datetime(2026, 3, 1, 0, 0, 1, tzinfo=SHANGHAI),
            ("2026-01", "2026-03"),
        ),
        (
            "year_end",
            datetime(2025, 11, 30, 23, 0, tzinfo=SHANGHAI),
            datetime(2026, 1, 30, 23, 0, tzinfo=SHANGHAI),
            ("2025-11", "2026-01"),
        ),
    ],
)
def test_window_boundaries(_case, recommended_at, end, months):
    start, window_end = window_of(recommended_at)

    assert (start, window_end) == (recommended_at, end)
    assert window_months(recommended_at) == months


def test_utc_times_are_read_in_local_time():
    # 2026-01-31 17:00 UTC is 1 February 01:00 in Shanghai.
    recommended_at = datetime(2026, 1, 31, 17, 0, tzinfo=ZoneInfo("UTC"))

    assert window_months(recommended_at) == ("2026-02", "2026-04")
    assert verdict_explain("in_arrears,not_active_before", {"recommended_at": recommended_at})[
        1
    ].startswith("The number was not an active subscriber before 2026-02-01")
