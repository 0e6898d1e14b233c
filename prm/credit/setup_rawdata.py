"""Registrations of the credit concern ``rawdata`` (menu, workflows, events, imports)."""
