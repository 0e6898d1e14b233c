"""A naive per-record Django ORM settlement: the baseline of ``bench/settlement.py``.

The same R4 rules as ``prm.incentives.engine`` (``shared/contracts/settlement-files.md``),
written independently the way a straightforward Django implementation would: load the
extracts into models, then for each development record query its product version,
subscriber, usage, billing, changes, rebates and complaints, and save a verdict. Only
the benchmark uses it (``python -m bench.settlement_orm``); it is not part of PRM.
"""
