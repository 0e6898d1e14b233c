"""Filled by the TMF work: turns partner/agreement/party-role changes into hub events."""
