"""``prm reference_load``: load the shipped regions and number segments (idempotent).

Runs the same checks and writes as an uploaded import (all rows valid, or nothing is
written); a second run reports 0 created, 0 updated.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from prm.core.imports import import_file_apply, import_spec_get
from prm.core.reference import NUMBER_SEGMENTS_CSV, REGIONS_CSV


class Command(BaseCommand):
    help = "Load the shipped reference data (regions, number segments); safe to run again."

    def handle(self, *args, **options):
        for kind, path in (("regions", REGIONS_CSV), ("number_segments", NUMBER_SEGMENTS_CSV)):
            spec = import_spec_get(kind)
            result = import_file_apply(spec=spec, data=path.read_bytes(), fmt="csv", actor=None)
            if result.errors:
                lines = [f"row {e['row']} {e['column']}: {e['message']}" for e in result.errors]
                raise CommandError(f"{path.name}: nothing loaded.\n" + "\n".join(lines))
            self.stdout.write(f"{kind}: {result.created} created, {result.updated} updated")
