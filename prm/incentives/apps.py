from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Each concern registers its menu entries, workflows, attachment owners, import specs and
# notification events in its own setup module (ADR 0012).
SETUP_MODULES = (
    "setup_channels",
    "setup_promoters",
    "setup_products",
    "setup_recommendations",
    "setup_billing",
    "setup_settlement",
    "setup_reports",
    "home",
)


class IncentivesConfig(AppConfig):
    name = "prm.incentives"
    label = "incentives"
    verbose_name = _("Channel incentives")

    def ready(self) -> None:
        from importlib import import_module

        for module in SETUP_MODULES:
            import_module(f"{self.name}.{module}")
