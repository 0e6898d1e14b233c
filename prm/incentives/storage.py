"""Where the incentive files live: the billing-extract store (one directory per month)
and the settlement artefacts (one directory per run revision), under
``settings.PRM_INCENTIVES_DIR``.

Layout::

    <root>/billing/<YYYY-MM>/<table>.parquet        imported extracts of the month
    <root>/billing/staging/<import id>/             uploads being validated
    <root>/runs/<run number>/r<revision>/input/     the files the engine read
    <root>/runs/<run number>/r<revision>/out/       verdicts, clawbacks, statements,
                                                    summary.json, promoters.parquet
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.conf import settings


def incentives_root() -> Path:
    root = Path(settings.PRM_INCENTIVES_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return root


def billing_month_dir(month: date) -> Path:
    """The store directory of a billing month (not created)."""
    return incentives_root() / "billing" / month.strftime("%Y-%m")


def billing_staging_dir(import_id: int) -> Path:
    return incentives_root() / "billing" / "staging" / str(import_id)


def run_dir(*, number: str, revision: int) -> Path:
    """The directory of one revision of a settlement run (not created)."""
    return incentives_root() / "runs" / number / f"r{revision}"


# The billing-system extracts a month holds (tables of the settlement contract that come
# from billing rather than from PRM's own records). usage_daily is rolled up to
# usage_monthly at import.
BILLING_TABLES = ("subscribers", "usage_monthly", "product_changes", "billing", "complaints")
