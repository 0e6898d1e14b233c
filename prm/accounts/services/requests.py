"""Accounts services: requests (see the package docstring)."""
