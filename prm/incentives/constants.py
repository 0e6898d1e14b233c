"""Names shared by the incentive concerns (workflow codes, notification events)."""

PROMOTER_WORKFLOW = "incentives_promoter"
SETTLEMENT_WORKFLOW = "incentives_settlement"

# Notification events.
EVENT_PROMOTER_APPROVED = "incentives.promoter_approved"
EVENT_PROMOTER_REJECTED = "incentives.promoter_rejected"
EVENT_RUN_COMPUTED = "incentives.run_computed"
EVENT_RUN_FAILED = "incentives.run_failed"
EVENT_RUN_APPROVED = "incentives.run_approved"
EVENT_CONFIRMATION_SMS = "incentives.confirmation_sms"
EVENT_RECOMMENDATION_SMS = "incentives.recommendation_sms"
