from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Each concern registers its menu entries, workflow definitions, attachment owners and
# notification events in its own setup module.
SETUP_MODULES = (
    "setup_registration",
    "setup_review",
    "setup_profile",
    "setup_agreements",
    "home",
)


class PartnersConfig(AppConfig):
    name = "prm.partners"
    label = "partners"
    verbose_name = _("Partners")

    def ready(self) -> None:
        from importlib import import_module

        for module in SETUP_MODULES:
            import_module(f"{self.name}.{module}")
