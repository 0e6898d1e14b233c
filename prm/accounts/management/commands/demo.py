from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from prm.accounts.demo import DEMO_PASSWORD, demo_data_load, demo_logins


def _app_demo_modules():
    """Each PRM app's ``demo`` module with a ``demo_load()``, in INSTALLED_APPS order
    (accounts first: the others build on its orgs and users)."""
    for config in apps.get_app_configs():
        if not config.name.startswith("prm.") or config.label == "accounts":
            continue
        name = f"{config.name}.demo"
        if find_spec(name) is not None:
            yield import_module(name)


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
        modules = list(_app_demo_modules())
        for module in modules:
            loaded = module.demo_load() or loaded
        self.stdout.write(_("Demo data loaded.") if loaded else _("Demo data was already loaded."))
        self.stdout.write(_("Demo logins (username / password / role):"))
        for username, password, roles in demo_logins():
            self.stdout.write(f"  {username:<12} {password}  {roles}")
        for module in modules:
            for username, what in getattr(module, "demo_logins", list)():
                self.stdout.write(f"  {username:<12} {DEMO_PASSWORD}  {what}")
