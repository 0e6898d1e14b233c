"""Accounts services: auth (see the package docstring)."""
