"""The settlement's failing reasons in words (R4 rebate rules 1-6 and the audits).

Each reason code of the settlement contract (``shared/contracts/settlement-files.md``,
"Rules") has a translated label and a sentence stating the rule; ``verdict_explain``
turns a verdict's ``reasons`` into sentences about that record (its window, its months,
its product's fee), so that a promoter or a channel manager reads why a record earned
nothing without knowing the codes.

The window arithmetic mirrors the contract: the observation window is
``[recommended_at, recommended_at + 2 calendar months)`` (a missing day of month is
clamped to the month's last day, the time of day kept); the "months of the window" run
from the month of ``recommended_at`` to the month of the window's last day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# The codes in the contract's order (the order the engine joins them in ``reasons``).
from prm.incentives.engine import REASON_CODES  # noqa: F401  (re-exported for the pages)

# The pseudo-reason of the records that earned their rebate (analysis totals).
QUALIFIED = "qualified"


@dataclass(frozen=True)
class Reason:
    code: str
    label: str
    rule: str


REASONS: dict[str, Reason] = {
    reason.code: reason
    for reason in (
        Reason(
            "unknown_product",
            _("Unknown product"),
            _("No rebate rule of the product applied on the day of the recommendation."),
        ),
        Reason(
            "unconfirmed",
            _("Not confirmed"),
            _("The subscriber did not confirm the recommendation within the two-month window."),
        ),
        Reason(
            "duplicate",
            _("Duplicate record"),
            _(
                "Another record of the same number and product came first, from the first "
                "day of the third month before the month of the recommendation on."
            ),
        ),
        Reason(
            "prior_same_product",
            _("Same product in the previous 3 months"),
            _(
                "The number was already billed for the product in one of the 3 months before "
                "the month of the recommendation."
            ),
        ),
        Reason(
            "not_active_before",
            _("Not an active subscriber before"),
            _(
                "The number was not an active subscriber before the day of the "
                "recommendation (unknown, activated on or after that day, or closed)."
            ),
        ),
        Reason(
            "no_voice_in_window",
            _("No voice calls in the window"),
            _("The number made no voice call within two months after the recommendation."),
        ),
        Reason(
            "product_changed_in_window",
            _("Product changed in the window"),
            _(
                "The recommended product was unsubscribed or changed within two months after "
                "the recommendation."
            ),
        ),
        Reason(
            "rebated_in_last_6_months",
            _("Rebated in the last 6 months"),
            _(
                "A rebate was already paid for the same number and product for a "
                "recommendation in the 6 months before this one."
            ),
        ),
        Reason(
            "in_arrears",
            _("In arrears"),
            _("The subscriber was in arrears when the settlement was made."),
        ),
        Reason(
            "not_billed",
            _("Not billed"),
            _("The product has a monthly fee but was not billed in the months of the window."),
        ),
        Reason(
            "discounted_price",
            _("Billed at a discount"),
            _(
                "The product was billed in the months of the window, but never at its full "
                "monthly fee (a discounted package)."
            ),
        ),
        Reason(
            "upheld_complaint",
            _("Upheld complaint"),
            _(
                "The subscriber made a forced-subscription complaint about the product after "
                "the recommendation, and it was upheld."
            ),
        ),
    )
}


def reason_label(code: str) -> str:
    """The translated label of a reason code (or of ``qualified``); unknown codes as is."""
    if code == QUALIFIED:
        return gettext("Qualified")
    reason = REASONS.get(code)
    return str(reason.label) if reason else code


def reason_rule(code: str) -> str:
    """The rule behind a reason code, in words."""
    reason = REASONS.get(code)
    return str(reason.rule) if reason else gettext("Unknown reason %(code)s.") % {"code": code}


def reason_codes_of(reasons: str | None) -> list[str]:
    """The codes of a verdict's ``reasons`` column ("" when the record qualified)."""
    return [code for code in (reasons or "").split(",") if code]


# --- Window arithmetic ------------------------------------------------------------------


def _add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _month_start(day: date, months: int = 0) -> date:
    month_index = day.month - 1 + months
    return date(day.year + month_index // 12, month_index % 12 + 1, 1)


def window_of(recommended_at: datetime) -> tuple[datetime, datetime]:
    """The observation window ``[start, end)`` of a record, in local time."""
    start = (
        timezone.localtime(recommended_at)
        if timezone.is_aware(recommended_at)
        else (recommended_at)
    )
    return start, _add_months(start, 2)


def window_months(recommended_at: datetime) -> tuple[str, str]:
    """The first and last month (``YYYY-MM``) of a record's window."""
    start, end = window_of(recommended_at)
    last_day = (end - timedelta(seconds=1)).date()
    return start.strftime("%Y-%m"), last_day.strftime("%Y-%m")


def window_last_day(recommended_at: datetime) -> date:
    start, end = window_of(recommended_at)
    return (end - timedelta(seconds=1)).date()


def _day(value: datetime | date) -> str:
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.isoformat()


def _money(value) -> str:
    return f"{Decimal(value):.2f}"


def verdict_explain(reasons: str | None, record: dict) -> list[str]:
    """One sentence per failing reason of a verdict, about this record.

    ``record`` may hold ``recommended_at`` (aware datetime), ``confirmed_at``,
    ``monthly_fee`` (Decimal) and ``product`` (a display name or code); a sentence whose
    facts are missing falls back to the rule in words. A qualified record (no reasons)
    gets one sentence saying so.
    """
    codes = reason_codes_of(reasons)
    if not codes:
        return [gettext("All rules were met: the record earned its rebate.")]
    recommended_at = record.get("recommended_at")
    if recommended_at is None:
        return [reason_rule(code) for code in codes]
    start, end = window_of(recommended_at)
    first_month, last_month = window_months(recommended_at)
    window = {
        "start": _day(start),
        "last": _day(window_last_day(recommended_at)),
        "first_month": first_month,
        "last_month": last_month,
    }
    day = _day(start)
    fee = record.get("monthly_fee")
    product = record.get("product") or ""
    sentences = []
    for code in codes:
        if code == "unknown_product":
            text = gettext(
                "No rebate rule of product %(product)s applied on %(day)s, the day of the "
                "recommendation."
            ) % {"product": product, "day": day}
        elif code == "unconfirmed":
            confirmed_at = record.get("confirmed_at")
            if confirmed_at is None:
                text = (
                    gettext(
                        "The subscriber never confirmed the recommendation (window %(start)s to "
                        "%(last)s)."
                    )
                    % window
                )
            else:
                text = gettext(
                    "The subscriber confirmed on %(confirmed)s, outside the window %(start)s "
                    "to %(last)s."
                ) % {**window, "confirmed": _day(confirmed_at)}
        elif code == "duplicate":
            text = gettext(
                "Another record of the same number and product came first, on or after %(since)s."
            ) % {"since": _month_start(start.date(), -3).isoformat()}
        elif code == "prior_same_product":
            text = gettext(
                "The number was already billed for the product in %(first)s … %(last)s, the 3 "
                "months before the month of the recommendation."
            ) % {
                "first": _month_start(start.date(), -3).strftime("%Y-%m"),
                "last": _month_start(start.date(), -1).strftime("%Y-%m"),
            }
        elif code == "not_active_before":
            text = gettext(
                "The number was not an active subscriber before %(day)s (unknown, activated on "
                "or after that day, or closed)."
            ) % {"day": day}
        elif code == "no_voice_in_window":
            text = gettext("The number made no voice call from %(start)s to %(last)s.") % window
        elif code == "product_changed_in_window":
            text = (
                gettext("The product was unsubscribed or changed between %(start)s and %(last)s.")
                % window
            )
        elif code == "rebated_in_last_6_months":
            text = gettext(
                "A rebate was already paid for this number and product for a recommendation "
                "from %(since)s on (the 6 months before %(day)s)."
            ) % {"since": _day(_add_months(start, -6)), "day": day}
        elif code == "in_arrears":
            text = gettext("The subscriber was in arrears at settlement time.")
        elif code == "not_billed" and fee is not None:
            text = gettext(
                "The product (monthly fee %(fee)s) was not billed in %(first_month)s … "
                "%(last_month)s."
            ) % {**window, "fee": _money(fee)}
        elif code == "discounted_price" and fee is not None:
            text = gettext(
                "The product was billed below its monthly fee of %(fee)s in every month of "
                "%(first_month)s … %(last_month)s (a discounted package)."
            ) % {**window, "fee": _money(fee)}
        elif code == "upheld_complaint":
            text = gettext(
                "The subscriber's forced-subscription complaint about the product, made on or "
                "after %(day)s, was upheld."
            ) % {"day": day}
        else:
            text = reason_rule(code)
        sentences.append(text)
    return sentences
