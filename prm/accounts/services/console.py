"""Accounts services: console (see the package docstring)."""
