"""Registrations of the credit concern ``rules`` (menu, workflows, events, imports)."""
