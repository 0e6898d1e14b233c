"""Rule set version 1 (the defaults of ``shared/contracts/credit-files.md``) and the
default tier entitlements. The values are written out here, frozen: a later change of
the engine's defaults must not change what version 1 was."""

from django.db import migrations
from django.utils import timezone

RULES_V1 = {
    "version": 1,
    "base_points": "100",
    "violation_deductions": {"minor": "5", "ordinary": "10", "serious": "20", "very_serious": "40"},
    "resources_multiplier": "2",
    "unpaid_deduction": "5",
    "complaint_rate_limit": "5",
    "complaint_deduction": "10",
    "pass_line": "60",
    "disqualification_quarters": 2,
    "users_weight": "50",
    "fee_weight": "50",
    "cutoff_a": "0.10",
    "cutoff_b": "0.30",
    "cutoff_c": "0.60",
    "exit_totals": {"SMS/MMS": "2000", "WAP": "1000", "IVR": "1000", "CRBT": "6000"},
    "exit_singles": {"SMS/MMS": "200", "WAP": "100", "IVR": "100", "CRBT": None},
    "exit_complaint_months": 3,
    "exit_complaint_window": 6,
}

# tier: (may apply for marketing resources, maximum business codes, review shortcut)
ENTITLEMENTS = {
    "A": (True, 20, True),
    "B": (True, 15, True),
    "C": (True, 10, False),
    "ordinary": (False, 5, False),
    "insufficient_credit": (False, 3, False),
}


def forwards(apps, schema_editor):
    RuleSet = apps.get_model("credit", "RuleSet")
    TierEntitlement = apps.get_model("credit", "TierEntitlement")
    RuleSet.objects.get_or_create(
        version=1,
        defaults={
            "effective_from": "2000Q1",
            "params": RULES_V1,
            "status": "published",
            "note": "Defaults of the R3 rules (SP tiering rules, seed 003).",
            "published_at": timezone.now(),
        },
    )
    for tier, (resources, codes, shortcut) in ENTITLEMENTS.items():
        TierEntitlement.objects.get_or_create(
            tier=tier,
            defaults={
                "may_apply_resources": resources,
                "max_business_codes": codes,
                "review_shortcut": shortcut,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("credit", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
