"""Registrations of the credit concern ``reviews`` (menu, workflows, events, imports)."""
