"""Names shared by the credit concerns (menu section, workflow codes, notification
events)."""

from django.utils.translation import gettext_lazy as _

# The menu section every credit page is listed under.
CREDIT_SECTION = _("Partner credit")

EVALUATION_WORKFLOW = "credit_evaluation"  # review → publish a quarterly evaluation
RESOURCE_PLAN_WORKFLOW = "credit_resource_plan"  # review of a marketing plan

# Notification events.
EVENT_EVALUATION_COMPUTED = "credit.evaluation_computed"
EVENT_EVALUATION_FAILED = "credit.evaluation_failed"
EVENT_EVALUATION_PUBLISHED = "credit.evaluation_published"  # to each partner: its own tier
EVENT_DATA_MISSING = "credit.data_missing"  # by the 25th: raw data of the quarter missing
EVENT_TIER_CHANGED = "credit.tier_changed"  # fine-tuning / revocation, to the partner
EVENT_RESOURCES_REVOKED = "credit.resources_revoked"
EVENT_RESOURCE_CALL = "credit.resource_call"  # a call for plans, to entitled partners
EVENT_PLAN_DECIDED = "credit.plan_decided"
EVENT_REVIEW_DECIDED = "credit.review_decided"
EVENT_EXIT_PROPOSALS = "credit.exit_proposals"  # to staff: proposals to decide
EVENT_EXIT_CONFIRMED = "credit.exit_confirmed"  # to the partner
