from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

SETUP_MODULES = ("setup_announcements", "setup_cases", "home")


class PortalConfig(AppConfig):
    name = "prm.portal"
    label = "portal"
    verbose_name = _("Partner portal")

    def ready(self) -> None:
        from importlib import import_module

        for module in SETUP_MODULES:
            import_module(f"{self.name}.{module}")
