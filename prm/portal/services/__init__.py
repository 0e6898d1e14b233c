"""Writes of the portal app:

- ``announcements``: announcements, receipts, replies; public notices; knowledge base
- ``cases``: breach investigations (``violation_determined``), inquiries
"""
