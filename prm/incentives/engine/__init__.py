"""The R4 settlement engine on plain files: pure Python + DuckDB + pyarrow, no Django.

The in-app monthly run, the billing import, the benchmarks (``bench/``) and the
``prm incentives settle-files`` command call this API; keep the names stable.
"""

from .inputs import TABLES, SettlementInputError, table_validate
from .rollup import usage_daily_to_monthly
from .settlement import REASON_CODES, RULE_VERSION, settle_files

__all__ = [
    "REASON_CODES",
    "RULE_VERSION",
    "TABLES",
    "SettlementInputError",
    "settle_files",
    "table_validate",
    "usage_daily_to_monthly",
]
