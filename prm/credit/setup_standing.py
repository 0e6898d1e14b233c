"""Registrations of the credit concern ``standing`` (menu, events)."""
