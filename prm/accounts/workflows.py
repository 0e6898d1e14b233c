"""Workflow definitions owned by the accounts app (filled in with the account request)."""
