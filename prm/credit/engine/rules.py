"""The rule set of the credit engine (contract ``shared/contracts/credit-files.md``).

A :class:`RuleSet` holds every number the R3 rules use; :data:`DEFAULT_RULES` is the
contract's defaults, version 1. The app keeps versions as JSON
(:meth:`RuleSet.to_dict` / :meth:`RuleSet.from_dict`, the ``params`` of
``credit.RuleSet``); the outputs always name the version used. Pure Python: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import Decimal

BUSINESS_LINES = ("sms", "mms", "wap", "ivr", "crbt", "other")
DEGREES = ("minor", "ordinary", "serious", "very_serious")
TIERS = ("A", "B", "C", "ordinary", "insufficient_credit")
# Exit-rule categories: which business lines each groups (contract, exit-check-files).
CATEGORIES = {"SMS/MMS": ("sms", "mms"), "WAP": ("wap",), "IVR": ("ivr",), "CRBT": ("crbt",)}


class RuleSetError(ValueError):
    """A rule set whose values are out of range; ``str()`` is one English line naming
    the parameter."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(message)


def _default_deductions() -> dict[str, Decimal]:
    return {
        "minor": Decimal("5"),
        "ordinary": Decimal("10"),
        "serious": Decimal("20"),
        "very_serious": Decimal("40"),
    }


def _default_exit_totals() -> dict[str, Decimal]:
    return {
        "SMS/MMS": Decimal("2000"),
        "WAP": Decimal("1000"),
        "IVR": Decimal("1000"),
        "CRBT": Decimal("6000"),
    }


def _default_exit_singles() -> dict[str, Decimal | None]:
    return {"SMS/MMS": Decimal("200"), "WAP": Decimal("100"), "IVR": Decimal("100"), "CRBT": None}


@dataclass(frozen=True)
class RuleSet:
    """Every configurable number of the R3 rules (defaults: the contract's)."""

    version: int = 1
    # Credit points per partner per business line.
    base_points: Decimal = Decimal("100")
    violation_deductions: dict[str, Decimal] = field(default_factory=_default_deductions)
    resources_multiplier: Decimal = Decimal("2")
    unpaid_deduction: Decimal = Decimal("5")  # per unpaid item
    complaint_rate_limit: Decimal = Decimal("5")  # complaints per 10,000 users, "> limit"
    complaint_deduction: Decimal = Decimal("10")  # per month over the limit
    # Credit degree and tiers.
    pass_line: Decimal = Decimal("60")
    disqualification_quarters: int = 2  # the quarter of the violation and the next one
    users_weight: Decimal = Decimal("50")
    fee_weight: Decimal = Decimal("50")
    cutoff_a: Decimal = Decimal("0.10")  # cumulative shares of the eligible partners
    cutoff_b: Decimal = Decimal("0.30")
    cutoff_c: Decimal = Decimal("0.60")
    # Monthly exit check.
    exit_totals: dict[str, Decimal] = field(default_factory=_default_exit_totals)
    exit_singles: dict[str, Decimal | None] = field(default_factory=_default_exit_singles)
    exit_complaint_months: int = 3  # months over the limit …
    exit_complaint_window: int = 6  # … among this many months ending with M

    def to_dict(self) -> dict:
        """JSON-ready: decimals as strings, keys in a fixed order."""

        def plain(value):
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dict):
                return {key: plain(item) for key, item in value.items()}
            return value

        return {item.name: plain(getattr(self, item.name)) for item in fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> RuleSet:
        """Build and validate a rule set from :meth:`to_dict`'s form; missing keys take
        the defaults. Raises :class:`RuleSetError` on a bad value."""
        known = {item.name: item for item in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise RuleSetError(f"unknown rule parameter {unknown[0]}", parameter=unknown[0])
        values: dict = {}
        defaults = cls()
        for name in known:
            if name not in data:
                continue
            raw = data[name]
            default = getattr(defaults, name)
            try:
                if isinstance(default, dict):
                    if not isinstance(raw, dict) or set(raw) != set(default):
                        raise RuleSetError(
                            f"{name} must give exactly {', '.join(default)}", parameter=name
                        )
                    values[name] = {
                        key: None if raw[key] is None else Decimal(str(raw[key])) for key in default
                    }
                elif isinstance(default, int) and not isinstance(default, bool):
                    if isinstance(raw, bool) or int(raw) != Decimal(str(raw)):
                        raise RuleSetError(f"{name} must be a whole number", parameter=name)
                    values[name] = int(raw)
                else:
                    values[name] = Decimal(str(raw))
            except (ArithmeticError, TypeError, ValueError) as error:
                if isinstance(error, RuleSetError):
                    raise
                raise RuleSetError(f"{name} is not a number", parameter=name) from None
        rules = cls(**values)
        rules.validate()
        return rules

    def validate(self) -> None:
        """Raise :class:`RuleSetError` unless every value is in range."""

        def check(ok: bool, name: str, message: str) -> None:
            if not ok:
                raise RuleSetError(f"{name} {message}", parameter=name)

        check(self.version >= 1, "version", "must be 1 or more")
        for name in (
            "base_points",
            "resources_multiplier",
            "unpaid_deduction",
            "complaint_rate_limit",
            "complaint_deduction",
            "pass_line",
            "users_weight",
            "fee_weight",
        ):
            value = getattr(self, name)
            check(value.is_finite() and value >= 0, name, "must be 0 or more")
        check(self.base_points <= 1000, "base_points", "must be at most 1000")
        check(self.pass_line <= self.base_points, "pass_line", "must not exceed base_points")
        check(self.resources_multiplier >= 1, "resources_multiplier", "must be 1 or more")
        for degree, value in self.violation_deductions.items():
            check(
                value.is_finite() and value >= 0,
                "violation_deductions",
                f"{degree} must be 0 or more",
            )
        check(
            0 < self.cutoff_a <= self.cutoff_b <= self.cutoff_c <= 1,
            "cutoff_a",
            "and cutoff_b, cutoff_c must satisfy 0 < A <= B <= C <= 1",
        )
        check(
            self.users_weight + self.fee_weight > 0,
            "users_weight",
            "plus fee_weight must be above 0",
        )
        check(self.disqualification_quarters >= 0, "disqualification_quarters", "must be 0 or more")
        for category, value in self.exit_totals.items():
            check(
                value is not None and value.is_finite() and value >= 0,
                "exit_totals",
                f"{category} must be 0 or more",
            )
        for category, value in self.exit_singles.items():
            check(
                value is None or (value.is_finite() and value >= 0),
                "exit_singles",
                f"{category} must be empty or 0 or more",
            )
        check(
            1 <= self.exit_complaint_months <= self.exit_complaint_window <= 24,
            "exit_complaint_months",
            "must be 1 or more and at most exit_complaint_window (at most 24)",
        )


DEFAULT_RULES = RuleSet()
