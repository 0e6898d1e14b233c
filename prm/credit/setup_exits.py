"""Registrations of the credit concern ``exits`` (menu, workflows, events, imports)."""
