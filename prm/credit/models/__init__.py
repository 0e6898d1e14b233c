"""Partner credit and tiering (R3): raw data, rule sets, evaluations, entitlements,
marketing resources, business reviews and exit checks."""

from prm.credit.models._fields import BusinessLine, Degree, Tier
from prm.credit.models.evaluation import (
    CreditPointResult,
    Evaluation,
    PartnerCredit,
    TierChange,
    TierResult,
)
from prm.credit.models.exits import ExitCheck, ExitProposal
from prm.credit.models.rawdata import (
    ComplaintRecord,
    CreditImport,
    RevenueRecord,
    UnpaidItem,
    Violation,
)
from prm.credit.models.resources import (
    ResourceAllocation,
    ResourceCall,
    ResourceKind,
    ResourcePlan,
    ResourceRequest,
)
from prm.credit.models.reviews import BusinessReview
from prm.credit.models.rules import RuleSet, TierEntitlement

__all__ = [
    "BusinessLine",
    "BusinessReview",
    "ComplaintRecord",
    "CreditImport",
    "CreditPointResult",
    "Degree",
    "Evaluation",
    "ExitCheck",
    "ExitProposal",
    "PartnerCredit",
    "ResourceAllocation",
    "ResourceCall",
    "ResourceKind",
    "ResourcePlan",
    "ResourceRequest",
    "RevenueRecord",
    "RuleSet",
    "Tier",
    "TierChange",
    "TierEntitlement",
    "TierResult",
    "UnpaidItem",
    "Violation",
]
