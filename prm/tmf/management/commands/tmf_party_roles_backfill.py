"""``prm tmf_party_roles_backfill``: give every approved partner its TMF669 party role."""

from django.core.management.base import BaseCommand

from prm.tmf.services import party_roles_backfill


class Command(BaseCommand):
    help = "Create or refresh the TMF party role of every approved partner (safe to rerun)."

    def handle(self, *args, **options):
        count = party_roles_backfill()
        self.stdout.write(f"Party roles in step with {count} partners.")
