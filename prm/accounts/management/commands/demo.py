from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from prm.accounts.demo import demo_data_load, demo_logins


class Command(BaseCommand):
    help = "Load the deterministic demo data set and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load the demo users even in production mode (their password is public).",
        )

    def handle(self, *args, **options):
        if settings.PRM_MODE == "production" and not options["allow_production"]:
            raise CommandError(
                _(
                    "Refusing to load demo users with a published password in production "
                    "mode; pass --allow-production if this really is a demonstration system."
                )
            )
        loaded = demo_data_load()
        self.stdout.write(_("Demo data loaded.") if loaded else _("Demo data was already loaded."))
        self.stdout.write(_("Demo logins (username / password / role):"))
        for username, password, roles in demo_logins():
            self.stdout.write(f"  {username:<12} {password}  {roles}")
