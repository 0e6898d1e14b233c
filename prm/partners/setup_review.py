"""Registrations (menu, workflows, attachment owners, notification events) of this concern."""
