"""Registrations of the credit concern ``resources`` (menu, workflows, events, imports)."""
