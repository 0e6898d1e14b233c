from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from prm.accounts.demo import demo_data_load, demo_logins


class Command(BaseCommand):
    help = "Load the deterministic demo data set and print the demo logins."

    def handle(self, *args, **options):
        loaded = demo_data_load()
        self.stdout.write(_("Demo data loaded.") if loaded else _("Demo data was already loaded."))
        self.stdout.write(_("Demo logins (username / password / role):"))
        for username, password, roles in demo_logins():
            self.stdout.write(f"  {username:<12} {password}  {roles}")
