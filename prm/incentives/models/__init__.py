"""Channel incentives (R4): channels, promoters, products and rebate versions,
recommendations, billing extracts, settlement runs, statements, payouts, clawbacks."""

from prm.incentives.models.billing import BillingImport, BillingMonth
from prm.incentives.models.channels import Channel, Outlet
from prm.incentives.models.products import Product, RebateVersion
from prm.incentives.models.promoters import Promoter, SeatSync
from prm.incentives.models.recommendations import Recommendation
from prm.incentives.models.settlement import (
    Clawback,
    DevelopmentTarget,
    PaidRecord,
    SettlementAdjustment,
    SettlementRun,
    SettlementStatement,
)

__all__ = [
    "BillingImport",
    "BillingMonth",
    "Channel",
    "Clawback",
    "DevelopmentTarget",
    "Outlet",
    "PaidRecord",
    "Product",
    "Promoter",
    "RebateVersion",
    "Recommendation",
    "SeatSync",
    "SettlementAdjustment",
    "SettlementRun",
    "SettlementStatement",
]
