"""Writes of the partners app, one module per concern:

- ``registration``: applicant accounts, the application form, documents, submission,
  categories sync, the anonymous progress query, the USCC blacklist check
- ``review``: the review workflow, expert pool, panel draws and scores, decision,
  introduction sources
- ``profile``: profile history, change requests, qualifications and their expiry
- ``agreements``: agreements, business codes, exit and the blacklist
"""
