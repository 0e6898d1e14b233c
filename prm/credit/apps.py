from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Each concern registers its menu entries, workflows, attachment owners, import specs and
# notification events in its own setup module (ADR 0012).
SETUP_MODULES = (
    "setup_rawdata",
    "setup_rules",
    "setup_evaluations",
    "setup_standing",
    "setup_resources",
    "setup_reviews",
    "setup_exits",
    "home",
)


class CreditConfig(AppConfig):
    name = "prm.credit"
    label = "credit"
    verbose_name = _("Partner credit")

    def ready(self) -> None:
        from importlib import import_module

        for module in SETUP_MODULES:
            import_module(f"{self.name}.{module}")
