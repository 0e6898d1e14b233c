"""Names shared by the incentive concerns (menu section, workflow codes, notification
events)."""

from django.utils.translation import gettext_lazy as _

# The menu section every incentive page is listed under.
INCENTIVES_SECTION = _("Channel incentives")

PROMOTER_WORKFLOW = "incentives_promoter"
SETTLEMENT_WORKFLOW = "incentives_settlement"

# Notification events.
EVENT_PROMOTER_APPROVED = "incentives.promoter_approved"
EVENT_PROMOTER_REJECTED = "incentives.promoter_rejected"
EVENT_RUN_COMPUTED = "incentives.run_computed"
EVENT_RUN_FAILED = "incentives.run_failed"
EVENT_RUN_NOT_STARTED = "incentives.run_not_started"
EVENT_RUN_APPROVED = "incentives.run_approved"
EVENT_CONFIRMATION_SMS = "incentives.confirmation_sms"
EVENT_RECOMMENDATION_SMS = "incentives.recommendation_sms"
