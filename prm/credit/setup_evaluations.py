"""Registrations of the credit concern ``evaluations`` (menu, workflows, events, imports)."""
