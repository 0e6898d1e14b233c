"""Registrations (menu, attachment owners, notification events) of this concern."""
