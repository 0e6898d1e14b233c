"""Names shared by the partners app's concerns."""

# Workflow definition codes (prm.core.workflow).
PARTNER_APPLICATION_WORKFLOW = "partner_application"
CHANGE_REQUEST_WORKFLOW = "partner_change_request"
AGREEMENT_WORKFLOW = "partner_agreement"
EXIT_WORKFLOW = "partner_exit"
